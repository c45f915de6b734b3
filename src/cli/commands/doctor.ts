import type { Command } from 'commander';
import { DeployFailed } from '../../errors.js';
import { diagnose, type Finding } from '../../engine/doctor.js';
import { DeployLock } from '../../state/lock.js';
import { buildContext, loadFromOptions } from '../context.js';
import { markJsonPrinted } from '../json-printed.js';
import { globals, output, progress } from './common.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('verify releases, links, lock, journal and state files; --repair fixes what is safe (and undoes an interrupted deploy)')
    .option('--repair', 'fix what can be fixed safely')
    .action(async (opts: { repair?: boolean }, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const loaded = await loadFromOptions(o);
      const render = progress(o);
      const ctx = buildContext({ loaded, emit: render.handle, strategy: loaded.manifest.deployment.strategy, withService: canRestart(loaded.manifest.service.manager) });
      let findings: Finding[];
      // after a repair, what is true now: the findings of a second look
      let after: Finding[] | undefined;
      if (opts.repair && (await ctx.transport.fs.stat(ctx.layout.root))) {
        // undoing an interrupted deploy on the runtime (stop instances, move traffic back) needs the daemon
        const c = await ctx.connectInstances?.();
        if (c?.started) process.stderr.write('repair: started the runtime daemon (its saved state starts the instances and the router again)\n');
      } else {
        await ctx.connectInstances?.(true);
      }
      if (opts.repair && (await ctx.transport.fs.stat(ctx.layout.root))) {
        await ctx.transport.fs.mkdirp(ctx.layout.state, { private: true });
        const lock = await DeployLock.acquire(ctx.transport, ctx.layout.lock, {
          deployId: ctx.deployId,
          command: 'doctor --repair',
          clock: ctx.clock,
          onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
        });
        try {
          findings = await diagnose(ctx, true);
          after = await diagnose(ctx, false);
        } finally {
          await lock.release();
        }
      } else findings = await diagnose(ctx, false);
      render.close();
      const final = after ?? findings;
      const remaining = final.filter((f) => f.severity === 'error' && !f.repaired);
      if (out.isJson) out.json({ app: loaded.manifest.name, app_root: ctx.layout.root, healthy: remaining.length === 0, findings, ...(after ? { after } : {}) });
      else {
        const s = out.style;
        const show = (f: Finding) => {
          const mark = f.repaired ? s.green('✔ repaired:') : f.severity === 'error' ? s.red('✖') : f.severity === 'warn' ? s.yellow('!') : s.dim('·');
          const todo = !opts.repair && f.repair ? s.dim(` (--repair: ${f.repair})`) : f.repaired && f.repair ? s.dim(` (${f.repair})`) : '';
          out.line(`  ${mark} ${f.message}${todo}${f.note ? s.dim(` — ${f.note}`) : ''}`);
        };
        out.line(s.bold(`${loaded.manifest.name} on local (${ctx.layout.root})`));
        if (after) {
          const repaired = findings.filter((f) => f.repair);
          if (repaired.length) repaired.forEach(show);
          else out.line('  nothing to repair');
          out.line(s.bold('now:'));
          after.forEach(show);
        } else findings.forEach(show);
        out.line(remaining.length ? s.red(`${remaining.length} problem(s) need attention`) : s.green('healthy'));
      }
      if (remaining.length) throw markJsonPrinted(new DeployFailed(`doctor found ${remaining.length} problem(s)${opts.repair ? ' it could not repair' : ''}`), out.isJson);
    });
}

function canRestart(manager: string): boolean {
  return ['none', 'script', 'signal', 'process'].includes(manager);
}
