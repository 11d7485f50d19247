/**
 * TieredOrigin: a live store first, an archive store for the keys the live one lacks (two tables, or two
 * databases), with per-store latency statistics.
 *
 * Why: hot data lives in a small fast table and cold data is moved to a cheaper archive, but a reader should
 * see one origin. A read asks the live store for every key in one call, then the archive for the keys still
 * missing in one more call, so a batch costs at most two round trips. A key the live store holds as a tombstone
 * is deleted and is not looked up in the archive (when the live store can report tombstones through
 * `getRecords`, as PostgresOrigin, PgliteOrigin and MapOrigin do). Writes and the change feed belong to the
 * live store only. Latencies go into a fixed-bucket histogram per store, so stats cost O(1) memory whatever
 * the traffic. An archive outage need not fail reads the live store can answer: `getManySettled` (which the
 * cache's loader prefers) answers a per-key OriginFailure for the keys that needed the archive instead of
 * rejecting the whole call, while `getMany` stays all-or-nothing for callers that expect that.
 */
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError, OriginError, PrescientError } from '../errors.ts';
import { hasMethods } from '../options.ts';
import { hasRecords, OriginFailure, type FetchOptions, type Origin, type OriginAnswer, type OriginRecord, type PutManyOutcome } from './origin.ts';

export type TieredOriginOptions<V> = {
  /** Asked first for every key; receives every write; source of `changes`. */
  readonly live: Origin<V>;
  /** Asked only for keys the live store lacks (and has no tombstone for). Read-only here. */
  readonly archive: Origin<V>;
  /** Time source for the latency statistics. @default systemClock */
  readonly clock?: Clock;
  /** Whether `close()` closes both stores. @default true */
  readonly closeStores?: boolean;
};

/** Latency and traffic of one store since the origin was built. Times in milliseconds. */
export type StoreStats = {
  /** getMany calls made to the store. */
  readonly calls: number;
  /** Calls that rejected. */
  readonly errors: number;
  /** Keys asked for. */
  readonly keys: number;
  /** Keys answered with a live record. */
  readonly found: number;
  /** Mean call latency (exact), 0 before the first call. */
  readonly meanMs: number;
  /** Median call latency, estimated as the upper bound of its histogram bucket (see BUCKET_BOUNDS_MS). */
  readonly p50Ms: number;
  /** 99th percentile call latency, estimated the same way. */
  readonly p99Ms: number;
};

/** Per-store statistics of a TieredOrigin. */
export type TieredOriginStats = { readonly live: StoreStats; readonly archive: StoreStats };

/**
 * Histogram bucket upper bounds in ms: roughly 1-2.5-5 steps from 50 µs (an in-process store) to 10 s (a
 * timed-out remote), so an estimated percentile is within a factor of 2.5 of the true one. Latencies above the
 * last bound count in an overflow bucket reported as the largest latency seen.
 */
const BUCKET_BOUNDS_MS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;

/** Counts and a fixed-bucket latency histogram for one store. */
class StoreMeter {
  calls = 0;
  errors = 0;
  keys = 0;
  found = 0;
  #sumMs = 0;
  #maxMs = 0;
  readonly #buckets = new Uint32Array(BUCKET_BOUNDS_MS.length + 1);

  record(ms: number): void {
    this.#sumMs += ms;
    if (ms > this.#maxMs) this.#maxMs = ms;
    let i = 0;
    while (i < BUCKET_BOUNDS_MS.length && ms > BUCKET_BOUNDS_MS[i]) i++;
    this.#buckets[i]++;
  }

  snapshot(): StoreStats {
    const timed = this.#buckets.reduce((n, c) => n + c, 0);
    return {
      calls: this.calls, errors: this.errors, keys: this.keys, found: this.found,
      meanMs: timed === 0 ? 0 : this.#sumMs / timed,
      p50Ms: this.#quantile(0.5, timed),
      p99Ms: this.#quantile(0.99, timed),
    };
  }

  #quantile(q: number, total: number): number {
    if (total === 0) return 0;
    const rank = Math.ceil(q * total);
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i];
      if (seen >= rank) return i < BUCKET_BOUNDS_MS.length ? Math.min(BUCKET_BOUNDS_MS[i], this.#maxMs) : this.#maxMs;
    }
    return this.#maxMs;
  }
}

/**
 * A live origin backed by an archive origin. `putMany` and `changes` exist only when the live store has them.
 * `getMany` rejects with the store's OriginError (or wraps a plain error in one, ERR_ORIGIN_FAILED) when either
 * store fails; `getManySettled` fails only the archive's keys when the archive fails; throws InvalidOptionError at construction when a store is not an origin.
 */
export class TieredOrigin<V = unknown> implements Origin<V> {
  /** Writes go to the live store (present when the live store can be written). */
  readonly putMany?: (records: readonly OriginRecord<V>[]) => Promise<PutManyOutcome | void>;
  /** `getMany` answering the live store's tombstones (present when the live store reports them: `getRecords`). */
  readonly getRecords?: (keys: readonly string[], options?: FetchOptions) => Promise<Array<OriginRecord<V> | undefined>>;
  /** `getManySettled` answering the live store's tombstones, likewise (see SettledRecordsOrigin). */
  readonly getRecordsSettled?: (keys: readonly string[], options?: FetchOptions) => Promise<Array<OriginAnswer<V>>>;
  /** Changes of the live store (present when the live store has a change feed). */
  readonly changes?: (sinceVersion: number, limit?: number) => Promise<OriginRecord<V>[]>;
  readonly #live: Origin<V>;
  readonly #archive: Origin<V>;
  readonly #clock: Clock;
  readonly #closeStores: boolean;
  readonly #liveMeter = new StoreMeter();
  readonly #archiveMeter = new StoreMeter();

  constructor(options: TieredOriginOptions<V>) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
    const live = hasMethods<Origin<V>>('live', options.live, ['getMany']);
    this.#live = live;
    this.#archive = hasMethods<Origin<V>>('archive', options.archive, ['getMany']);
    this.#clock = options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']);
    if (options.closeStores !== undefined && typeof options.closeStores !== 'boolean') {
      throw new InvalidOptionError('closeStores', 'a boolean', options.closeStores);
    }
    this.#closeStores = options.closeStores ?? true;
    if (typeof live.putMany === 'function') this.putMany = (records) => live.putMany!(records);
    if (hasRecords(live)) {
      this.getRecords = async (keys, fetch) => (await this.#read(keys, fetch, false, true)) as Array<OriginRecord<V> | undefined>;
      this.getRecordsSettled = (keys, fetch) => this.#read(keys, fetch, true, true);
    }
    const liveChanges = live.changes as ((since: number, limit?: number) => Promise<OriginRecord<V>[]>) | undefined;
    if (typeof liveChanges === 'function') this.changes = (since, limit) => liveChanges.call(live, since, limit);
  }

  /**
   * Records aligned with `keys`: the live store's, else the archive's; at most two round trips. All or nothing:
   * rejects when either store fails, even for keys the live store answered (see `getManySettled`).
   */
  async getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    return (await this.#read(keys, options, false)) as Array<OriginRecord<V> | undefined>;
  }

  /**
   * As `getMany`, but when the archive fails after the live store answered some keys of the call, each key that
   * needed the archive answers an OriginFailure carrying the archive's error and the live keys answer their
   * records, so an archive outage fails only archive reads. Rejects as a whole when the live store fails or when
   * no key of the call was answered by the live store.
   */
  async getManySettled(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginAnswer<V>>> {
    return this.#read(keys, options, true);
  }

  /** `withTombstones`: a key the live store holds as deleted answers its tombstone rather than undefined. */
  async #read(keys: readonly string[], options: FetchOptions | undefined, isSettled: boolean, withTombstones = false): Promise<Array<OriginAnswer<V>>> {
    if (keys.length === 0) return [];
    const live = this.#live;
    const fromLive = await this.#timed(this.#liveMeter, keys, () => (hasRecords(live) ? live.getRecords(keys, options) : live.getMany(keys, options)));
    const answers: Array<OriginAnswer<V>> = new Array(keys.length);
    const missing: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const record = fromLive[i];
      if (record === undefined) missing.push(keys[i]);
      else answers[i] = record.deleted === true && !withTombstones ? undefined : record;
    }
    if (missing.length === 0) return answers;
    const unique = [...new Set(missing)];
    let fromArchive: Array<OriginRecord<V> | undefined>;
    try {
      fromArchive = await this.#timed(this.#archiveMeter, unique, () => this.#archive.getMany(unique, options));
    } catch (error) {
      if (!isSettled || missing.length === keys.length) throw error;
      const failure = new OriginFailure(error instanceof PrescientError ? error : new OriginError(unique, error));
      for (let i = 0; i < keys.length; i++) if (fromLive[i] === undefined) answers[i] = failure;
      return answers;
    }
    const archived = new Map<string, OriginRecord<V>>();
    unique.forEach((key, i) => {
      const record = fromArchive[i];
      if (record !== undefined && record.deleted !== true) archived.set(key, record);
    });
    for (let i = 0; i < keys.length; i++) {
      if (fromLive[i] === undefined) answers[i] = archived.get(keys[i]);
    }
    return answers;
  }

  /** Per-store call counts and latency (count, mean, p50, p99). */
  stats(): TieredOriginStats {
    return { live: this.#liveMeter.snapshot(), archive: this.#archiveMeter.snapshot() };
  }

  /** Closes both stores unless `closeStores` is false. */
  async close(): Promise<void> {
    if (!this.#closeStores) return;
    await Promise.all([this.#live.close?.(), this.#archive.close?.()]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #timed(
    meter: StoreMeter,
    keys: readonly string[],
    call: () => Promise<Array<OriginRecord<V> | undefined>>,
  ): Promise<Array<OriginRecord<V> | undefined>> {
    const started = this.#clock.now();
    meter.calls++;
    meter.keys += keys.length;
    try {
      const answered = await call();
      if (!Array.isArray(answered) || answered.length !== keys.length) {
        throw new OriginError(keys, new Error(`A store answered ${Array.isArray(answered) ? answered.length : 'no array of'} records for ${keys.length} keys`));
      }
      // null for "no such key" is read as undefined, as the cache's loader reads it from a plain origin.
      const records = answered.includes(null as never) ? answered.map((r) => r ?? undefined) : answered;
      // A store that answers out of order would serve one key's record under another's.
      for (let i = 0; i < keys.length; i++) {
        const key = records[i]?.key;
        if (key !== undefined && key !== keys[i]) throw new OriginError(keys, new Error(`A store answered key ${JSON.stringify(key)} where ${JSON.stringify(keys[i])} was asked`));
      }
      for (const r of records) if (r !== undefined && r.deleted !== true) meter.found++;
      return records;
    } catch (error) {
      meter.errors++;
      throw error instanceof PrescientError ? error : new OriginError(keys, error);
    } finally {
      meter.record(this.#clock.now() - started);
    }
  }
}
