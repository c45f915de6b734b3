import type { StagedRelease } from '../engine/context.js';
import type { AgentLink, Arrival, Final, GateArrival } from './link.js';
import type { FleetPolicy } from './policy.js';

/** One host's part in the loop: its link, the gate it waits at, how it ended. */
export interface Member {
  name: string;
  link: AgentLink;
  gate: GateArrival | null;
  final: Final | null;
  /** told to stop because of another host: its failure is a consequence, not a cause */
  stoppedByFleet?: boolean;
  pending?: Promise<{ m: Member; a: Arrival }>;
}

export function member(name: string, link: AgentLink): Member {
  return { name, link, gate: null, final: null };
}

function end(m: Member, f: Final, onFinal: (m: Member) => void): void {
  m.final = f;
  m.gate = null;
  m.pending = undefined;
  onFinal(m);
}

/**
 * Waits for the next arrival of any member that is neither at a gate nor finished; false when
 * none is. A member that ended while it waited at a gate (its host dropped) counts as ended
 * first: no decision is ever taken on a gate whose host is gone.
 */
async function step(members: Member[], onFinal: (m: Member) => void): Promise<boolean> {
  const gone = members.find((m) => !m.final && m.link.final);
  if (gone) {
    end(gone, gone.link.final!, onFinal);
    return true;
  }
  const moving = members.filter((m) => !m.gate && !m.final);
  if (moving.length === 0) return false;
  const waiting = members.filter((m) => m.gate && !m.final);
  const { m, a } = await Promise.race([
    ...moving.map((x) => (x.pending ??= x.link.next().then((arr) => ({ m: x, a: arr })))),
    ...waiting.map((x) => x.link.finished.then((f): { m: Member; a: Arrival } => ({ m: x, a: f }))),
  ]);
  if (m.final) return true;
  m.pending = undefined;
  if (a.kind === 'gate') m.gate = a.gate;
  else if (a.kind === 'done' || a.kind === 'failed' || a.kind === 'lost') end(m, a, onFinal);
  return true;
}

/** Until every member waits at a gate or has ended. */
export async function settle(members: Member[], onFinal: (m: Member) => void = () => undefined): Promise<void> {
  while (await step(members, onFinal));
}

export function go(m: Member, upload?: StagedRelease): void {
  m.gate = null;
  m.link.go(upload);
}

/** Every member still going stops: at its gate (and undoes), or after its current step. */
export function stopAll(members: Member[], reason: string): void {
  for (const m of members) {
    if (m.final) continue;
    m.stoppedByFleet = true;
    m.link.stop(reason);
    m.gate = null;
  }
}

export function failedMembers(members: Member[]): Member[] {
  return members.filter((m) => m.final && m.final.kind !== 'done');
}

export function describeFailure(m: Member): string {
  const f = m.final!;
  return f.kind === 'done' ? 'succeeded' : f.error.message.startsWith(`${m.name}:`) ? f.error.message : `${m.name}: ${f.error.message}`;
}

export interface LoopHooks {
  /** a fleet-level line for the output */
  say(message: string, level?: 'info' | 'warn'): void;
  signal?: AbortSignal;
}

/**
 * From the first live step to the end. `together`: every host passes each gate only once all
 * are at one, and passes the commit only once all are at it; a failure anywhere stops every
 * other host, switching back those that switched. `waves`: hosts switch a wave at a time and
 * wait at their commit until the fleet is done; max_failures failed hosts stop the rest and roll
 * back the updated ones.
 */
export async function runGates(members: Member[], policy: FleetPolicy, hooks: LoopHooks): Promise<void> {
  let stopped = false;
  const stop = (reason: string) => {
    if (stopped) return;
    stopped = true;
    hooks.say(reason, 'warn');
    stopAll(members, reason);
  };
  // a host failing after the loop decided (say after its commit) is still named
  const onLateFinal = (m: Member) => {
    if (m.final!.kind !== 'done' && !stopped) hooks.say(describeFailure(m), 'warn');
  };
  const onAbort = () => stop(`interrupted (${String(hooks.signal?.reason ?? 'aborted')}): stopping every host and undoing`);
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  if (hooks.signal?.aborted) onAbort();
  try {
    const isStopped = () => stopped;
    if (policy.kind === 'together') await together(members, stop, isStopped, hooks);
    else await waves(members, policy, stop, isStopped, hooks);
    while (members.some((m) => !m.final)) {
      // a host that reaches a gate after the fleet stopped is told to stop there
      for (const m of members) if (m.gate) m.link.stop('the fleet stopped');
      for (const m of members) m.gate = null;
      await step(members, onLateFinal);
    }
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
  }
}

async function together(members: Member[], stop: (reason: string) => void, isStopped: () => boolean, hooks: LoopHooks): Promise<void> {
  for (;;) {
    await settle(members, (m) => {
      if (m.final!.kind !== 'done') stop(`${describeFailure(m)}; stopping every other host`);
    });
    // stopped (an interrupt) while the hosts were on their way: none is told to go on
    if (members.every((m) => m.final) || isStopped()) return;
    if (failedMembers(members).length) return stop('stopping every other host');
    const waiting = members.filter((m) => m.gate);
    if (waiting.every((m) => m.gate!.gate === 'commit')) {
      hooks.say(`all ${waiting.length} host${waiting.length === 1 ? '' : 's'} switched and checked: committing`);
      for (const m of waiting) go(m);
      await settle(members);
      return;
    }
    const at = [...new Set(waiting.filter((m) => m.gate!.gate !== 'commit').map((m) => m.gate!.gate))];
    if (at.includes('switch')) hooks.say(`all hosts ready: switching ${waiting.length} host${waiting.length === 1 ? '' : 's'}`);
    for (const m of waiting) if (m.gate!.gate !== 'commit') go(m);
  }
}

async function waves(members: Member[], policy: Extract<FleetPolicy, { kind: 'waves' }>, stop: (reason: string) => void, isStopped: () => boolean, hooks: LoopHooks): Promise<void> {
  let failures = 0;
  let stopping = false;
  const running = new Set<Member>();
  const onFinal = (m: Member) => {
    running.delete(m);
    // once the fleet stopped, the others ending is its consequence, not more failures
    if (m.final!.kind === 'done' || stopping || isStopped()) return;
    failures++;
    hooks.say(`${describeFailure(m)} (${failures} of max_failures ${policy.maxFailures})`, 'warn');
    if (failures >= policy.maxFailures) {
      stopping = true;
      stop(`max_failures reached (${failures} host${failures === 1 ? '' : 's'} failed): rolling back every updated host`);
    }
  };
  for (;;) {
    await settle(members, onFinal);
    if (stopping || isStopped()) return;
    for (const m of [...running]) if (m.gate?.gate === 'commit') running.delete(m);
    // canary stages do not occur in rolling; any other gate before the commit just goes on
    for (const m of members) if (m.gate && m.gate.gate !== 'switch' && m.gate.gate !== 'commit') go(m);
    const queued = members.filter((m) => m.gate?.gate === 'switch');
    for (const m of queued.slice(0, Math.max(0, policy.wave - running.size))) {
      running.add(m);
      hooks.say(`${m.name}: updating (${members.filter((x) => x.gate?.gate === 'commit' || x.final?.kind === 'done').length + running.size} of ${members.length})`);
      go(m);
    }
    const open = members.filter((m) => !m.final);
    if (open.length && open.every((m) => m.gate?.gate === 'commit')) {
      hooks.say(`${open.length} host${open.length === 1 ? '' : 's'} updated and checked: committing`);
      for (const m of open) go(m);
      await settle(members, onFinal);
      return;
    }
    if (open.length === 0) return;
  }
}
