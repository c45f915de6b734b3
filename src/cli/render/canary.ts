import type { IntervalResult, MetricResult } from '../../analysis/types.js';
import type { CanaryStatus } from '../../state/canary.js';
import type { Style } from './style.js';

const num = (v: number | null): string => (v === null ? '–' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

export function verdictMark(s: Style, v: IntervalResult['verdict']): string {
  return v === 'pass' ? s.green('pass') : v === 'fail' ? s.red('FAIL') : s.yellow('inconclusive');
}

function metricText(s: Style, m: MetricResult): string {
  const base = m.baseline !== null ? ` (baseline ${num(m.baseline)})` : '';
  const text = `${m.name} ${num(m.canary)}${base}`;
  if (m.verdict === 'pass') return text;
  return m.verdict === 'fail' ? s.red(m.reason) : s.yellow(m.reason);
}

/** One line per analysed interval: where the canary stands, its verdict and each metric. */
export function intervalLine(s: Style, r: IntervalResult, at: { stage: number; stages?: number; weight: number; failures?: number; failureLimit?: number }): string {
  const head = `  analysis #${r.index} ${s.dim(`stage ${at.stage}${at.stages ? `/${at.stages}` : ''} at ${at.weight}%`)} ${verdictMark(s, r.verdict)}`;
  const counts = s.dim(`${r.canaryRequests} canary / ${r.baselineRequests ?? '–'} baseline requests`);
  const fails = r.verdict === 'fail' && at.failureLimit ? ` ${s.red(`(${at.failures}/${at.failureLimit} failing in a row)`)}` : '';
  return `${head}${fails} ${counts}: ${r.metrics.map((m) => metricText(s, m)).join('; ')}`;
}

/** The canary section of `deployer status`. */
export function canaryStatusLines(s: Style, c: CanaryStatus, running: boolean): string[] {
  const st = c.stage;
  const gone = running ? '' : s.red(' (the deploy is not running: `deployer doctor --repair`)');
  const where = st
    ? `stage ${st.index}/${st.total} (${st.title}) ${st.paused === 'manual' ? s.yellow('paused: waiting for `deployer promote` or `deployer abort`') : st.paused === 'inconclusive' ? s.yellow('paused: no passing interval yet (waiting for one, `deployer promote` or `abort`)') : st.paused === 'failing' ? s.yellow('over its time, its last interval failed: waiting for a passing one') : st.ends_at ? `until ${st.ends_at}` : ''}`
    : { starting: 'starting (before the first stage)', stage: '', between: 'between stages', promoting: 'promoting (after the last stage)', promoted: 'promoted: traffic has moved to it', ended: 'ended' }[c.phase];
  const lines = [
    `  canary:          ${c.release} in ${c.pool}, ${where}${gone}`,
    `  weights:         ${Object.entries(c.weights).map(([p, w]) => `${p} ${w}%`).join(', ')}`,
    `  analysis:        ${c.intervals} interval(s), ${c.failures}/${c.failure_limit} failing in a row`,
  ];
  for (const r of c.last) lines.push(`    #${r.index} ${s.dim(r.at)} ${verdictMark(s, r.verdict)}: ${r.metrics.map((m) => metricText(s, m)).join('; ')}`);
  const ack = c.acks?.at(-1);
  if (ack) lines.push(`  last command:    ${ack.action} at ${ack.at}: ${ack.done ? '' : 'refused: '}${ack.note}`);
  return lines;
}
