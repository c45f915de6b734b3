import type { RunEvent } from '../../engine/events.js';
import { describeStep, type Plan } from '../../plan/steps.js';
import { intervalLine } from './canary.js';
import { formatMs, makeStyle, type Style } from './style.js';

export interface RendererOptions {
  stream: NodeJS.WriteStream;
  /** live-updating lines (a terminal, not CI) */
  live: boolean;
  verbose: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * Human progress on stderr. On a terminal the running step has a spinner and a clock; in CI
 * and pipes each event is one plain line. Hook output and check attempts only with --verbose.
 */
export class ProgressRenderer {
  private readonly s: Style;
  private spinner: NodeJS.Timeout | undefined;
  private running: { title: string; started: number; prefix: string } | undefined;
  private frame = 0;

  constructor(private readonly o: RendererOptions) {
    this.s = makeStyle(o.stream, o.env);
  }

  handle = (e: RunEvent): void => {
    const { s } = this;
    switch (e.type) {
      case 'plan':
        this.line(s.bold(`${e.plan.operation} ${e.plan.app}: release ${e.plan.release} (${e.plan.strategy}), ${e.plan.steps.length} steps`));
        break;
      case 'step_start': {
        const prefix = e.phase === 'main' ? `[${e.index + 1}/${e.total}]` : e.phase === 'rollback' ? '[rollback]' : '[on failure]';
        this.running = { title: e.title, started: performance.now(), prefix };
        if (this.o.live) this.startSpinner();
        else this.line(`${s.dim(prefix)} ${e.title} ...`);
        break;
      }
      case 'step_end': {
        this.stopSpinner();
        const prefix = this.running?.prefix ?? '';
        this.running = undefined;
        const mark = { done: s.green('✔'), skipped: s.dim('–'), failed: s.red('✖'), warned: s.yellow('!') }[e.status];
        if (e.status === 'skipped' && this.o.live && !this.o.verbose) break;
        const info = e.error ? ` ${e.status === 'failed' ? s.red(e.error) : s.yellow(e.error)}` : e.detail ? ` ${s.dim(e.detail)}` : '';
        this.line(`${mark} ${s.dim(prefix)} ${e.title} ${s.dim(`(${formatMs(e.durationMs)})`)}${info}`);
        break;
      }
      case 'undo_start':
        this.line(`${s.yellow('↩')} undo ${e.title}`);
        break;
      case 'undo_end':
        this.line(e.ok ? `${s.green('✔')} undone ${e.title} ${s.dim(`(${formatMs(e.durationMs)})`)}` : `${s.red('✖')} undo failed: ${e.title}: ${e.error}`);
        break;
      case 'log':
        if (e.level === 'warn') this.line(`${s.yellow('warning:')} ${e.message}`);
        else if (e.level === 'error') this.line(`${s.red('error:')} ${e.message}`);
        else if (this.o.verbose) this.line(s.dim(`${e.source ? `  ${e.source} | ` : '  '}${e.message}`));
        break;
      case 'analysis':
        this.line(intervalLine(s, e.result, e));
        break;
      case 'check_attempt':
        if (this.o.verbose) this.line(s.dim(`  check ${e.check}: attempt ${e.attempt} ${e.ok ? 'passed' : 'failed'}: ${e.detail} (${formatMs(e.durationMs)})`));
        break;
    }
  };

  /** Prints a plan without running it (--dry-run); `router`: per step, what the router would do, indented under it. */
  printPlan(plan: Plan, router?: readonly (string[] | null)[]): void {
    const { s } = this;
    this.line(s.bold(`plan: ${plan.operation} ${plan.app}, release ${plan.release}, strategy ${plan.strategy}${plan.previous ? `, live now: ${plan.previous}` : ', nothing live yet'}`));
    // a batch's instances run side by side: each step says its batch
    plan.steps.forEach((p, i) => {
      this.line(`  ${String(i + 1).padStart(2)}. ${describeStep(p.step)}${p.batch !== undefined ? s.dim(` [batch ${p.batch}]`) : ''}${p.onError === 'warn' ? s.dim(' (failure only warns)') : ''}`);
      for (const l of router?.[i] ?? []) this.line(`        ${s.dim(l)}`);
    });
    if (plan.tolerate) this.line(`  an instance that fails is put back on its release and the rest go on; ${plan.tolerate.maxFailures} failed instance(s) stop it and undo everything`);
    const rb = [...plan.rollback.before, ...plan.rollback.verify, ...plan.rollback.after];
    if (rb.length && plan.undoLive) this.line(`  if a step fails after activation: undo in reverse, then ${rb.map((p) => describeStep(p.step)).join(', ')}`);
    if (plan.onFailure.length) this.line(`  on failure: ${plan.onFailure.map((p) => describeStep(p.step)).join(', ')}`);
  }

  close(): void {
    this.stopSpinner();
  }

  line(text: string): void {
    if (this.o.live && this.running) this.o.stream.write('\r\x1b[2K');
    this.o.stream.write(`${text}\n`);
    if (this.o.live && this.running) this.drawSpinner();
  }

  private startSpinner() {
    this.drawSpinner();
    this.spinner = setInterval(() => this.drawSpinner(), 100);
    this.spinner.unref();
  }

  private drawSpinner() {
    if (!this.running) return;
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    const f = frames[this.frame++ % frames.length];
    const elapsed = formatMs(performance.now() - this.running.started);
    this.o.stream.write(`\r\x1b[2K${this.s.cyan(f!)} ${this.s.dim(this.running.prefix)} ${this.running.title} ${this.s.dim(elapsed)}`);
  }

  private stopSpinner() {
    if (this.spinner) clearInterval(this.spinner);
    this.spinner = undefined;
    if (this.o.live && this.running) this.o.stream.write('\r\x1b[2K');
  }
}
