/**
 * Simulator: replays one Workload through each policy at each capacity, on the same request stream, and
 * summarises what each did.
 *
 * `none`, `lru`, `readahead`, `belady` and `oracle` are synchronous models (src/sim/*-policy.ts) replayed with the
 * origin model in baseline-replay.ts; `tinylfu` (the MemoryTier with prediction off) and `prescient` (the full
 * engine) run the real Cache on a VirtualClock (engine-replay.ts). Runs are deterministic for a given seed.
 */
import { systemClock } from '../clock.ts';
import { PrescientError } from '../errors.ts';
import type { CachePrefetchOptions } from '../cache/cache-options.ts';
import type { Predictor } from '../predict/predictor.ts';
import { replayBaseline } from './baseline-replay.ts';
import { createBeladyPolicy } from './belady-policy.ts';
import { replayEngine } from './engine-replay.ts';
import { futureFromIds, type Future } from './future.ts';
import { createLruPolicy } from './lru-policy.ts';
import { createNonePolicy } from './none-policy.ts';
import { createOraclePolicy } from './oracle-policy.ts';
import type { SimPolicy } from './policy.ts';
import { createReadaheadPolicy } from './readahead-policy.ts';
import { seededRandom, type Random } from './seeded-random.ts';
import { ratio, summarizeLatency, type PolicyName, type PolicyResult, type RunCounts } from './sim-result.ts';
import type { Workload } from './workload.ts';

export type SimulationOptions = {
  /** Capacities in entries. */
  readonly capacities: readonly number[];
  readonly policies: readonly PolicyName[];
  /** Origin round trip in ms, fixed or drawn per call. */
  readonly originLatencyMs: number | ((random: Random) => number);
  /** Origin calls at once. @default Infinity */
  readonly originConcurrency?: number;
  /** Keys the readahead baseline fetches after a miss. @default 4 */
  readonly readaheadCount?: number;
  readonly seed?: number;
  /** Makes the predictor for each prescient run. */
  readonly predictor: () => Predictor;
  /** Scheduler settings of the prescient runs. */
  readonly prefetch?: CachePrefetchOptions;
  /** Progress: which run, and how many of its requests are done. */
  /** Told as each run advances; a promise it returns is awaited by the engine's runs (see replayEngine's `onProgress`). */
  readonly onProgress?: (run: { readonly policy: PolicyName; readonly capacity: number }, done: number) => void | Promise<void>;
};

export type SimulationRun = { readonly capacity: number; readonly results: PolicyResult[] };

/**
 * Turns a capacity spec into entries: `"500"` is 500 entries, `"1%"` is 1% of the distinct keys (at least 1).
 * @throws PrescientError ERR_INVALID_OPTION for anything else.
 */
export function resolveCapacity(spec: string, distinctKeys: number): number {
  const s = spec.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(s);
  // Entries past 2^53 are no longer exact integers: the run would count a capacity other than the one asked for.
  const entries = pct !== null ? Math.max(1, Math.round((Number(pct[1]) / 100) * distinctKeys)) : /^\d+$/.test(s) ? Number(s) : NaN;
  if ((pct === null || Number(pct[1]) > 0) && entries > 0 && Number.isSafeInteger(entries)) return entries;
  throw new PrescientError('ERR_INVALID_OPTION', `Expected \`capacity\` to be a positive number of entries (at most ${Number.MAX_SAFE_INTEGER}) or percent of distinct keys (1000, 1%), got ${JSON.stringify(spec)}`);
}

/** Runs every policy at every capacity. */
export async function simulate(workload: Workload, options: SimulationOptions): Promise<SimulationRun[]> {
  const seed = options.seed ?? 1;
  const latencyOption = options.originLatencyMs;
  const latency = typeof latencyOption === 'number' ? () => latencyOption : latencyOption;
  const concurrency = options.originConcurrency ?? Infinity;
  const needsFuture = options.policies.includes('belady') || options.policies.includes('oracle');
  const future = needsFuture ? buildWorkloadFuture(workload) : undefined;
  const runs: SimulationRun[] = [];
  for (const capacity of options.capacities) {
    const results: PolicyResult[] = [];
    for (const policy of options.policies) {
      const progress = (done: number): void | Promise<void> => options.onProgress?.({ policy, capacity }, done);
      const random = seededRandom(seed);
      const started = systemClock.now();
      let result: Omit<PolicyResult, 'seconds' | 'requestsPerSecond'>;
      if (policy === 'tinylfu' || policy === 'prescient') {
        const c = await replayEngine(workload, {
          capacity,
          predictor: policy === 'prescient' ? options.predictor() : undefined,
          prefetch: options.prefetch,
          latency,
          random,
          concurrency,
          seed,
          onProgress: progress,
        });
        result = summarize(policy, capacity, workload.requests, c);
      } else {
        const model = makeBaseline(policy, capacity, workload.keys.length, future, options.readaheadCount ?? 4);
        const c = replayBaseline(workload, model, { latency, random, concurrency, onProgress: (done) => void progress(done) });
        result = summarize(policy, capacity, workload.requests, { ...c, prefetchIssued: c.prefetchFetches, peakEntries: model.peakEntries() });
      }
      const seconds = (systemClock.now() - started) / 1000;
      results.push({ ...result, seconds, requestsPerSecond: workload.requests / Math.max(seconds, 1e-9) });
    }
    runs.push({ capacity, results });
  }
  return runs;
}

/**
 * The baseline `policy` at `capacity` entries. A baseline never holds more keys than it can meet — the trace's
 * distinct keys, and read-ahead's neighbours of them — and its structures are sized by the capacity (lru-cache and
 * Belady allocate it up front), so a capacity beyond that is cut to it: same results, without gigabytes for a
 * 5-key trace at 1e8 entries.
 */
function makeBaseline(policy: PolicyName, capacity: number, distinctKeys: number, future: Future | undefined, readaheadCount: number): SimPolicy {
  const held = Math.min(capacity, Math.max(1, distinctKeys));
  switch (policy) {
    case 'none':
      return createNonePolicy();
    case 'lru':
      return createLruPolicy({ capacity: held });
    case 'readahead':
      return createReadaheadPolicy({ capacity: Math.min(capacity, Math.max(1, distinctKeys) * (readaheadCount + 1)), readaheadCount });
    case 'belady':
      return createBeladyPolicy({ capacity: held, future: future as Future });
    case 'oracle':
      return createOraclePolicy({ capacity: held, future: future as Future });
    default:
      throw new PrescientError('ERR_INVALID_OPTION', `Unknown policy ${JSON.stringify(policy)}`);
  }
}

function buildWorkloadFuture(workload: Workload): Future {
  return futureFromIds(workload.keys, workload.keyIds, workload.sessionIds);
}

function summarize(policy: PolicyName, capacity: number, requests: number, c: RunCounts): Omit<PolicyResult, 'seconds' | 'requestsPerSecond'> {
  const lat = summarizeLatency(c.latencies);
  const misses = requests - c.hits - c.inflight;
  return {
    policy,
    capacity,
    requests,
    hits: c.hits,
    hitRatio: ratio(c.hits, requests),
    inflight: c.inflight,
    inflightRatio: ratio(c.inflight, requests),
    meanLatencyMs: lat.mean,
    p50LatencyMs: lat.p50,
    p95LatencyMs: lat.p95,
    p99LatencyMs: lat.p99,
    originFetchesPerRequest: ratio(c.demandFetches + c.prefetchFetches, requests),
    demandFetches: c.demandFetches,
    prefetchFetches: c.prefetchFetches,
    prefetch: {
      issued: c.prefetchIssued,
      used: c.prefetchUsed,
      precision: ratio(c.prefetchUsed, c.prefetchIssued),
      coverage: ratio(c.prefetchUsed, c.prefetchUsed + misses),
    },
    peakEntries: c.peakEntries,
    latencySample: lat.sample,
  };
}
