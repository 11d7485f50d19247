/**
 * ServerMetrics: the Prometheus view of the service, in its own prom-client Registry, every name prefixed
 * `prescient_`.
 *
 * Why read on scrape: the cache already counts everything (`cache.stats()`), so the request path pays nothing for
 * metrics — `refresh()` copies the counters into prom-client on each scrape (counters advance by the difference
 * since the last scrape). Only two things are observed as they happen, both off the hit path: the duration of each
 * origin batch (a histogram) and each error answered, by code.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Cache } from '../cache/cache.ts';
import type { Tier } from '../cache/tier.ts';
import type { Clock } from '../clock.ts';
import { isOriginFailure, type FetchOptions, type FetchPurpose, type Origin } from '../origin/origin.ts';

/** Origin batch latency buckets, in seconds: 0.5 ms (a local PGlite hit) up to 5 s (a store in trouble). */
const originBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const readStatuses = ['hit', 'miss', 'stale', 'prefetched'] as const;

export type MetricsSource = {
  readonly cache: Cache<unknown>;
  /** The shared tier (its size is reported beside the memory tier's). */
  readonly l2?: Tier<unknown>;
  /** Extra counters of the service (writes, deletes, sessions, write-back queue). */
  readonly serviceStats?: () => Readonly<Record<string, number>>;
};

/**
 * The process metrics (CPU, memory, GC, event-loop delay), collected once per process and shared by every server's
 * registry: each `collectDefaultMetrics` starts a GC observer and an event-loop sampler that nothing stops, so one
 * per server kept every closed server's registry alive (a hunt counted 20 of 20 after 20 servers).
 */
let sharedProcessMetrics: Registry | undefined;
function processMetrics(): Registry {
  if (sharedProcessMetrics === undefined) {
    sharedProcessMetrics = new Registry();
    collectDefaultMetrics({ register: sharedProcessMetrics, prefix: 'prescient_process_' });
  }
  return sharedProcessMetrics;
}

export class ServerMetrics {
  /** The registry `GET /metrics` renders. */
  readonly registry = new Registry();
  readonly #originSeconds: Histogram<'purpose' | 'outcome'>;
  readonly #errors: Counter<'code'>;
  readonly #reads: Counter<'served'>;
  readonly #counters: Record<string, Counter<string>>;
  readonly #gauges: Record<string, Gauge<string>>;
  readonly #tier: Record<'entries' | 'bytes' | 'maxBytes', Gauge<'tier'>>;
  readonly #service: Gauge<'name'>;
  /** Last value copied into each counter (by metric and label), so counters advance by differences. */
  readonly #last = new Map<string, number>();

  constructor() {
    const registers = [this.registry];
    const shared = processMetrics();
    for (const { name } of shared.getMetricsAsArray()) {
      const metric = shared.getSingleMetric(name);
      if (metric !== undefined) this.registry.registerMetric(metric);
    }
    this.#originSeconds = new Histogram({
      name: 'prescient_origin_fetch_seconds',
      help: 'Duration of origin batches, by purpose (demand, prefetch) and outcome (ok, error)',
      labelNames: ['purpose', 'outcome'],
      buckets: originBuckets,
      registers,
    });
    this.#errors = new Counter({ name: 'prescient_http_errors_total', help: 'Error responses, by error code', labelNames: ['code'], registers });
    this.#reads = new Counter({ name: 'prescient_reads_total', help: 'Reads, by how they were served (hit, miss, stale, prefetched)', labelNames: ['served'], registers });
    const counter = (name: string, help: string): Counter<string> => new Counter({ name, help, registers });
    this.#counters = {
      readErrors: counter('prescient_read_errors_total', 'Reads that failed (origin failed with nothing to serve in its place)'),
      originDemandKeys: counter('prescient_origin_demand_keys_total', 'Keys fetched from the origin on demand'),
      originPrefetchKeys: counter('prescient_origin_prefetch_keys_total', 'Keys fetched from the origin by prefetch'),
      originFailedBatches: counter('prescient_origin_failed_batches_total', 'Origin batches that failed'),
      issued: counter('prescient_prefetch_issued_total', 'Prefetches issued'),
      used: counter('prescient_prefetch_used_total', 'Prefetched entries read before eviction'),
      wasted: counter('prescient_prefetch_wasted_total', 'Prefetched entries evicted or expired unread'),
      dropped: counter('prescient_access_buffer_dropped_total', 'Accesses dropped because the model buffer was full'),
      modelErrors: counter('prescient_model_errors_total', 'Predictor calls that threw (the access or context was dropped)'),
      listenerErrors: counter('prescient_listener_errors_total', 'Cache event listeners that threw (counted, not propagated)'),
      storeFailures: counter('prescient_store_failures_total', 'Loaded values that could not be stored (served, not cached)'),
      internalErrors: counter('prescient_internal_errors_total', 'Failures of the cache\'s own work on predictions (catalogs, scheduler), contained'),
      absentHits: counter('prescient_absent_hits_total', 'Reads answered "not found" from a remembered absence (cache.absentTtlMs)'),
      busPublished: counter('prescient_write_bus_published_total', 'Write notices sent to the other nodes (redis.bus)'),
      busReceived: counter('prescient_write_bus_received_total', 'Write notices heard from the other nodes'),
      busRemoved: counter('prescient_write_bus_removed_total', 'Local copies the write notices of other nodes removed'),
      busFailures: counter('prescient_write_bus_publish_failures_total', 'Write notices the bus refused (each retried)'),
      busForgotten: counter('prescient_write_bus_forgotten_total', 'Times every local copy was dropped: a (re)subscription, or notices lost'),
    };
    const gauge = (name: string, help: string): Gauge<string> => new Gauge({ name, help, registers });
    this.#gauges = {
      precision: gauge('prescient_prefetch_precision', 'Share of prefetches used (used / (used + wasted))'),
      coverage: gauge('prescient_prefetch_coverage', 'Share of would-be misses a prefetch avoided'),
      queue: gauge('prescient_prefetch_queue_depth', 'Predictions waiting in the prefetch scheduler'),
      pending: gauge('prescient_access_buffer_pending', 'Accesses waiting for the models'),
      inflight: gauge('prescient_origin_inflight_keys', 'Keys being fetched from the shared tier or the origin'),
      absentKeys: gauge('prescient_absent_keys', 'Keys remembered as absent at the origin (cache.absentTtlMs)'),
      busQueued: gauge('prescient_write_bus_queued', 'Write notices waiting for the bus to take them'),
    };
    const tierGauge = (name: string, help: string): Gauge<'tier'> => new Gauge({ name, help, labelNames: ['tier'], registers });
    this.#tier = {
      entries: tierGauge('prescient_tier_entries', 'Entries held, by tier'),
      bytes: tierGauge('prescient_tier_bytes', 'Bytes held, by tier'),
      maxBytes: tierGauge('prescient_tier_max_bytes', 'Capacity in bytes, by tier'),
    };
    this.#service = new Gauge({ name: 'prescient_service', help: 'Service counters (writes, deletes, sessions, write-back queue)', labelNames: ['name'], registers });
  }

  /** Records one origin batch (called by the service's timed origin). */
  observeOrigin(durationMs: number, purpose: FetchPurpose, isOk: boolean): void {
    this.#originSeconds.observe({ purpose, outcome: isOk ? 'ok' : 'error' }, durationMs / 1000);
  }

  /** Counts one error response. */
  countError(code: string): void {
    this.#errors.inc({ code });
  }

  /** Copies the current counters of `source` into the registry; the metrics route calls it before rendering. */
  async refresh(source: MetricsSource): Promise<void> {
    const s = source.cache.stats();
    for (const status of readStatuses) this.#advance(this.#reads, `reads.${status}`, s.reads[status], { served: status });
    const c = this.#counters;
    this.#advance(c.readErrors, 'readErrors', s.readErrors);
    this.#advance(c.originDemandKeys, 'demandKeys', s.origin.demandKeys);
    this.#advance(c.originPrefetchKeys, 'prefetchKeys', s.origin.prefetchKeys);
    this.#advance(c.originFailedBatches, 'failedBatches', s.origin.failedBatches);
    this.#advance(c.issued, 'issued', s.prefetch.issued);
    this.#advance(c.used, 'used', s.prefetch.used);
    this.#advance(c.wasted, 'wasted', s.prefetch.wasted);
    this.#advance(c.dropped, 'dropped', s.accessBuffer.dropped);
    this.#advance(c.modelErrors, 'modelErrors', s.modelErrors);
    this.#advance(c.listenerErrors, 'listenerErrors', s.listenerErrors);
    this.#advance(c.storeFailures, 'storeFailures', s.storeFailures);
    this.#advance(c.internalErrors, 'internalErrors', s.internalErrors);
    this.#advance(c.absentHits, 'absentHits', s.absent?.hits ?? 0);
    this.#advance(c.busPublished, 'busPublished', s.writeBus?.published ?? 0);
    this.#advance(c.busReceived, 'busReceived', s.writeBus?.received ?? 0);
    this.#advance(c.busRemoved, 'busRemoved', s.writeBus?.removed ?? 0);
    this.#advance(c.busFailures, 'busFailures', s.writeBus?.publishFailures ?? 0);
    this.#advance(c.busForgotten, 'busForgotten', s.writeBus?.forgotten ?? 0);
    const g = this.#gauges;
    g.precision.set(finite(s.prefetch.precision));
    g.coverage.set(finite(s.prefetch.coverage));
    g.queue.set(s.scheduler?.queued ?? 0);
    g.pending.set(s.accessBuffer.pending);
    g.inflight.set(s.origin.inflight);
    g.absentKeys.set(s.absent?.keys ?? 0);
    g.busQueued.set(s.writeBus?.queued ?? 0);
    const tiers = [s.memory];
    if (source.l2 !== undefined) {
      try {
        tiers.push(await source.l2.stats());
      } catch {
        // A shared tier that cannot report is left out of this scrape; reads report its failures.
      }
    }
    for (const t of tiers) {
      this.#tier.entries.set({ tier: t.name }, t.entries);
      this.#tier.bytes.set({ tier: t.name }, t.bytes);
      this.#tier.maxBytes.set({ tier: t.name }, t.maxBytes);
    }
    for (const [name, value] of Object.entries(source.serviceStats?.() ?? {})) this.#service.set({ name }, finite(value));
  }

  /** The text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of `render()`'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  #advance(counter: Counter<string>, id: string, value: number, labels?: Record<string, string>): void {
    const delta = value - (this.#last.get(id) ?? 0);
    this.#last.set(id, value);
    if (delta > 0) {
      if (labels === undefined) counter.inc(delta);
      else counter.inc(labels, delta);
    }
  }
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

/**
 * `origin` with each `getMany` batch timed on `clock` and reported to `report` (duration in ms, purpose, success):
 * what feeds the origin latency histogram. Only `getMany` is passed through (all a Cache uses).
 */
export function timedOrigin(origin: Origin<unknown>, clock: Clock, report: (durationMs: number, purpose: FetchPurpose, isOk: boolean) => void): Origin<unknown> {
  /** Runs one origin call and reports its duration and outcome. */
  const timed = async <T>(options: FetchOptions | undefined, call: () => Promise<T>, isOk: (answer: T) => boolean = () => true): Promise<T> => {
    const started = clock.now();
    const purpose = options?.purpose ?? 'demand';
    try {
      const answer = await call();
      report(clock.now() - started, purpose, isOk(answer));
      return answer;
    } catch (error) {
      report(clock.now() - started, purpose, false);
      throw error;
    }
  };
  const wrapped: Origin<unknown> = {
    getMany: (keys: readonly string[], options?: FetchOptions) => timed(options, () => origin.getMany(keys, options)),
  };
  // Per-key failures (TieredOrigin with its archive down) must reach the Loader: forward the settled form too.
  const settled = origin.getManySettled?.bind(origin);
  if (settled !== undefined) {
    // A call that answered a failure for some of its keys counts as failed, as the Loader counts it.
    wrapped.getManySettled = (keys, options) => timed(options, () => settled(keys, options), (answers) => !answers.some(isOriginFailure));
  }
  return wrapped;
}
