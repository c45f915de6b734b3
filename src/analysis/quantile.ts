// Quantiles of latency samples and of histogram buckets.

/** The q-quantile (0..1) of sorted values, interpolating between the closest ranks (numpy's default); null when empty. */
export function quantileSorted(sorted: readonly number[], q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const a = sorted[lo]!;
  const b = sorted[Math.min(lo + 1, n - 1)]!;
  return a + (h - lo) * (b - a);
}

export function quantile(values: readonly number[], q: number): number | null {
  return quantileSorted([...values].sort((a, b) => a - b), q);
}

export function median(values: readonly number[]): number | null {
  return quantile(values, 0.5);
}

/**
 * The q-quantile of a histogram (upper bounds ascending, the last bucket +Inf; counts per bucket),
 * interpolating linearly inside the bucket the rank falls in, from 0 for the first, as Prometheus'
 * histogram_quantile does. In the +Inf bucket: the highest finite bound. Null when empty.
 */
export function histogramQuantile(boundsMs: readonly number[], counts: readonly number[], q: number): number | null {
  const total = counts.reduce((s, c) => s + c, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && below + c >= rank) {
      if (i >= boundsMs.length) return boundsMs[boundsMs.length - 1] ?? null;
      const lower = i === 0 ? 0 : boundsMs[i - 1]!;
      const upper = boundsMs[i]!;
      return lower + (upper - lower) * ((rank - below) / c);
    }
    below += c;
  }
  return boundsMs[boundsMs.length - 1] ?? null;
}
