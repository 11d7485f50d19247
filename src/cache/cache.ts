/**
 * Cache: the read and write paths of Prescient.
 *
 * A read with a `user` (or `segment`) looks first in its shadow catalog (shadow-catalog.ts), where a stale entry is
 * refreshed before it is served; then in the in-process MemoryTier, where a fresh entry is answered at once, a stale
 * one is answered and refreshed in the background (stale-while-revalidate); a missing or expired one is loaded
 * through the Loader (single-flight, coalesced into `getMany`, shared tier before origin). The read records the
 * access in a bounded buffer and returns: prediction, prefetch and catalog updates run later, off that buffer, so a
 * read never waits for a model. When the origin fails, an expired entry within `graceMs` is served instead.
 */
import type { Clock } from '../clock.ts';
import { anonymous, checkContext, type ReadContext } from '../context.ts';
import { InvalidKeyError, PrescientError } from '../errors.ts';
import { nestedOptions, positiveInt } from '../options.ts';
import type { FetchPurpose } from '../origin/origin.ts';
import type { Prediction } from '../predict/predictor.ts';
import type { PrefetchRequest } from '../prefetch/prefetch-scheduler.ts';
import type { ReadStatus } from './access-buffer.ts';
import { AbsentKeys } from './absent-keys.ts';
import { CacheWrites } from './cache-writes.ts';
import { resolveCacheOptions, type CacheOptions, type ResolvedCacheOptions } from './cache-options.ts';
import { checkKey, checkWellFormedKey, type Entry } from './entry.ts';
import { GuardedEvents } from './guarded-events.ts';
import type { LoadOutcome } from './flight.ts';
import { Loader } from './loader.ts';
import { MemoryTier } from './memory-tier.ts';
import { hitResult, loadedResult, type CacheEvents, type CacheStats, type DeleteOptions, type InvalidateSelector, type ReadResult, type SetOptions } from './cache-results.ts';
import { VersionFloors } from './version-floors.ts';
import { OriginCounters } from './origin-counters.ts';
import { PredictionLoop } from './prediction-loop.ts';
import { Presence } from './presence.ts';
import { SharedTierWriter } from './shared-tier-writer.ts';
import { TierWriter } from './tier-writer.ts';
import { ShadowCatalogs } from './shadow-catalog.ts';
import { listShadow, type ShadowItem, type ShadowListOptions } from './shadow-listing.ts';

export type { ReadStatus } from './access-buffer.ts';
export type { CacheEvents, CacheStats, DeleteOptions, InvalidateSelector, ReadResult, SetOptions } from './cache-results.ts';

export class Cache<V = unknown> {
  readonly #o: ResolvedCacheOptions<V>;
  readonly #clock: Clock;
  readonly #memory: MemoryTier<V>;
  readonly #loader: Loader<V>;
  readonly #loop: PredictionLoop;
  readonly #shadow: ShadowCatalogs<V> | undefined;
  readonly #shared: SharedTierWriter<V> | undefined;
  readonly #writer: TierWriter<V>;
  readonly #writes: CacheWrites<V>;
  readonly #absent: AbsentKeys | undefined;
  readonly #presence: Presence;
  readonly #events = new GuardedEvents((error) => this.#o.onFault({ kind: 'listener', error }));
  readonly #reads: Record<ReadStatus, number> = { hit: 0, miss: 0, stale: 0, prefetched: 0 };
  readonly #origin = new OriginCounters();
  #readErrors = 0;
  #graceServed = 0;
  #refreshes = 0;
  #isClosed = false;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) naming the first bad option. */
  constructor(options: CacheOptions<V>) {
    const o = resolveCacheOptions(options);
    this.#o = o;
    this.#clock = o.clock;
    this.#memory = nestedOptions('memory', () => new MemoryTier<V>({ ...o.memory, maxBytes: o.maxBytes, clock: o.clock, onRemoval: (entry, cause) => { if (this.#shadow?.leftTier(entry, cause) !== true) this.#loop.removed(entry, cause); }, onDisplacedMiss: () => this.#loop.displacedMiss() }));
    const floors = new VersionFloors(o.clock, o.maxFloorKeys); // versions the deletes and change notices applied here made stale
    this.#shared = o.l2 && new SharedTierWriter(o.l2, o.clock, floors);
    this.#loader = new Loader<V>({
      origin: o.origin,
      l2: o.l2,
      maxBatch: o.maxBatch, onStoreFailure: (error) => o.onFault({ kind: 'store', error }),
      isUsable: (entry) => this.#clock.now() < entry.staleAt && this.#shared!.isCurrent(entry),
      onLoaded: (flight, outcome) => {
        if (!flight.isDiscarded && !this.#isClosed) this.#writer.storeLoaded(flight, outcome);
      },
      onOriginBatch: (keys, purpose, isOk, failed) => this.#countBatch(keys, purpose, isOk, failed),
      // The prefetch budget grows as demand load leaves for the origin, not when it comes back: what the budget held
      // back goes out beside the miss that paid for it (on scarab-500k at 1%, 0.9 points of hit ratio).
      onOriginSend: (count, purpose) => purpose === 'demand' && this.#loop.demandFetched(count),
    });
    this.#loop = new PredictionLoop({
      predictor: o.predictor,
      clock: o.clock,
      bufferSize: o.accessBufferSize,
      predictLimit: o.predictLimit,
      prefetch: o.prefetch,
      target: { isPresent: (key) => this.#presence.isPresent(key), touchIfPresent: (key) => this.#presence.touchIfPresent(key),
        touch: (key) => this.#memory.touch(key), fetch: (batch) => this.#prefetchBatch(batch) },
      onEvent: (event) => this.#events.emit(event.type, event),
      isListened: (type) => this.#events.listenerCount(type) > 0,
      reads: this.#reads, // the prediction budget's share follows the reads the models could change
      onModelError: (error, kind) => o.onFault({ kind, error }),
      onPredicted: o.shadow === false ? undefined : (ctx, ps) => this.#shadow?.predicted(ctx, ps),
    });
    const shadow = o.shadow === false ? undefined : { ...o.shadow, clock: o.clock, tier: this.#memory, loop: this.#loop, reads: this.#reads };
    this.#shadow = shadow && new ShadowCatalogs<V>(shadow);
    this.#absent = o.absentTtlMs > 0 ? new AbsentKeys(o.absentTtlMs, o.maxAbsentKeys) : undefined;
    this.#presence = new Presence(this.#loader, this.#memory, this.#absent, this.#clock);
    const stores = { memory: this.#memory, shadow: this.#shadow, shared: this.#shared, absent: this.#absent, floors };
    this.#writer = new TierWriter<V>({ ...o, ...stores });
    const onBusFault = (error: unknown): void => o.onFault({ kind: 'store', error });
    this.#writes = new CacheWrites<V>({ options: o, ...stores, loader: this.#loader, writer: this.#writer, bus: o.bus, onBusFault });
  }

  /**
   * Reads `key` for `ctx`. Resolves with the value and how it was served; rejects with ERR_INVALID_KEY,
   * ERR_INVALID_CONTEXT, ERR_CLOSED, or ERR_ORIGIN_FAILED (ERR_ORIGIN_TIMEOUT) when the origin fails (times out) and no entry within grace can stand in.
   */
  get(key: string, ctx: ReadContext = anonymous): Promise<ReadResult<V>> {
    try {
      const result = this.read(key, ctx);
      return result instanceof Promise ? result : Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `get` without the promise on a hit: answers synchronously when the reader's shadow catalog or the memory tier
   * holds a servable entry, and returns the loading promise otherwise. For hot loops that cannot afford a promise.
   * @throws InvalidKeyError, PrescientError ERR_INVALID_CONTEXT or ERR_CLOSED (synchronously).
   */
  read(key: string, ctx: ReadContext = anonymous): ReadResult<V> | Promise<ReadResult<V>> {
    const hit = this.getIfPresent(key, ctx);
    if (hit !== undefined) return hit;
    checkWellFormedKey(key); // getIfPresent checked type and length only (held keys passed the rest); a load needs it all
    return this.#loadMissed(key, ctx);
  }

  /**
   * The second half of `read`, for a caller that just got undefined from `getIfPresent` and must decide something
   * (admission, a timeout) before loading: loads `key` from the shared tier or the origin without looking in the
   * memory tier again. Rejects like `get`.
   */
  load(key: string, ctx: ReadContext = anonymous): Promise<ReadResult<V>> {
    try {
      this.#checkOpen();
      checkKey(key, this.#o.maxKeyLength);
      if (ctx !== anonymous) checkContext(ctx);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#loadMissed(key, ctx);
  }

  #loadMissed(key: string, ctx: ReadContext): Promise<ReadResult<V>> {
    return this.#load(key, ctx, this.#clock.now(), this.#memory.peek(key) ?? this.#shadow?.peek(key, ctx));
  }

  /**
   * The synchronous hit path: answers from the reader's shadow catalog (fresh entries only) or the memory tier (fresh, or
   * stale while a refresh starts), recording the access like `get`; undefined, without loading, when `get` would load.
   * @throws InvalidKeyError, PrescientError ERR_INVALID_CONTEXT or ERR_CLOSED.
   */
  getIfPresent(key: string, ctx: ReadContext = anonymous): ReadResult<V> | undefined {
    this.#checkOpen();
    if (typeof key !== 'string' || key.length === 0 || key.length > this.#o.maxKeyLength) checkKey(key, this.#o.maxKeyLength);
    if (ctx !== anonymous) {
      checkContext(ctx);
      const shadow = this.#shadow !== undefined && (ctx.user ?? ctx.segment) !== undefined ? this.#shadow.serve(key, ctx) : undefined;
      if (shadow !== undefined) return shadow === 'stale' ? undefined : shadow;
    }
    // A plain hit (fresh, not a prefetch's first use): answered from the tier's columns, no Entry built.
    const answer = this.#memory.hit(key, hitResult);
    if (answer !== undefined) {
      this.#reads.hit++;
      if (this.#loop.shouldRecord()) this.#loop.record(answer.key, ctx, this.#clock.now(), 'hit');
      return answer;
    }
    const entry = this.#memory.get(key, true);
    if (entry === undefined) return this.#absent?.has(key, this.#clock.now(), true) === true ? this.#servedAbsent(key, ctx) : undefined;
    // Entries without expiry (ttlMs Infinity) need no clock read unless the models will keep the access.
    const now = entry.staleAt === Infinity && entry.expiresAt === Infinity ? Number.NaN : this.#clock.now();
    if (now >= entry.staleAt || now >= entry.expiresAt) return this.#serveStale(key, ctx, entry, now);
    // The rarer answers (stale, a prefetch's first use) live in their own methods: this one stays small and fast.
    if (entry.source === 'prefetch' && entry.hits === 1) return this.#servePrefetched(key, ctx, entry, now);
    this.#reads.hit++;
    this.#record(entry, ctx, now, 'hit');
    return hitResult(entry.key, entry.value, entry.version);
  }

  /** getIfPresent on an entry past its stale (or expiry) time: undefined when expired, else served while a refresh starts. */
  #serveStale(key: string, ctx: ReadContext, entry: Entry<V>, now: number): ReadResult<V> | undefined {
    if (now >= entry.expiresAt) return undefined;
    this.#reads.stale++;
    if (entry.source === 'prefetch' && entry.hits === 1) this.#loop.used(entry); // a prefetch's first use, if a late one
    this.#refresh(entry.key); // the entry's own key string: the request's may be a slice of its URL (own-string.ts)
    return this.#served(key, ctx, entry, now, 'stale');
  }

  /** getIfPresent on a key the origin said it lacks, within absentTtlMs: a hit that finds nothing. */
  #servedAbsent(key: string, ctx: ReadContext): ReadResult<V> {
    this.#reads.hit++;
    if (this.#loop.shouldRecord()) this.#loop.record(key, ctx, this.#clock.now(), 'hit');
    return { key, value: undefined as V, isFound: false, version: 0, status: 'hit', servedFrom: 'memory', wasInflight: false };
  }

  /** getIfPresent on the first use of a prefetched entry. */
  #servePrefetched(key: string, ctx: ReadContext, entry: Entry<V>, now: number): ReadResult<V> {
    this.#reads.prefetched++;
    this.#loop.used(entry);
    return this.#served(key, ctx, entry, now, 'prefetched');
  }

  /**
   * Hands a served access to the models, with the entry's own (old) key string: the request's young copy, held in
   * the access buffer, would survive scavenges. The buffer is asked first, so an access it would drop costs no clock
   * read (`now` is NaN when the read took none).
   */
  #record(entry: Entry<V>, ctx: ReadContext, now: number, status: ReadStatus): void {
    if (this.#loop.shouldRecord()) this.#loop.record(entry.key, ctx, Number.isNaN(now) ? this.#clock.now() : now, status);
  }

  /** Records a served access that is not a plain hit, and answers it with a result of its own. */
  #served(key: string, ctx: ReadContext, entry: Entry<V>, now: number, status: ReadStatus): ReadResult<V> {
    this.#record(entry, ctx, now, status);
    return { key, value: entry.value, isFound: true, version: entry.version, status, servedFrom: 'memory', wasInflight: false };
  }

  /** Reads many keys; misses arriving together cost one origin batch. Results are aligned with `keys`. */
  getMany(keys: readonly string[], ctx: ReadContext = anonymous): Promise<Array<ReadResult<V>>> {
    if (!Array.isArray(keys)) return Promise.reject(new InvalidKeyError(keys, 'expected an array of keys'));
    return Promise.all(keys.map((k) => this.get(k, ctx)));
  }

  /** The cached entry for `key`, if any, without touching recency, statistics, the models or the origin. */
  peek(key: string): Entry<V> | undefined {
    return this.#memory.peek(key);
  }

  /**
   * Stores a value locally (memory tier, and the shared tier when there is one) and returns the entry held for the
   * key afterwards: the new one, or the one already held when its version was newer (it stays: last writer wins).
   * @throws ValueTooLargeError (ERR_VALUE_TOO_LARGE) above `maxEntryBytes`; InvalidKeyError; ERR_INVALID_OPTION for a
   *   `ttlMs` or `version` that is not a number >= 0 (ttlMs > 0); ERR_INVALID_VALUE when `sizeOf` gives no valid size.
   */
  async set(key: string, value: V, options: SetOptions = {}): Promise<Entry<V>> {
    this.#checkOpen();
    return this.#writes.set(key, value, options);
  }

  /** Removes `key` (copies up to `maxVersion`) from every tier and shadow catalog, discards a fetch in flight; true when something went. */
  delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    return this.#writes.delete(key, options);
  }

  /** Removes every entry matching the selector (keys, prefix, tag) from every tier and discards matching loads in flight
   * (by key or prefix: a first load's tags are unknown); returns how many entries were removed. */
  invalidate(selector: InvalidateSelector): Promise<number> {
    return this.#writes.invalidate(selector);
  }

  /** Fetches `keys` now for `ctx`, outside the prediction budget (an explicit hint); skips what `isPresent`; returns how many started. */
  prefetch(keys: readonly string[], ctx: ReadContext = anonymous): number {
    this.#checkOpen();
    if (!Array.isArray(keys)) throw new InvalidKeyError(keys, 'expected an array of keys');
    for (const key of keys) checkKey(key, this.#o.maxKeyLength);
    checkContext(ctx);
    const batch = [...new Set(keys)].filter((k) => !this.isPresent(k)).map((key) => ({ key, probability: 1, source: 'manual', ctx }));
    for (const r of batch) this.#loop.feedback.issued(r.key, 1, 'manual');
    void this.#prefetchBatch(batch);
    return batch.length;
  }

  /** What the models expect next for `ctx` (empty without a predictor). Drains pending accesses first. */
  predict(ctx: ReadContext, limit = 10): Prediction[] {
    checkContext(ctx);
    return this.#loop.predict(ctx, positiveInt('limit', limit));
  }

  /** The shadow catalog of user `id` (of segment `id` with `{ of: 'segment' }`), most probable first: see listShadow. */
  shadow(id: string, options?: ShadowListOptions): ShadowItem[] {
    return listShadow(this.#shadow, id, options);
  }

  /** Feeds every buffered access to the models and lets the scheduler act on fresh predictions now. */
  flush(): void {
    this.#loop.flush();
  }

  /** Resolves once the write bus (`bus`) listens to the other nodes; at once without one. */
  whenSubscribed(): Promise<void> {
    return this.#writes.whenSubscribed();
  }

  /** Keys being fetched from the shared tier or the origin right now (demand and prefetch; also those a delete discarded). */
  get pendingFetches(): number {
    return this.#loader.inflight;
  }

  /** True while fetches started this microtask turn wait for their batch, sent one turn later (a simulator awaits it). */
  get hasUnsentFetches(): boolean {
    return this.#loader.hasUnsent;
  }

  /** Subscribes to an event; a listener that throws is counted and handed to `onFault`, never propagated. */
  on<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  stats(): CacheStats {
    return {
      reads: { ...this.#reads },
      readErrors: this.#readErrors,
      listenerErrors: this.#events.errors, storeFailures: this.#loader.storeFailures,
      graceServed: this.#graceServed,
      refreshes: this.#refreshes,
      oversize: this.#writer.oversize, belowFloor: this.#writer.belowFloor,
      origin: { ...this.#origin, inflight: this.#loader.inflight },
      memory: this.#memory.stats(),
      shadow: this.#shadow?.stats(),
      absent: this.#absent?.stats(this.#clock.now()),
      sharedTier: this.#shared?.stats(), writeBus: this.#writes.busStats(),
      ...this.#loop.stats(),
    };
  }

  /** Stops prefetching and background work; waits for fetches and writes in flight (their notices go out). Reads and writes after close reject with ERR_CLOSED. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#loop.close();
    this.#shared?.close();
    await Promise.all([this.#writes.close(), this.#loader.idle()]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #load(key: string, ctx: ReadContext, now: number, expired: Entry<V> | undefined): Promise<ReadResult<V>> {
    this.#checkOpen();
    const running = this.#loader.flight(key);
    const wasInflight = running !== undefined && running.isSent;
    let joinedPrefetch = wasInflight && running.purpose === 'prefetch';
    let flight = this.#loader.load(key, 'demand');
    // The models hear of the read now, not when the origin answers: the prediction it leads to (the session's next
    // key) is then fetched while this miss is, instead of one origin latency later, when the next read may already
    // be here. Measured on scarab-500k (25 ms between reads, 20 ms origin): 4.7% of reads found the prefetch of
    // their key still in flight when a miss was recorded on completion.
    if (this.#loop.shouldRecord()) this.#loop.record(key, ctx, now, 'miss');
    let outcome: LoadOutcome<V>;
    try {
      try {
        outcome = await flight.promise;
      } catch (error) {
        // The prefetch this read joined failed: a prefetch's failure never fails a read, which fetches on its own.
        if (!joinedPrefetch || this.#isClosed) throw error;
        joinedPrefetch = false;
        flight = this.#loader.load(key, 'demand');
        outcome = await flight.promise;
      }
    } catch (error) {
      const fault = error instanceof PrescientError ? error : new PrescientError('ERR_ORIGIN_FAILED', String(error), { cause: error });
      if (expired !== undefined && this.#clock.now() < expired.expiresAt + this.#o.graceMs) {
        this.#graceServed++;
        this.#reads.stale++;
        return { key, value: expired.value, isFound: true, version: expired.version, status: 'stale', servedFrom: 'memory', wasInflight, error: fault };
      }
      this.#readErrors++;
      throw fault;
    }
    this.#reads.miss++;
    if (joinedPrefetch) this.#loop.usedFlight(flight); // the read used the prefetch: it waited only for the rest of its fetch
    else this.#loop.feedback.demandMiss();
    return loadedResult(key, outcome, flight.isDiscarded ? undefined : this.#memory.peek(key), wasInflight);
  }

  #refresh(key: string): void {
    if (this.#isClosed || this.#loader.flight(key) !== undefined) return;
    this.#refreshes++;
    this.#loader.load(key, 'demand');
  }

  /** True when `key` is held fresh in memory, being fetched or known absent: a read now sends nothing to the origin for it. */
  isPresent(key: string): boolean {
    return this.#presence.isPresent(key);
  }

  #prefetchBatch(batch: readonly PrefetchRequest[]): Promise<{ failed: PrefetchRequest[] }> {
    return this.#isClosed ? Promise.resolve({ failed: [] }) : this.#loader.prefetch(batch);
  }

  #countBatch(keys: readonly string[], purpose: FetchPurpose, isOk: boolean, failed: readonly string[]): void {
    this.#origin.count(keys.length, purpose, isOk);
    if (!isOk && this.#events.listenerCount('origin:failed') > 0) this.#events.emit('origin:failed', { keys: failed, purpose });
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new PrescientError('ERR_CLOSED', 'The cache is closed');
  }
}
