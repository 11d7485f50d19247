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
 * rejecting the whole call, while `getMany` stays all-or-nothing for callers that expect that. A slow or hung
 * archive is an outage too: its call has a deadline (`archiveTimeoutMs`), past which it is aborted and its keys fail
 * with ERR_ORIGIN_TIMEOUT, so a live key never waits on the archive longer than that. Each store's answer is checked
 * (check-answer.ts) before it is used: a record for another key or with a bad version fails that key only.
 */
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError, OriginError, PrescientError } from '../errors.ts';
import { hasMethods, nonNegativeInt } from '../options.ts';
import { checkAnswers, rejectFailures, type TombstoneReading } from './check-answer.ts';
import { withDeadline } from './deadline.ts';
import { hasRecords, isOriginFailure, OriginFailure, type FetchOptions, type Origin, type OriginAnswer, type OriginRecord, type PutManyOutcome } from './origin.ts';

export type TieredOriginOptions<V> = {
  /** Asked first for every key; receives every write; source of `changes`. */
  readonly live: Origin<V>;
  /** Asked only for keys the live store lacks (and has no tombstone for). Read-only here. */
  readonly archive: Origin<V>;
  /** Time source for the latency statistics and the archive's deadline. @default systemClock */
  readonly clock?: Clock;
  /**
   * How long, in ms, a read waits for the archive before its archive keys fail with ERR_ORIGIN_TIMEOUT (the live
   * keys of the same `getManySettled` call are answered; `getMany` rejects). The archive call is aborted through
   * its `signal`. 0 means no deadline. @default 2000 (see DEFAULT_ARCHIVE_TIMEOUT_MS)
   */
  readonly archiveTimeoutMs?: number;
  /** Whether `close()` closes both stores. @default true */
  readonly closeStores?: boolean;
};

/** Latency and traffic of one store since the origin was built. Times in milliseconds. */
export type StoreStats = {
  /** getMany calls made to the store. */
  readonly calls: number;
  /** Calls that failed: rejected, timed out, or answered something that is not a record for some key asked. */
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

/**
 * The archive's default deadline, in ms. An archive read is one indexed batch lookup: tens of ms when healthy, so
 * 2 s is far past a healthy p99 and is reached only when the archive is overloaded or gone. It is also well inside
 * what a reader is waiting on: the server's default request deadline (10 s, `limits.requestTimeoutMs`) and
 * HttpOrigin's default `timeoutMs` (5 s), so live keys batched with a cold key are still answered in time, and it
 * matches the readiness probe's 2 s bound for "the origin is not answering". An archive on slower storage can raise it.
 */
const DEFAULT_ARCHIVE_TIMEOUT_MS = 2000;

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
 * store fails, times out or answers a malformed record (ERR_ORIGIN_TIMEOUT when the archive passed
 * `archiveTimeoutMs`); `getManySettled` fails only the archive's keys when the archive fails or times out, and only
 * the key of a malformed record. Throws InvalidOptionError at construction when a store is not an origin or an
 * option is out of range.
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
  readonly #archiveTimeoutMs: number;
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
    this.#archiveTimeoutMs = nonNegativeInt('archiveTimeoutMs', options.archiveTimeoutMs, DEFAULT_ARCHIVE_TIMEOUT_MS);
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
   * rejects when either store fails, even for keys the live store answered (see `getManySettled`). A timed-out
   * archive rejects it with ERR_ORIGIN_TIMEOUT: an archive key has no answer to give, and undefined would say the
   * key does not exist (a cache would drop its copy and remember the key as absent).
   */
  async getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    return (await this.#read(keys, options, false)) as Array<OriginRecord<V> | undefined>;
  }

  /**
   * As `getMany`, but when the archive fails or passes `archiveTimeoutMs` after the live store answered some keys of
   * the call, each key that needed the archive answers an OriginFailure carrying the archive's error
   * (ERR_ORIGIN_TIMEOUT for a deadline) and the live keys answer their records, so an archive outage fails only
   * archive reads; a malformed record fails only its key, likewise. Rejects as a whole when the live store fails or
   * when no key of the call was answered by the live store.
   */
  async getManySettled(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginAnswer<V>>> {
    return this.#read(keys, options, true);
  }

  /** `withTombstones`: a key the live store holds as deleted answers its tombstone rather than undefined. */
  async #read(keys: readonly string[], options: FetchOptions | undefined, isSettled: boolean, withTombstones = false): Promise<Array<OriginAnswer<V>>> {
    if (keys.length === 0) return [];
    const live = this.#live;
    const fromLive = await this.#timed(this.#liveMeter, keys, 'keep', () => (hasRecords(live) ? live.getRecords(keys, options) : live.getMany(keys, options)));
    if (!isSettled) rejectFailures(keys, fromLive);
    const answers: Array<OriginAnswer<V>> = new Array(keys.length);
    const missing: string[] = [];
    let answeredLive = 0;
    for (let i = 0; i < keys.length; i++) {
      const record = fromLive[i];
      if (record === undefined) missing.push(keys[i]);
      else if (isOriginFailure(record)) answers[i] = record;
      else {
        answers[i] = record.deleted === true && !withTombstones ? undefined : record;
        answeredLive++;
      }
    }
    if (missing.length === 0) return answers;
    const unique = [...new Set(missing)];
    let fromArchive: Array<OriginAnswer<V>>;
    try {
      const archive = (signal: AbortSignal | undefined) => this.#archive.getMany(unique, signal === undefined ? options : { ...options, signal });
      fromArchive = await this.#timed(this.#archiveMeter, unique, 'absent', archive, this.#archiveTimeoutMs, options?.signal);
    } catch (error) {
      if (!isSettled || answeredLive === 0) throw error;
      const failure = new OriginFailure(error instanceof PrescientError ? error : new OriginError(unique, error));
      for (let i = 0; i < keys.length; i++) if (fromLive[i] === undefined) answers[i] = failure;
      return answers;
    }
    if (!isSettled) rejectFailures(unique, fromArchive);
    const archived = new Map<string, OriginAnswer<V>>();
    for (let i = 0; i < unique.length; i++) archived.set(unique[i], fromArchive[i]);
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

  /**
   * One store call, metered and checked (check-answer.ts, tombstones read as `tombstones` says). With `timeoutMs`
   * above 0 the call gets a signal that aborts once the deadline passes (a store that honours it, as PostgresOrigin
   * and HttpOrigin do, stops its query rather than leave one more hung statement per batch), and the wait ends then
   * with ERR_ORIGIN_TIMEOUT; the caller's own signal still aborts it too.
   */
  async #timed(
    meter: StoreMeter,
    keys: readonly string[],
    tombstones: TombstoneReading,
    call: (signal: AbortSignal | undefined) => Promise<Array<OriginRecord<V> | undefined>>,
    timeoutMs = 0,
    outer?: AbortSignal,
  ): Promise<Array<OriginAnswer<V>>> {
    const started = this.#clock.now();
    meter.calls++;
    meter.keys += keys.length;
    try {
      const answered = timeoutMs > 0 ? await this.#bounded(keys, timeoutMs, outer, call) : await call(undefined);
      const { answers, failures } = checkAnswers<V>(keys, answered, tombstones);
      if (failures > 0) meter.errors++;
      for (const r of answers) if (r !== undefined && (failures === 0 || !isOriginFailure(r)) && (r as OriginRecord<V>).deleted !== true) meter.found++;
      return answers;
    } catch (error) {
      meter.errors++;
      throw error instanceof PrescientError ? error : new OriginError(keys, error);
    } finally {
      meter.record(this.#clock.now() - started);
    }
  }

  /**
   * `call` raced against `timeoutMs` on the clock, given a signal that aborts when the deadline wins or when `outer`
   * (the caller's signal) aborts.
   */
  async #bounded(
    keys: readonly string[],
    timeoutMs: number,
    outer: AbortSignal | undefined,
    call: (signal: AbortSignal) => Promise<Array<OriginRecord<V> | undefined>>,
  ): Promise<Array<OriginRecord<V> | undefined>> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(outer?.reason);
    if (outer?.aborted === true) onAbort();
    else outer?.addEventListener('abort', onAbort, { once: true });
    try {
      // Called inside a promise so that a store throwing synchronously still clears the deadline and the listener.
      const work = Promise.resolve().then(() => call(controller.signal));
      return await withDeadline(this.#clock, timeoutMs, work, () => {
        const error = new OriginError(keys, new PrescientError('ERR_TIMEOUT', `No answer from the archive within archiveTimeoutMs ${timeoutMs}`), 'ERR_ORIGIN_TIMEOUT');
        controller.abort(error);
        return error;
      });
    } finally {
      outer?.removeEventListener('abort', onAbort);
    }
  }
}
