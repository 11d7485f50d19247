/**
 * DashboardFeed: the live numbers behind the dashboard — a rolling time series sampled from a Cache's counters.
 *
 * Why sampling: the read path already keeps plain counters (`cache.stats()`), so the dashboard costs nothing per
 * read; once per `intervalMs` the feed reads the counters, turns them into per-interval rates (reads by how served,
 * hit ratio, origin keys, prefetches issued/used/wasted) and keeps the last `historyLength` points in a ring. The only
 * per-request work is `recordLatency`, one logarithm and one array increment into a log-bucketed histogram (about 2%
 * relative error, HdrHistogram's idea with one significant digit less), reset at each sample so each point carries
 * the percentiles of its own interval. Listeners (the SSE streams) get each point as it is taken.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import type { Cache, CacheStats, ReadStatus } from '../cache/cache.ts';
import { fn, hasMethods, positiveInt } from '../options.ts';

/** Per-status read counts. */
export type ReadCounts = Readonly<Record<ReadStatus, number>>;

/** Latency percentiles of one interval, in milliseconds; null fields when nothing was recorded. */
export type LatencySummary = {
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
};

/** One sample: what happened during the interval that ends at `t`, and the gauges at `t`. */
export type DashboardPoint = {
  /** Sample time, ms since the epoch (from the feed's clock). */
  readonly t: number;
  /** Length of the interval this point covers, in ms. */
  readonly intervalMs: number;
  /** Reads in the interval by how they were served. */
  readonly reads: ReadCounts;
  /** Reads since the cache started, by how they were served. */
  readonly readsTotal: ReadCounts;
  /** (hit + stale + prefetched) ÷ reads in the interval; null when there were no reads. */
  readonly hitRatio: number | null;
  /** The same ratio since the cache started; null before the first read. */
  readonly hitRatioTotal: number | null;
  readonly latencyMs: LatencySummary;
  /** Prefetches used ÷ issued since start, in [0, 1]. */
  readonly precision: number;
  /** Precision over about the last 200 outcomes. */
  readonly recentPrecision: number;
  /** Misses avoided ÷ misses that would have happened, since start. */
  readonly coverage: number;
  /** Prefetches issued, used and wasted in the interval. */
  readonly prefetch: { readonly issued: number; readonly used: number; readonly wasted: number };
  /** Keys fetched from the origin in the interval, on demand and by prefetch, and origin batches. */
  readonly origin: { readonly demandKeys: number; readonly prefetchKeys: number; readonly batches: number; readonly failedBatches: number };
  /** Keys being fetched right now (demand and prefetch). */
  readonly inflight: number;
  /** Prefetch requests waiting in the scheduler's queue right now. */
  readonly queued: number;
  /** Accesses waiting for the models. */
  readonly accessPending: number;
  readonly memory: { readonly entries: number; readonly bytes: number; readonly maxBytes: number };
};

export type DashboardFeedOptions = {
  /** The cache to sample. */
  readonly cache: Pick<Cache<unknown>, 'stats'>;
  /** Time source and timers. @default systemClock */
  readonly clock?: Clock;
  /** Time between samples, in ms. @default 1000 */
  readonly intervalMs?: number;
  /** Points kept (the page's time axis). @default 120 (two minutes at the default interval) */
  readonly historyLength?: number;
  /** Called with each sampling failure (a stats() that throws); sampling goes on. @default ignores it */
  readonly onError?: (error: unknown) => void;
};

/**
 * Bucket growth of the latency histogram: each bucket is 4% wider than the previous one, so a percentile read from
 * a bucket's midpoint is within about 2% of the true value.
 */
const bucketGrowth = 1.04;
/** Smallest latency told apart, in ms (1 µs); anything faster falls in bucket 0. */
const minLatencyMs = 0.001;
/** Buckets: 1 µs × 1.04^700 ≈ 800 s, beyond any request timeout; slower latencies fall in the last bucket. */
const bucketCount = 700;
const logGrowth = Math.log(bucketGrowth);

/** A log-bucketed latency histogram for one interval. */
export class LatencyHistogram {
  readonly #counts = new Uint32Array(bucketCount);
  #count = 0;
  #max = 0;

  /** Records one latency in ms (negative or non-finite values are ignored). */
  record(ms: number): void {
    if (!(ms >= 0) || ms === Infinity) return;
    const i = ms <= minLatencyMs ? 0 : Math.min(bucketCount - 1, Math.ceil(Math.log(ms / minLatencyMs) / logGrowth));
    this.#counts[i]++;
    this.#count++;
    if (ms > this.#max) this.#max = ms;
  }

  /** Percentiles of what was recorded since the last reset. */
  summary(): LatencySummary {
    if (this.#count === 0) return { count: 0, p50: null, p90: null, p99: null, max: null };
    return { count: this.#count, p50: this.#quantile(0.5), p90: this.#quantile(0.9), p99: this.#quantile(0.99), max: this.#max };
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }

  #quantile(q: number): number {
    const rank = Math.ceil(q * this.#count);
    let seen = 0;
    for (let i = 0; i < bucketCount; i++) {
      seen += this.#counts[i];
      if (seen >= rank) {
        // Midpoint of bucket i, which holds (lower, upper]; never above the largest value seen.
        const upper = minLatencyMs * bucketGrowth ** i;
        const mid = i === 0 ? upper : (upper + upper / bucketGrowth) / 2;
        return Math.min(mid, this.#max);
      }
    }
    return this.#max;
  }
}

const zeroReads: ReadCounts = Object.freeze({ hit: 0, miss: 0, stale: 0, prefetched: 0 });

/** Samples a cache's counters into a rolling series; `start()` begins sampling, `close()` stops it. */
export class DashboardFeed {
  readonly #cache: Pick<Cache<unknown>, 'stats'>;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #historyLength: number;
  readonly #onError: (error: unknown) => void;
  readonly #points: DashboardPoint[] = [];
  readonly #listeners = new Set<(point: DashboardPoint) => void>();
  readonly #latency = new LatencyHistogram();
  #last: CacheStats | undefined;
  #lastAt = 0;
  #timer: TimerHandle | undefined;
  #isClosed = false;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) naming the bad option. */
  constructor(options: DashboardFeedOptions) {
    this.#cache = hasMethods<Pick<Cache<unknown>, 'stats'>>('cache', options?.cache, ['stats']);
    this.#clock = options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']);
    this.#intervalMs = positiveInt('intervalMs', options.intervalMs, 1000);
    this.#historyLength = positiveInt('historyLength', options.historyLength, 120);
    this.#onError = fn('onError', options.onError, () => {});
  }

  /** Time between samples, in ms. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Takes a baseline sample and starts the timer. Idempotent. */
  start(): void {
    if (this.#timer !== undefined || this.#isClosed) return;
    if (this.#last === undefined) {
      this.#last = this.#cache.stats();
      this.#lastAt = this.#clock.now();
    }
    this.#timer = this.#clock.setTimer(this.#intervalMs, () => this.#tick());
  }

  /** Records the latency of one read, in ms (the HTTP hook or an embedding application calls this). */
  recordLatency(ms: number): void {
    this.#latency.record(ms);
  }

  /** The points kept, oldest first. */
  history(): readonly DashboardPoint[] {
    return this.#points;
  }

  /** The newest point, or one taken now if none was taken yet (it covers the time since start). */
  latest(): DashboardPoint {
    return this.#points.at(-1) ?? this.#peek();
  }

  /**
   * A point taken now without ending the interval: its totals (readsTotal, precision, coverage, gauges) are current,
   * its per-interval fields cover the time since the last sample. Latency percentiles are those recorded so far.
   */
  current(): DashboardPoint {
    return this.#peek();
  }

  /** Calls `listener` with every new point; returns the unsubscribe function. */
  subscribe(listener: (point: DashboardPoint) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Number of listeners (open SSE streams). */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Takes a sample now (the timer calls this; tests may too). Returns the point. */
  sample(): DashboardPoint {
    const now = this.#clock.now();
    const stats = this.#cache.stats();
    const point = makePoint(this.#last, stats, now, now - this.#lastAt, this.#latency.summary());
    this.#latency.reset();
    this.#last = stats;
    this.#lastAt = now;
    this.#points.push(point);
    if (this.#points.length > this.#historyLength) this.#points.splice(0, this.#points.length - this.#historyLength);
    for (const listener of this.#listeners) {
      try {
        listener(point);
      } catch (error) {
        this.#onError(error);
      }
    }
    return point;
  }

  /** Stops sampling and drops listeners. */
  close(): void {
    this.#isClosed = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#isClosed) return;
    try {
      this.sample();
    } catch (error) {
      this.#onError(error);
    }
    this.#timer = this.#clock.setTimer(this.#intervalMs, () => this.#tick());
  }

  #peek(): DashboardPoint {
    const now = this.#clock.now();
    return makePoint(this.#last, this.#cache.stats(), now, now - this.#lastAt, this.#latency.summary());
  }
}

function served(r: ReadCounts): number {
  return r.hit + r.stale + r.prefetched;
}

function total(r: ReadCounts): number {
  return r.hit + r.miss + r.stale + r.prefetched;
}

function makePoint(prev: CacheStats | undefined, s: CacheStats, t: number, intervalMs: number, latencyMs: LatencySummary): DashboardPoint {
  const r0 = prev?.reads ?? zeroReads;
  const reads = { hit: s.reads.hit - r0.hit, miss: s.reads.miss - r0.miss, stale: s.reads.stale - r0.stale, prefetched: s.reads.prefetched - r0.prefetched };
  const n = total(reads);
  const nTotal = total(s.reads);
  const o0 = prev?.origin;
  const p0 = prev?.prefetch;
  return {
    t,
    intervalMs,
    reads,
    readsTotal: { ...s.reads },
    hitRatio: n === 0 ? null : served(reads) / n,
    hitRatioTotal: nTotal === 0 ? null : served(s.reads) / nTotal,
    latencyMs,
    precision: s.prefetch.precision,
    recentPrecision: s.prefetch.recentPrecision,
    coverage: s.prefetch.coverage,
    prefetch: {
      issued: s.prefetch.issued - (p0?.issued ?? 0),
      used: s.prefetch.used - (p0?.used ?? 0),
      wasted: s.prefetch.wasted - (p0?.wasted ?? 0),
    },
    origin: {
      demandKeys: s.origin.demandKeys - (o0?.demandKeys ?? 0),
      prefetchKeys: s.origin.prefetchKeys - (o0?.prefetchKeys ?? 0),
      batches: s.origin.demandBatches + s.origin.prefetchBatches - (o0 === undefined ? 0 : o0.demandBatches + o0.prefetchBatches),
      failedBatches: s.origin.failedBatches - (o0?.failedBatches ?? 0),
    },
    inflight: s.origin.inflight,
    queued: s.scheduler?.queued ?? 0,
    accessPending: s.accessBuffer.pending,
    memory: { entries: s.memory.entries, bytes: s.memory.bytes, maxBytes: s.memory.maxBytes },
  };
}
