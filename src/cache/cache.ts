/**
 * Cache: the read and write paths of Prescient.
 *
 * A read looks in the in-process MemoryTier; a fresh entry is answered at once, a stale one is answered and
 * refreshed in the background (stale-while-revalidate), a missing or expired one is loaded through the Loader
 * (single-flight, coalesced into `getMany`, shared tier before origin). Whatever happened, the read records the
 * access in a bounded buffer and returns: prediction and prefetch run later, off that buffer, so a read never waits
 * for a model and a failed prefetch never fails a read. When the origin fails, an expired entry within `graceMs` is
 * served instead, and the result says so (`error`).
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock.ts';
import { anonymous, checkContext, type ReadContext } from '../context.ts';
import { InvalidKeyError, PrescientError, ValueTooLargeError } from '../errors.ts';
import type { FetchPurpose } from '../origin/origin.ts';
import type { Prediction, Predictor } from '../predict/predictor.ts';
import { Feedback, type FeedbackEvent, type FeedbackStats } from '../prefetch/feedback.ts';
import { PrefetchScheduler, type PrefetchRequest, type SchedulerStats } from '../prefetch/prefetch-scheduler.ts';
import { AccessBuffer, type ReadStatus } from './access-buffer.ts';
import { resolveCacheOptions, type CacheOptions, type ResolvedCacheOptions } from './cache-options.ts';
import type { Entry, RemovalCause } from './entry.ts';
import { Loader, type Flight, type LoadOutcome } from './loader.ts';
import { MemoryTier } from './memory-tier.ts';
import type { TierStats } from './tier.ts';

export type { ReadStatus } from './access-buffer.ts';

/** The answer to one read. */
export type ReadResult<V> = {
  readonly key: string;
  /** The value, or undefined when the origin has no such key. */
  readonly value: V | undefined;
  readonly isFound: boolean;
  /** Version of the value served (0 when not found). */
  readonly version: number;
  /** hit: fresh from cache; prefetched: first read of an entry a prediction brought in; stale: served past its stale
   * time (refreshing) or, with `error` set, past expiry because the origin failed; miss: loaded on demand. */
  readonly status: ReadStatus;
  readonly servedFrom: 'memory' | 'l2' | 'origin';
  /** True when the read found its key already being fetched (by a prefetch or another read) and joined it. */
  readonly wasInflight: boolean;
  /** The origin failure a stale entry stood in for (grace period). */
  readonly error?: PrescientError;
};

/** Options of a local write. */
export type SetOptions = {
  /** Version to store; defaults to one above the version held. */
  readonly version?: number;
  /** Overrides the cache's `ttlMs` for this entry. */
  readonly ttlMs?: number;
  readonly tags?: readonly string[];
};

/** What `invalidate` removes: any combination; an entry matching any part goes. */
export type InvalidateSelector = {
  readonly keys?: readonly string[];
  readonly prefix?: string;
  readonly tag?: string;
};

export type CacheStats = {
  readonly reads: Readonly<Record<ReadStatus, number>>;
  readonly readErrors: number;
  readonly graceServed: number;
  readonly refreshes: number;
  readonly oversize: number;
  readonly origin: {
    readonly demandBatches: number;
    readonly prefetchBatches: number;
    readonly demandKeys: number;
    readonly prefetchKeys: number;
    readonly failedBatches: number;
    readonly inflight: number;
  };
  readonly accessBuffer: { readonly recorded: number; readonly dropped: number; readonly pending: number };
  readonly memory: TierStats;
  readonly prefetch: FeedbackStats;
  readonly scheduler: SchedulerStats | undefined;
};

/** Events a cache emits; listeners cost nothing when absent. */
export type CacheEvents = {
  'prefetch:issued': [FeedbackEvent];
  'prefetch:used': [FeedbackEvent];
  'prefetch:wasted': [FeedbackEvent];
  'origin:failed': [{ readonly keys: readonly string[]; readonly purpose: FetchPurpose }];
};

/**
 * Most accesses fed to the models per turn of the event loop; the rest wait for the next turn, so a slow model
 * delays its own learning, never the reads or timers queued behind a drain.
 */
const maxDrainBatch = 1024;

export class Cache<V = unknown> {
  readonly #o: ResolvedCacheOptions<V>;
  readonly #clock: Clock;
  readonly #memory: MemoryTier<V>;
  readonly #loader: Loader<V>;
  readonly #buffer: AccessBuffer;
  readonly #feedback: Feedback;
  readonly #scheduler: PrefetchScheduler | undefined;
  readonly #predictor: Predictor | undefined;
  readonly #events = new EventEmitter();
  #hits = 0;
  #misses = 0;
  #stale = 0;
  #prefetchedHits = 0;
  readonly #origin = { demandBatches: 0, prefetchBatches: 0, demandKeys: 0, prefetchKeys: 0, failedBatches: 0 };
  #readErrors = 0;
  #graceServed = 0;
  #refreshes = 0;
  #oversize = 0;
  #drainTimer: TimerHandle | undefined;
  #isClosed = false;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) naming the first bad option. */
  constructor(options: CacheOptions<V>) {
    const o = resolveCacheOptions(options);
    this.#o = o;
    this.#clock = o.clock;
    this.#predictor = o.predictor;
    this.#memory = new MemoryTier<V>({
      maxBytes: o.maxBytes,
      clock: o.clock,
      onRemoval: (entry, cause) => this.#onRemoval(entry, cause),
      ...o.memory,
    });
    this.#feedback = new Feedback({
      onEvent: (event) => {
        if (this.#events.listenerCount(event.type) > 0) this.#events.emit(event.type, event);
      },
    });
    this.#loader = new Loader<V>({
      origin: o.origin,
      l2: o.l2,
      maxBatch: o.maxBatch,
      isUsable: (entry) => this.#clock.now() < entry.staleAt,
      onLoaded: (flight, outcome) => this.#store(flight, outcome),
      onOriginBatch: (keys, purpose, isOk) => this.#countBatch(keys, purpose, isOk),
    });
    this.#buffer = new AccessBuffer(o.accessBufferSize);
    this.#scheduler =
      o.predictor === undefined || o.prefetch === false
        ? undefined
        : new PrefetchScheduler({
            ...o.prefetch,
            target: {
              isPresent: (key) => this.#isPresent(key),
              touch: (key) => this.#memory.touch(key),
              fetch: (batch) => this.#prefetchBatch(batch),
            },
            clock: o.clock,
            feedback: this.#feedback,
          });
  }

  /**
   * Reads `key` for `ctx`. Resolves with the value and how it was served; rejects with ERR_INVALID_KEY,
   * ERR_INVALID_CONTEXT, ERR_CLOSED, or ERR_ORIGIN_FAILED when the origin fails and no entry within grace can stand in.
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
   * `get` without the promise on a hit: answers synchronously when the memory tier holds a servable entry, and
   * returns the loading promise otherwise. For hot loops (and the simulator) that cannot afford a promise per hit.
   * @throws InvalidKeyError, PrescientError ERR_INVALID_CONTEXT or ERR_CLOSED (synchronously).
   */
  read(key: string, ctx: ReadContext = anonymous): ReadResult<V> | Promise<ReadResult<V>> {
    return this.getIfPresent(key, ctx) ?? this.#load(key, ctx, this.#clock.now(), this.#memory.peek(key));
  }

  /**
   * The synchronous hit path: answers from the memory tier when it holds a servable entry (fresh, or stale while a
   * background refresh starts) and records the access like `get`; returns undefined when `get` would have to load,
   * without loading. For hot loops that cannot afford a promise per read.
   * @throws InvalidKeyError, PrescientError ERR_INVALID_CONTEXT or ERR_CLOSED.
   */
  getIfPresent(key: string, ctx: ReadContext = anonymous): ReadResult<V> | undefined {
    if (this.#isClosed) throw new PrescientError('ERR_CLOSED', 'The cache is closed');
    if (typeof key !== 'string' || key.length === 0 || key.length > this.#o.maxKeyLength) this.#checkKey(key);
    if (ctx !== anonymous) checkContext(ctx);
    const entry = this.#memory.get(key, true);
    if (entry === undefined) return undefined;
    // Entries without expiry (ttlMs Infinity) need no clock read unless the models want the access time.
    const isTimed = entry.staleAt !== Infinity || entry.expiresAt !== Infinity;
    const now = isTimed || this.#predictor !== undefined ? this.#clock.now() : 0;
    if (isTimed && now >= entry.expiresAt) return undefined;
    let status: ReadStatus;
    if (isTimed && now >= entry.staleAt) {
      status = 'stale';
      this.#stale++;
      this.#refresh(key);
    } else if (entry.source === 'prefetch' && entry.hits === 1) {
      status = 'prefetched';
      this.#prefetchedHits++;
      this.#used(entry);
    } else {
      status = 'hit';
      this.#hits++;
    }
    if (this.#predictor !== undefined) this.#record(key, ctx, now, status);
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
   * Stores a value locally (memory tier, and the shared tier when there is one) and returns the entry.
   * @throws ValueTooLargeError (ERR_VALUE_TOO_LARGE) above `maxEntryBytes`; InvalidKeyError.
   */
  async set(key: string, value: V, options: SetOptions = {}): Promise<Entry<V>> {
    this.#checkOpen();
    this.#checkKey(key);
    const sizeBytes = this.#o.sizeOf(value, key);
    if (sizeBytes > this.#o.maxEntryBytes) throw new ValueTooLargeError(key, sizeBytes, this.#o.maxEntryBytes);
    const held = this.#memory.peek(key);
    const version = options.version ?? (held?.version ?? 0) + 1;
    this.#loader.discard(key);
    const entry = this.#makeEntry(key, value, version, sizeBytes, 'demand', undefined, options.ttlMs, options.tags);
    this.#memory.set(entry);
    await this.#o.l2?.set(entry);
    return entry;
  }

  /** Removes `key` from every tier and discards a fetch of it in flight. True when an entry was removed. */
  async delete(key: string): Promise<boolean> {
    this.#checkKey(key);
    this.#loader.discard(key);
    const wasHeld = this.#memory.delete(key);
    const wasShared = (await this.#o.l2?.delete(key)) ?? false;
    return wasHeld || wasShared;
  }

  /** Removes every entry matching the selector (keys, prefix, tag) from every tier; returns how many were removed. */
  async invalidate(selector: InvalidateSelector): Promise<number> {
    const keys = new Set(selector.keys ?? []);
    const { prefix, tag } = selector;
    if (prefix !== undefined || tag !== undefined) {
      for (const entry of this.#memory.entries()) {
        if ((prefix !== undefined && entry.key.startsWith(prefix)) || (tag !== undefined && entry.tags.includes(tag))) keys.add(entry.key);
      }
    }
    let removed = 0;
    for (const key of keys) if (await this.delete(key)) removed++;
    return removed;
  }

  /**
   * Asks for `keys` to be fetched now for `ctx`, outside the prediction budget (an explicit hint from the
   * application). Skips what is cached or in flight; returns how many fetches were started.
   */
  prefetch(keys: readonly string[], ctx: ReadContext = anonymous): number {
    this.#checkOpen();
    for (const key of keys) this.#checkKey(key);
    checkContext(ctx);
    const batch = keys.filter((k) => !this.#isPresent(k)).map((key) => ({ key, probability: 1, source: 'manual', ctx }));
    for (const r of batch) this.#feedback.issued(r.key, 1, 'manual');
    void this.#prefetchBatch(batch);
    return batch.length;
  }

  /** What the models expect next for `ctx` (empty without a predictor). Drains pending accesses first. */
  predict(ctx: ReadContext, limit = 10): Prediction[] {
    checkContext(ctx);
    this.flush();
    return this.#predictor?.predict(ctx, limit) ?? [];
  }

  /** Feeds every buffered access to the models and lets the scheduler act on fresh predictions now. */
  flush(): void {
    if (this.#drainTimer !== undefined) {
      this.#clock.clearTimer(this.#drainTimer);
      this.#drainTimer = undefined;
    }
    this.#drain(Infinity);
  }

  /** Keys being fetched from the shared tier or the origin right now (demand and prefetch). */
  get pendingFetches(): number {
    return this.#loader.inflight;
  }

  /** Subscribes to an event. */
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
      reads: { hit: this.#hits, miss: this.#misses, stale: this.#stale, prefetched: this.#prefetchedHits },
      readErrors: this.#readErrors,
      graceServed: this.#graceServed,
      refreshes: this.#refreshes,
      oversize: this.#oversize,
      origin: { ...this.#origin, inflight: this.#loader.inflight },
      accessBuffer: { recorded: this.#buffer.recorded, dropped: this.#buffer.dropped, pending: this.#buffer.size },
      memory: this.#memory.stats(),
      prefetch: this.#feedback.stats(),
      scheduler: this.#scheduler?.stats(),
    };
  }

  /** Stops prefetching and background work and waits for fetches in flight. Reads after close reject with ERR_CLOSED. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#scheduler?.close();
    if (this.#drainTimer !== undefined) this.#clock.clearTimer(this.#drainTimer);
    this.#drainTimer = undefined;
    await this.#loader.idle();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #load(key: string, ctx: ReadContext, now: number, expired: Entry<V> | undefined): Promise<ReadResult<V>> {
    this.#checkOpen();
    const running = this.#loader.flight(key);
    const wasInflight = running !== undefined && running.isSent;
    const joinedPrefetch = wasInflight && running.purpose === 'prefetch';
    const flight = this.#loader.load(key, 'demand');
    let outcome: LoadOutcome<V>;
    try {
      outcome = await flight.promise;
    } catch (error) {
      const fault = error instanceof PrescientError ? error : new PrescientError('ERR_ORIGIN_FAILED', String(error), { cause: error });
      if (expired !== undefined && this.#clock.now() < expired.expiresAt + this.#o.graceMs) {
        this.#graceServed++;
        this.#stale++;
        this.#record(key, ctx, now, 'stale');
        return { key, value: expired.value, isFound: true, version: expired.version, status: 'stale', servedFrom: 'memory', wasInflight, error: fault };
      }
      this.#readErrors++;
      throw fault;
    }
    this.#misses++;
    if (joinedPrefetch) {
      // The read used the prefetch (it waited only for the rest of the fetch): mark the entry used.
      const stored = this.#memory.get(key);
      if (stored !== undefined && stored.source === 'prefetch' && stored.hits === 1) this.#used(stored);
    } else {
      this.#feedback.demandMiss();
    }
    this.#record(key, ctx, now, 'miss');
    if (outcome.from === 'none') {
      return { key, value: undefined, isFound: false, version: 0, status: 'miss', servedFrom: 'origin', wasInflight };
    }
    const { value, version } = outcome.from === 'l2' ? outcome.entry : outcome.record;
    return { key, value, isFound: true, version, status: 'miss', servedFrom: outcome.from, wasInflight };
  }

  /** Stores what a flight loaded (Loader calls this before any waiter resumes). */
  #store(flight: Flight<V>, outcome: LoadOutcome<V>): void {
    if (flight.isDiscarded || this.#isClosed) return;
    const key = flight.key;
    if (outcome.from === 'none') {
      this.#memory.delete(key);
      return;
    }
    const p = flight.purpose === 'prefetch' ? flight.prediction : undefined;
    const source = p === undefined ? 'demand' : 'prefetch';
    if (outcome.from === 'l2') {
      const e = outcome.entry;
      this.#memory.set({ ...e, source, probability: p?.probability ?? 1, predictedBy: p?.source, predictedFor: p?.ctx, hits: 0 });
      return;
    }
    const { value, version } = outcome.record;
    const sizeBytes = this.#o.sizeOf(value, key);
    if (sizeBytes > this.#o.maxEntryBytes) {
      this.#oversize++;
      return;
    }
    const entry = this.#makeEntry(key, value, version, sizeBytes, source, p);
    this.#memory.set(entry);
    const l2 = this.#o.l2;
    if (l2 !== undefined) {
      // The shared tier is a copy; failing to write it never fails a read.
      void Promise.resolve()
        .then(() => l2.set(entry))
        .catch(() => {});
    }
  }

  #makeEntry(
    key: string,
    value: V,
    version: number,
    sizeBytes: number,
    source: 'demand' | 'prefetch',
    p?: { readonly probability: number; readonly source: string; readonly ctx: ReadContext },
    ttlMs = this.#o.ttlMs,
    tags: readonly string[] = [],
  ): Entry<V> {
    const now = this.#clock.now();
    const staleAfter = Math.min(this.#o.staleAfterMs, ttlMs);
    return {
      key,
      value,
      version,
      sizeBytes,
      createdAt: now,
      staleAt: now + staleAfter,
      expiresAt: now + ttlMs,
      source,
      probability: p?.probability ?? 1,
      tags,
      predictedFor: p?.ctx,
      predictedBy: p?.source,
      hits: 0,
    };
  }

  #refresh(key: string): void {
    if (this.#isClosed || this.#loader.flight(key) !== undefined) return;
    this.#refreshes++;
    this.#loader.load(key, 'demand');
  }

  #isPresent(key: string): boolean {
    if (this.#loader.flight(key) !== undefined) return true;
    const e = this.#memory.peek(key);
    return e !== undefined && this.#clock.now() < e.staleAt;
  }

  async #prefetchBatch(batch: readonly PrefetchRequest[]): Promise<{ failed: PrefetchRequest[] }> {
    const flights: Array<[PrefetchRequest, Flight<V>]> = [];
    for (const r of batch) {
      if (this.#isClosed || this.#loader.flight(r.key) !== undefined) continue;
      const flight = this.#loader.load(r.key, 'prefetch');
      flight.prediction = { probability: r.probability, source: r.source, ctx: r.ctx };
      flights.push([r, flight]);
    }
    const settled = await Promise.allSettled(flights.map(([, f]) => f.promise));
    const failed: PrefetchRequest[] = [];
    for (let i = 0; i < settled.length; i++) if (settled[i].status === 'rejected') failed.push(flights[i][0]);
    return { failed };
  }

  #record(key: string, ctx: ReadContext, now: number, status: ReadStatus): void {
    if (this.#predictor === undefined) return;
    this.#buffer.push(key, ctx, now, status);
    if (this.#drainTimer === undefined) this.#scheduleDrain();
  }

  #scheduleDrain(): void {
    if (this.#isClosed || this.#drainTimer !== undefined) return;
    this.#drainTimer = this.#clock.setTimer(0, () => {
      this.#drainTimer = undefined;
      this.#drain(maxDrainBatch);
    });
  }

  #drain(limit: number): void {
    const predictor = this.#predictor;
    if (predictor === undefined || this.#buffer.size === 0) return;
    const scheduler = this.#scheduler;
    const latest = new Map<string, ReadContext>();
    const drained = this.#buffer.drain((a) => {
      predictor.observe({ key: a.key, at: a.at, ctx: a.ctx });
      if (scheduler === undefined) return;
      const ctxKey = a.ctx.session ?? a.ctx.user ?? a.ctx.segment ?? '';
      latest.delete(ctxKey);
      latest.set(ctxKey, a.ctx);
    }, limit);
    if (this.#buffer.size > 0 && drained > 0) this.#scheduleDrain();
    if (scheduler === undefined || this.#isClosed) return;
    for (const ctx of latest.values()) scheduler.offer(ctx, predictor.predict(ctx, this.#o.predictLimit));
  }

  #used(entry: Entry<V>): void {
    this.#feedback.used(entry.key, entry.predictedBy);
    this.#scheduler?.onUsed();
    if (entry.predictedFor !== undefined) this.#predictor?.feedback?.(entry.key, entry.predictedFor, true);
  }

  #onRemoval(entry: Entry<V>, cause: RemovalCause): void {
    if (entry.source === 'prefetch' && entry.hits === 0 && (cause === 'evicted' || cause === 'expired' || cause === 'rejected')) {
      this.#feedback.wasted(entry.key, entry.sizeBytes, entry.predictedBy);
      if (entry.predictedFor !== undefined) this.#predictor?.feedback?.(entry.key, entry.predictedFor, false);
    }
  }

  #countBatch(keys: readonly string[], purpose: FetchPurpose, isOk: boolean): void {
    if (purpose === 'demand') {
      this.#origin.demandBatches++;
      this.#origin.demandKeys += keys.length;
      this.#scheduler?.onDemandFetch(keys.length);
    } else {
      this.#origin.prefetchBatches++;
      this.#origin.prefetchKeys += keys.length;
    }
    if (!isOk) {
      this.#origin.failedBatches++;
      if (this.#events.listenerCount('origin:failed') > 0) this.#events.emit('origin:failed', { keys, purpose });
    }
  }

  #checkKey(key: unknown): asserts key is string {
    if (typeof key !== 'string') throw new InvalidKeyError(key, 'expected a string');
    if (key.length === 0) throw new InvalidKeyError(key, 'expected a non-empty string');
    if (key.length > this.#o.maxKeyLength) throw new InvalidKeyError(key, `longer than ${this.#o.maxKeyLength} characters`);
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new PrescientError('ERR_CLOSED', 'The cache is closed');
  }
}
