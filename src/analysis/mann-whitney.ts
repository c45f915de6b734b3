// The Mann-Whitney U test (normal approximation with tie and continuity corrections), one-sided:
// is x stochastically greater than y? The same numbers as scipy.stats.mannwhitneyu(x, y,
// alternative='greater', method='asymptotic', use_continuity=True).

export interface MannWhitneyResult {
  /** U of x: the number of pairs (x_i, y_j) with x_i > y_j, ties counting one half */
  u: number;
  /** the standard score, continuity-corrected; 0 when every value is tied */
  z: number;
  /** P(U >= u) under the hypothesis that both come from one distribution */
  p: number;
}

/**
 * The upper tail of the standard normal distribution, P(Z > z), from the complementary error
 * function (Numerical Recipes' erfcc: fractional error below 1.2e-7 everywhere, so the tail
 * stays accurate far out).
 */
export function normalSf(z: number): number {
  return erfc(z / Math.SQRT2) / 2;
}

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** One-sided Mann-Whitney U test of x > y. Throws when either side is empty. */
export function mannWhitneyGreater(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new Error('mannWhitneyGreater: both samples need values');
  const all = [...x.map((v) => ({ v, fromX: true })), ...y.map((v) => ({ v, fromX: false }))].sort((a, b) => a.v - b.v);
  const n = all.length;
  // ranks (1-based), ties sharing the mean of their ranks; Σ(t³ - t) over tie groups
  let rankSumX = 0;
  let ties = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && all[j]!.v === all[i]!.v) j++;
    const t = j - i;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]!.fromX) rankSumX += rank;
    ties += t * t * t - t;
    i = j;
  }
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, p: 1 };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, z, p: normalSf(z) };
}

/** At most `max` values, evenly spaced through the array (deterministic), in their order. */
export function subsample(values: readonly number[], max: number): number[] {
  if (values.length <= max) return [...values];
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(values[Math.floor((i * values.length) / max)]!);
  return out;
}
