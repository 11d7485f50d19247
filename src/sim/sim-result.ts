/**
 * SimResult: what one policy did on one workload at one capacity, and the latency summary it is built from.
 */

/** The policies the simulator knows. */
export type PolicyName = 'none' | 'lru' | 'tinylfu' | 'readahead' | 'belady' | 'prescient' | 'oracle';

export const policyNames: readonly PolicyName[] = ['none', 'lru', 'tinylfu', 'readahead', 'belady', 'prescient', 'oracle'];

export type PolicyResult = {
  readonly policy: PolicyName;
  readonly capacity: number;
  readonly requests: number;
  /** Requests answered from cache (hits and first reads of prefetched entries). */
  readonly hits: number;
  readonly hitRatio: number;
  /** Requests that found their key already being fetched and waited only for the rest. */
  readonly inflight: number;
  readonly inflightRatio: number;
  readonly meanLatencyMs: number;
  readonly p50LatencyMs: number;
  readonly p95LatencyMs: number;
  readonly p99LatencyMs: number;
  /** Keys fetched from the origin (demand + prefetch) per request. */
  readonly originFetchesPerRequest: number;
  readonly demandFetches: number;
  readonly prefetchFetches: number;
  readonly prefetch: { readonly issued: number; readonly used: number; readonly precision: number; readonly coverage: number };
  /** Most entries held at once (entries are unit-size in the simulator, so this is also peak bytes). */
  readonly peakEntries: number;
  /** Wall-clock seconds the run took, and requests simulated per second. */
  readonly seconds: number;
  readonly requestsPerSecond: number;
  /**
   * A sample of latencies (ms) for the report's distribution chart, at most 2,000, evenly spaced by rank: entry i is
   * the nearest-rank quantile (i + 1) / length, so the last entry is the slowest request.
   */
  readonly latencySample: readonly number[];
};

/** What a replay counted, before it is summarised into a PolicyResult. */
export type RunCounts = {
  hits: number;
  inflight: number;
  demandFetches: number;
  prefetchFetches: number;
  prefetchIssued: number;
  prefetchUsed: number;
  peakEntries: number;
  /** Per request, in arrival order. */
  latencies: Float64Array;
};

/** Most latencies kept for the report's distribution chart: enough for a smooth CDF, small to carry between threads. */
export const maxLatencySample = 2000;

/**
 * Mean and nearest-rank percentiles of `latencies` (sorted in place), and a sample of at most `maxLatencySample`
 * of them for the CDF: `sample[i]` is the nearest-rank quantile (i + 1) / sample.length, so the last is the maximum.
 */
export function summarizeLatency(latencies: Float64Array): { mean: number; p50: number; p95: number; p99: number; sample: number[] } {
  const n = latencies.length;
  if (n === 0) return { mean: 0, p50: 0, p95: 0, p99: 0, sample: [] };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += latencies[i];
  latencies.sort();
  // Nearest rank: the smallest latency at or above which a share q of the requests lies (p99 of 1..100 is 99).
  const at = (q: number): number => latencies[Math.max(0, Math.ceil(q * n) - 1)];
  const sampleSize = Math.min(n, maxLatencySample);
  const sample: number[] = [];
  // Sample i is the nearest-rank quantile (i + 1) / sampleSize, the height the report's CDF draws it at: the last
  // one is the maximum, so the chart's tail ends where the slowest request did. The figures above never read it.
  for (let i = 0; i < sampleSize; i++) sample.push(latencies[Math.ceil(((i + 1) * n) / sampleSize) - 1]);
  return { mean: sum / n, p50: at(0.5), p95: at(0.95), p99: at(0.99), sample };
}

/** Ratio a/b, 0 when b is 0. */
export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}
