/**
 * Seeded Zipf-distributed ranks for the benchmarks: rank r (0-based) is drawn with probability ∝ 1 / (r + 1)^s, by
 * binary search over the cumulative weights. One place, so every benchmark's "Zipf 0.99" means the same thing.
 */

/** A sampler of ranks in [0, keyCount) with exponent `s`, drawing uniform numbers from `random`. */
export function zipfSampler(keyCount: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(keyCount);
  let sum = 0;
  for (let i = 0; i < keyCount; i++) cdf[i] = sum += 1 / (i + 1) ** s;
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = keyCount - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
