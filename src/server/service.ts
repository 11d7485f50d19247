/**
 * Service: the engine `prescient serve` runs, assembled from the config — the Cache (memory tier, shared Redis tier
 * when configured), the models (SessionModels: the EnsemblePredictor, on the request thread or a worker), the
 * origin (PostgreSQL when a database is configured, else the embedded PGlite origin), the write path (write-back
 * journal) and the change feed — and the operations the HTTP routes call. The routes parse and authorize; the
 * service does, and throws coded errors.
 *
 * Sessions belong to users (SessionOwners): the first user that uses a session owns it, and the owner is the user
 * every later request of that session acts for. Actions are accesses of `action:<name>` keys (ActionFilterPredictor).
 */
import { join } from 'node:path';
import postgres from 'postgres';
import { Cache, type ReadResult } from '../cache/cache.ts';
import type { PredictionBudgetOptions } from '../cache/prediction-budget.ts';
import { cacheChangeTarget } from '../cache/cache-change-target.ts';
import { RedisTier } from '../cache/redis-tier.ts';
import { RedisWriteBus } from '../cache/redis-write-bus.ts';
import type { WriteBus } from '../cache/write-bus.ts';
import type { ShadowItem } from '../cache/shadow-listing.ts';
import type { Tier } from '../cache/tier.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { ReadContext } from '../context.ts';
import { PrescientError } from '../errors.ts';
import type { FetchPurpose, Origin } from '../origin/origin.ts';
import { PostgresOrigin, type PostgresSql } from '../origin/postgres-origin.ts';
import { openSampleOrigin } from '../origin/sample-store.ts';
import type { Predictor } from '../predict/predictor.ts';
import { ChangeFeed } from '../sync/change-feed.ts';
import type { ServerConfig } from './config.ts';
import { checkFetchCapacity, fetchRoom } from './fetch-capacity.ts';
import { timedOrigin } from './metrics.ts';
import { ReadinessProbe } from './readiness-probe.ts';
import { SessionModels, type ApiPrediction } from './session-models.ts';
import { SessionOwners } from './session-owners.ts';
import { ownString } from '../own-string.ts';
import { openWritePath, type ServiceLogger, type WriteAck, type WritePath } from './write-path.ts';

export type { ServiceLogger, WriteAck, WritePath } from './write-path.ts';

/** Parts tests and benchmarks inject in place of those the config would build. */
export type ServiceOverrides = {
  /** The origin (replaces PostgreSQL / PGlite). */
  readonly origin?: Origin<unknown>;
  readonly clock?: Clock;
  /** The predictor (replaces a fresh EnsemblePredictor). */
  readonly predictor?: Predictor;
  /** The write path (replaces the write-back journal). */
  readonly writePath?: WritePath;
  /** The shared tier (replaces the Redis tier of the config). */
  readonly l2?: Tier<unknown>;
  /** The write bus (replaces the Redis write bus of the config). */
  readonly bus?: WriteBus;
  /** Where log lines go (one JSON object a line). @default stdout */
  readonly logDestination?: { write(line: string): void };
  /**
   * The prediction loop's CPU budget (bench/server-throughput.ts compares settings with it).
   * @default `defaultPredictionBudget`
   */
  readonly predictionBudget?: PredictionBudgetOptions;
};

/**
 * The models share the event loop with every request: they get at most 15% of real time, in slices of 1 ms at most,
 * so a hit never waits behind more than a millisecond of learning (bench/server-throughput.ts: 4 ms slices put the
 * p99 of hits at 5,000 req/s at 3.4 ms, 1 ms slices at the predictor-off figure; a 5% share gained nothing at p99
 * and left the models 28% of reads under full load instead of 50%).
 */
export const defaultPredictionBudget: PredictionBudgetOptions = Object.freeze({ maxShare: 0.15, maxSliceMs: 1 });

export type ServiceOptions = {
  readonly config: ServerConfig;
  /** Where the stores report trouble they recover from (flush retries, change-feed gaps). */
  readonly logger?: ServiceLogger;
  readonly overrides?: ServiceOverrides;
  /** Called after every origin batch with its duration in ms (the metrics' latency histogram). */
  readonly onOriginFetch?: (durationMs: number, purpose: FetchPurpose, isOk: boolean) => void;
};

export type { ApiPrediction } from './session-models.ts';

/** Key the readiness probe reads: any answer (found or not) proves the origin answers. */
const readinessProbeKey = '__prescient_readyz__';

export class Service {
  readonly cache: Cache<unknown>;
  readonly config: ServerConfig;
  readonly #clock: Clock;
  readonly #models: SessionModels;
  readonly #writes: WritePath;
  readonly #l2: Tier<unknown> | undefined;
  readonly #owners: SessionOwners;
  readonly #readiness: ReadinessProbe;
  readonly #closers: Array<() => Promise<unknown>> = [];
  #feed: ChangeFeed | undefined;
  #state: 'new' | 'started' | 'closing' | 'closed' = 'new';
  #writeCount = 0;
  #deleteCount = 0;

  private constructor(options: ServiceOptions, origin: Origin<unknown>, writes: WritePath, l2: Tier<unknown> | undefined, bus: WriteBus | undefined) {
    const { config, overrides = {} } = options;
    this.config = config;
    this.#clock = overrides.clock ?? systemClock;
    this.#models = new SessionModels({ config, clock: this.#clock, predictor: overrides.predictor, logger: options.logger });
    this.#writes = writes;
    this.#l2 = l2;
    this.#owners = new SessionOwners(config.limits.maxSessions);
    this.#readiness = new ReadinessProbe({ clock: this.#clock, probe: () => origin.getMany([readinessProbeKey], { purpose: 'demand' }) });
    // A write the origin refused, or declined as older than another node's: its copies here (and, through the write
    // bus, elsewhere) go up to its version, so reads fetch the origin's.
    writes.onDropped?.((key, version) => void this.cache.delete(key, { maxVersion: version }).catch(() => false));
    this.cache = new Cache<unknown>({
      origin: options.onOriginFetch === undefined ? writes.reader : timedOrigin(writes.reader, this.#clock, options.onOriginFetch),
      clock: this.#clock,
      maxBytes: config.cache.maxBytes,
      ttlMs: config.cache.ttlMs,
      absentTtlMs: config.cache.absentTtlMs,
      maxKeyLength: config.cache.maxKeyLength,
      l2,
      bus,
      predictor: this.#models.predictor,
      prefetch: { predictLimit: config.cache.predictLimit, budget: overrides.predictionBudget ?? defaultPredictionBudget },
      // Faults the cache contains (a model, a listener, a value it could not store) are logged with their cause.
      onFault: (fault) => options.logger?.warn({ err: fault.error, code: 'ERR_INTERNAL', fault: fault.kind }, `contained a ${fault.kind} fault; reads go on`),
    });
  }

  /**
   * Builds the service from `config` (and `overrides`) and starts its stores: opens the origin, replays the
   * write-back journal, connects the shared tier, starts the change feed.
   * @throws the coded error of the store that failed to start (ERR_ORIGIN_FAILED, ERR_JOURNAL_FAILED, ...).
   */
  static async start(options: ServiceOptions): Promise<Service> {
    const { config, overrides = {}, logger } = options;
    const clock = overrides.clock ?? systemClock;
    const closers: Array<() => Promise<unknown>> = [];
    let started: WritePath | undefined;
    try {
      let origin = overrides.origin;
      let sql: PostgresSql | undefined;
      if (origin === undefined && config.database !== undefined) {
        const db = config.database;
        const client = postgres(db.url, { max: 4, onnotice: () => {} }) as unknown as PostgresSql;
        closers.push(() => client.end({ timeout: 5 }));
        await PostgresOrigin.ensureTable(client, db.table);
        // A statement timeout, so a lock held elsewhere or a hung server cannot stall reads or the flusher for good.
        origin = new PostgresOrigin<unknown>({ sql: client, table: db.table, clock, timeoutMs: config.limits.requestTimeoutMs, writeTimeoutMs: 60_000 });
        sql = client;
      } else if (origin === undefined) {
        // The shipped sample (cache2k orm-busy's keys as product-like documents) in PGlite, in process: in
        // <dataDir>/store keeping every write, or a private copy of the cached sample dropped when the service stops.
        const { dataDir } = config;
        origin = (dataDir === undefined ? await openSampleOrigin() : await openSampleOrigin({ dataDir: join(dataDir, 'store'), isolation: 'in-place' })) as Origin<unknown>;
        const embedded = origin;
        closers.push(async () => embedded.close?.());
      }
      const writes = overrides.writePath ?? openWritePath(config, origin, clock, logger);
      await writes.start();
      started = writes;
      let l2 = overrides.l2;
      if (l2 === undefined && config.redis !== undefined) {
        const tier = new RedisTier<unknown>({ url: config.redis.url, namespace: config.redis.namespace, maxBytes: config.redis.maxBytes, clock });
        closers.push(() => tier.close()); // Redis down at start is not fatal: the tier reconnects; /readyz says so.
        await tier.start().catch((error: unknown) => logger?.warn({ err: error, code: 'ERR_TIER_FAILED' }, 'Redis is not reachable yet; serving without the shared tier until it is'));
        l2 = tier;
      }
      let bus = overrides.bus;
      if (bus === undefined && config.redis !== undefined && config.redis.bus) {
        // The other nodes on this namespace hear of each write, and drop their in-process copies it replaced.
        const redisBus = new RedisWriteBus({ url: config.redis.url, channel: `${config.redis.namespace}:writes`, clock, onError: (error) => logger?.warn({ err: error, code: 'ERR_TIER_FAILED' }, 'the write bus lost its Redis connection; reconnecting') });
        closers.push(() => redisBus.close());
        bus = redisBus;
      }
      const service = new Service(options, origin, writes, l2, bus);
      service.#closers.push(...closers);
      closers.length = 0;
      if (sql !== undefined && config.database !== undefined) {
        try {
          await ChangeFeed.installTrigger(sql, config.database.table);
          const feed = new ChangeFeed({ sql, table: config.database.table, target: cacheChangeTarget(service.cache), clock, logger });
          service.#feed = feed;
          await feed.start();
        } catch (error) {
          await service.close().catch(() => {});
          throw error;
        }
      }
      service.#state = 'started';
      return service;
    } catch (error) {
      await started?.close().catch(() => {});
      for (const close of closers.reverse()) await close().catch(() => {});
      throw error;
    }
  }

  /** True once started and until close begins. */
  get isStarted(): boolean {
    return this.#state === 'started';
  }

  /**
   * The read context of a request: claims `session` for `user` (see SessionOwners) and returns the context with
   * the session's owner as user.
   * @throws PrescientError ERR_FORBIDDEN when the session belongs to another user.
   */
  context(session: string | undefined, user: string | undefined, segment?: string): ReadContext {
    // A session's requests share one context object (see SessionOwners).
    if (session !== undefined) return this.#owners.context(session, user, segment);
    // The models and the catalogs may keep these ids: copies, not slices of the request's URL (own-string.ts).
    const ctx: { user?: string; segment?: string } = {};
    if (user !== undefined) ctx.user = ownString(user);
    if (segment !== undefined) ctx.segment = ownString(segment);
    return ctx;
  }

  /**
   * Reads `key` for `ctx`; the read feeds the models.
   * @throws PrescientError ERR_OVERLOADED when the read needs the origin and `maxInflightFetches` keys are
   *   already being fetched; the cache's errors (ERR_ORIGIN_FAILED, ERR_ORIGIN_TIMEOUT, ERR_CLOSED, ...).
   */
  async read(key: string, ctx: ReadContext): Promise<ReadResult<unknown>> {
    return this.readIfPresent(key, ctx) ?? this.load(key, ctx);
  }

  /**
   * The synchronous half of `read`: the result when the memory tier (or the reader's shadow catalog) can answer,
   * recorded for the models as `read` records it; undefined when the read must load (then call `load`).
   * @throws the cache's errors (ERR_INVALID_KEY, ERR_CLOSED, ...).
   */
  readIfPresent(key: string, ctx: ReadContext): ReadResult<unknown> | undefined {
    return this.cache.getIfPresent(key, ctx);
  }

  /**
   * The asynchronous half of `read`, for a key `readIfPresent` could not answer: loads it from the shared tier or
   * the origin. Same errors as `read`.
   */
  async load(key: string, ctx: ReadContext): Promise<ReadResult<unknown>> {
    this.#checkCapacity(1);
    return this.cache.load(ownString(key), ctx); // the key is stored (tiers, models): not a slice of the URL
  }

  /** Reads many keys (results aligned with `keys`); misses go to the origin together. Same errors as `read`. */
  async readMany(keys: readonly string[], ctx: ReadContext): Promise<Array<ReadResult<unknown>>> {
    const results: Array<ReadResult<unknown> | undefined> = keys.map((k) => this.cache.getIfPresent(k, ctx));
    const missing: number[] = [];
    for (let i = 0; i < results.length; i++) if (results[i] === undefined) missing.push(i);
    if (missing.length > 0) {
      this.#checkCapacity(new Set(missing.map((i) => keys[i])).size); // a key asked twice is fetched once
      const loaded = await Promise.all(missing.map((i) => this.cache.load(ownString(keys[i]), ctx)));
      for (let j = 0; j < missing.length; j++) results[missing[j]] = loaded[j];
    }
    return results as Array<ReadResult<unknown>>;
  }

  /**
   * Writes `value` under `key`: resolves once the journal holds the write, with its version; the cache then
   * serves the new value.
   * @throws the write path's coded errors (ERR_JOURNAL_FAILED, ERR_CLOSED, ...).
   */
  async put(urlKey: string, value: unknown): Promise<WriteAck> {
    this.#checkStarted();
    const key = ownString(urlKey); // kept by the journal's pending writes and the tiers: not a slice of the URL
    const ack = await this.#writes.put(key, value);
    this.#writeCount++;
    try {
      await this.cache.set(key, value, { version: ack.version });
    } catch {
      // Too large to cache (or the shared tier failed): the write is durable; drop any older copy instead.
      await this.cache.delete(key, { maxVersion: ack.version }).catch(() => false);
    }
    return ack;
  }

  /** Deletes `key`: resolves once the journal holds the tombstone, with its version. Same errors as `put`. */
  async delete(urlKey: string): Promise<WriteAck> {
    this.#checkStarted();
    const key = ownString(urlKey);
    const ack = await this.#writes.delete(key);
    this.#deleteCount++;
    await this.cache.delete(key, { maxVersion: ack.version }).catch(() => false); // a newer copy from elsewhere stays
    return { ...ack, deleted: true };
  }

  /**
   * Records `action` (and the item it applied to, when given) in the session's behaviour profile: the models
   * observe `action:<name>` then `key` as accesses of the session, after every read already buffered.
   */
  recordAction(ctx: ReadContext, action: string, key?: string): void {
    this.#checkStarted();
    this.#models.recordAction(this.cache, ctx, action, key);
  }

  /**
   * Prefetches for the session: the given keys, and with an action, the items the models expect to follow it
   * (the action is recorded first, as by `recordAction`). Explicit requests are outside the prediction budget but
   * not outside `maxInflightFetches`: like a batch read, the request is refused whole when the keys it names would
   * take the origin past the limit (trimming them would make `issued` depend on other clients' load, and a client
   * that retries later gets all it asked for). The models' keys, whose number the client did not choose, are
   * trimmed to the room left instead (fetch-capacity.ts).
   * Returns the keys whose fetch started (those not already cached or in flight) and the predictions acted on.
   * @throws PrescientError ERR_OVERLOADED when the caller's keys would exceed `maxInflightFetches` now, ERR_BAD_REQUEST
   *   when they always would (the action, if any, is recorded even so); ERR_CLOSED once the service is shutting down.
   */
  async prefetch(ctx: ReadContext, request: { readonly action?: string; readonly keys?: readonly string[] }): Promise<{ keys: string[]; predicted: ApiPrediction[] }> {
    this.#checkStarted();
    let predicted: ApiPrediction[] = [];
    if (request.action !== undefined) {
      this.recordAction(ctx, request.action);
      predicted = (await this.#models.predictions(this.cache, ctx, this.config.cache.predictLimit)).items;
    }
    this.#checkStarted();
    const asked = new Set((request.keys ?? []).filter((k) => !this.cache.isPresent(k)));
    if (asked.size > 0) this.#checkCapacity(asked.size);
    const guesses = predicted.map((p) => p.key).filter((k) => !asked.has(k) && !this.cache.isPresent(k));
    const keys = [...asked, ...guesses.slice(0, fetchRoom(this.cache.pendingFetches, asked.size, this.config.limits.maxInflightFetches))];
    if (keys.length > 0) this.cache.prefetch(keys, ctx);
    return { keys, predicted };
  }

  /** What the models expect next for `ctx`: items (probability order) and actions. */
  predictions(ctx: ReadContext, limit: number): Promise<{ items: ApiPrediction[]; actions: ApiPrediction[] }> {
    return this.#models.predictions(this.cache, ctx, limit);
  }

  /** The shadow catalog of `user`: the items predicted for it, most probable first. */
  shadow(user: string, limit: number): ShadowItem[] {
    return this.cache.shadow(user, { limit });
  }

  /**
   * True when the service is started, its shared tier (if any) is connected, its write bus (if any) listens, and its origin answered the latest
   * readiness probe within 2 s; probes are shared and reused for a second (ReadinessProbe). Never throws.
   */
  async isReady(): Promise<boolean> {
    if (this.#state !== 'started') return false;
    if ((this.#l2 as { isConnected?: boolean } | undefined)?.isConnected === false) return false;
    // A node not hearing the write bus may serve copies other nodes replaced: not ready until it listens again.
    if (this.cache.stats().writeBus?.isSubscribed === false) return false;
    return this.#readiness.check();
  }

  /** Counters of the write path and the sessions, for the metrics and the dashboard. */
  dashboardStats(): Record<string, number> {
    return { writes: this.#writeCount, deletes: this.#deleteCount, sessions: this.#owners.size, ...(this.#writes.stats?.() ?? {}) };
  }

  /** Counters of the models' worker thread (undefined when the models run on the request thread). */
  modelStats(): ReturnType<SessionModels['stats']> {
    return this.#models.stats();
  }

  /** The shared tier, when there is one (for the metrics' tier sizes). */
  get l2(): Tier<unknown> | undefined {
    return this.#l2;
  }

  /**
   * Stops the service: flushes every acknowledged write to the origin and releases the journal, closes the
   * cache, the shared tier and the origin. Idempotent; rejects with the first store error after trying all.
   */
  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    let first: unknown;
    const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (error) {
        first ??= error;
      }
    };
    if (this.#feed !== undefined) await attempt(() => (this.#feed as ChangeFeed).close());
    await attempt(() => this.#writes.close());
    await attempt(() => this.cache.close());
    await attempt(() => this.#models.close());
    for (const close of this.#closers.reverse()) await attempt(close);
    this.#state = 'closed';
    if (first !== undefined) throw first;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #checkCapacity(misses: number): void {
    checkFetchCapacity(this.cache.pendingFetches, misses, this.config.limits.maxInflightFetches);
  }

  #checkStarted(): void {
    if (this.#state !== 'started') throw new PrescientError('ERR_CLOSED', 'The service is shutting down');
  }
}
