import { distance } from 'fastest-levenshtein';

/** The closest candidate within a small edit distance, for "did you mean". */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase());
    if (d < bestScore) {
      best = c;
      bestScore = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  if (best !== undefined && bestScore <= limit) return best;
  // separators written differently: blue_green vs blue-green, keepReleases vs keep_releases
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  return candidates.find((c) => norm(c) === norm(word));
}
