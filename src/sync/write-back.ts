/**
 * WriteBack: acknowledge writes once they are durable on local disk, write them to the origin in batches later.
 *
 * Why: an origin write costs a network round trip and a transaction; a journal append costs a share of one
 * fsync. Acknowledging after the journal and flushing in batches cuts write latency and origin load, at the price
 * of a window in which the newest value lives only here. The design keeps that window safe:
 * - a write is acknowledged only after its record is fsynced (Journal, group commit), and becomes visible to
 *   reads (`reader`) and to the flusher only then, so nothing unacknowledged is served or flushed;
 * - the flusher sends records in journal order and trims the journal only up to what the origin confirmed; on an
 *   origin failure it keeps everything and retries with exponential backoff on the Clock;
 * - a record the origin refuses as such (ERR_INVALID_VALUE, e.g. a string PostgreSQL jsonb cannot hold or a key too
 *   long for its index) would fail every retry and block every later write behind it, so it is not retried: the
 *   batch is split in halves (further, when it is refused as a whole) until the refused records are found
 *   (split-refused.ts), those are reported ('write:rejected', `stats().rejected`, a warning) and
 *   trimmed like flushed ones, and the rest is flushed. A write the origin refuses is reported, not retried;
 * - pending writes are bounded in count (`maxPending`) and bytes (`maxPendingBytes`): past either, writes are
 *   refused with ERR_OVERLOADED instead of growing memory through a long origin outage;
 * - `start()` replays whatever the journal holds beyond the last confirmation. Re-sending is safe because
 *   `putMany` is an idempotent upsert keeping the higher version (and resolvers skip applied versions, conflict.ts).
 * Versions come from a hybrid logical clock (hlc.ts), so last-writer-wins follows real time across restarts.
 */
import { EventEmitter } from 'node:events';
import { type Clock, flushMicrotasks, type TimerHandle } from '../clock.ts';
import { InvalidKeyError, PrescientError } from '../errors.ts';
import { type FetchOptions, type Origin, type OriginAnswer, type OriginRecord } from '../origin/origin.ts';
import { applyToTarget } from './apply-to-target.ts';
import type { ConflictResolver } from './conflict.ts';
import { Hlc } from './hlc.ts';
import { Journal } from './journal.ts';
import { RefusedVersions } from './refused-versions.ts';
import { splitRefused } from './split-refused.ts';
import { sendWriteBatch } from './write-batch.ts';
import { decodeWriteRecord, encodeWriteRecord } from './write-back-record.ts';
import { readThrough } from './write-back-reader.ts';
import { unusableError, type WriteBackState } from './write-back-state.ts';
import {
  resolveWriteBackOptions,
  type ResolvedWriteBackOptions,
  type WritableOrigin,
  type WriteBackEvents,
  type WriteBackLogger,
  type WriteBackOptions,
  type WriteBackStats,
  type WriteBackTarget,
} from './write-back-options.ts';

export type { WriteBackEvents, WriteBackLogger, WriteBackOptions, WriteBackStats, WriteBackTarget } from './write-back-options.ts';

/** An acknowledged write waiting for the origin; `bytes` is its journal record's length (`maxPendingBytes`). */
type Pending<V> = { readonly seq: number; readonly record: OriginRecord<V>; readonly ackedAt: number; readonly bytes: number };

/** A write-back buffer in front of an origin. `start()` it before use; `close()` it to flush and release files. */
export class WriteBack<V = unknown> {
  readonly #origin: WritableOrigin<V>;
  readonly #clock: Clock;
  readonly #hlc: Hlc;
  readonly #journal: Journal;
  readonly #o: ResolvedWriteBackOptions<V>;
  readonly #resolver: ConflictResolver<V> | undefined;
  readonly #target: WriteBackTarget<V> | undefined;
  readonly #logger: WriteBackLogger | undefined;
  readonly #events = new EventEmitter();
  #pending: Array<Pending<V>> = [];
  readonly #byKey = new Map<string, Array<Pending<V>>>();
  #state: WriteBackState = 'new';
  /** Why `start()` failed (it then closed this instance), for the errors of later calls. */
  #startFailure: unknown;
  /** Merges origin versions into the Hlc; knows the keys whose version it refused, so writes below it are refused. */
  readonly #refused: RefusedVersions;
  #timer: TimerHandle | undefined;
  #flushing: Promise<boolean> | undefined;
  #lastError: unknown;
  #reader: Origin<V> | undefined;
  /** Bytes of pending records, plus appends under way (reserved when taken, so concurrent writes cannot overshoot). */
  #pendingBytes = 0;
  /** Appends under way: counted against `maxPending` from the call, so concurrent writes cannot overshoot it. */
  #appending = 0;
  #s = { acked: 0, replayed: 0, flushed: 0, batches: 0, failures: 0, consecutiveFailures: 0, rejected: 0, superseded: 0, lastFlushLagMs: 0 };

  /** @throws InvalidOptionError naming the option, for a missing origin or `putMany`, a bad number or collaborator */
  constructor(options: WriteBackOptions<V>) {
    const o = resolveWriteBackOptions(options);
    this.#origin = o.origin;
    this.#clock = o.clock;
    this.#hlc = o.hlc ?? new Hlc({ clock: o.clock });
    this.#o = o;
    this.#resolver = o.resolver;
    this.#target = o.target;
    this.#logger = o.logger;
    this.#refused = new RefusedVersions(this.#hlc, o.logger);
    this.#journal = new Journal({ dir: o.dir, clock: o.clock, groupCommitMs: o.groupCommitMs, maxGroupBytes: o.maxGroupBytes, segmentBytes: o.segmentBytes });
  }

  /**
   * Opens the journal and takes back every record the origin has not confirmed: reads see them at once, `target`
   * gets the latest per key (as a put would) and a flush starts. Later writes get versions above every version
   * journaled before, flushed ones included, however far the wall clock stepped back meanwhile (the journal's
   * versions are this node's own: `Hlc.observeTrusted`). Resolves with the number of records replayed.
   * A start that fails closes the instance (releasing the directory): create a new WriteBack to try again.
   * @throws PrescientError ERR_JOURNAL_CORRUPT / ERR_JOURNAL_FAILED (journal.ts); ERR_INVALID_CONFIG when called
   *   twice; ERR_CLOSED after `close()` or after a failed start (the failure as `cause`)
   */
  async start(): Promise<number> {
    if (this.#state !== 'new') throw unusableError(this.#state, true, this.#startFailure);
    this.#state = 'starting';
    try {
      return await this.#replay();
    } catch (error) {
      this.#startFailure = error;
      this.#pending = [];
      this.#byKey.clear();
      this.#pendingBytes = 0;
      await this.#journal.close().catch(() => undefined);
      this.#state = 'closed';
      throw error;
    }
  }

  async #replay(): Promise<number> {
    const frames = await this.#journal.open();
    // Records already flushed and trimmed are not replayed: the checkpoint's version keeps a clock that reads
    // earlier after the restart from giving a new write a lower version than one the origin already holds.
    this.#hlc.observeTrusted(this.#journal.confirmedVersion);
    const now = this.#clock.now();
    for (const frame of frames) {
      const record = decodeWriteRecord<V>(frame);
      this.#hlc.observeTrusted(record.version);
      this.#add({ seq: frame.seq, record, ackedAt: now, bytes: frame.payload.length });
      this.#pendingBytes += frame.payload.length;
      this.#emit('write:replayed', { seq: frame.seq, record });
    }
    this.#s.replayed = frames.length;
    const aheadMs = this.#hlc.trustedAheadMs?.() ?? 0;
    if (aheadMs > 60_000) this.#logger?.warn({ aheadMs }, 'write-back: the journal holds versions ahead of the clock (stepped back?); new writes take versions above them');
    // The process may have died before its target (a shared tier) took a write: it gets the latest one per key again.
    for (const list of this.#byKey.values()) this.#apply(list[list.length - 1].record);
    this.#state = 'open';
    if (this.#pending.length > 0) this.#arm(0);
    return frames.length;
  }

  /**
   * Writes `value` under `key`: resolves once the write is fsynced to the journal, with the version it got. Reads
   * and `target` get the value as parsed back from its journal record, as a replay would, not `value` itself.
   * @throws InvalidKeyError for an empty or non-string key; PrescientError ERR_INVALID_VALUE for a value that
   *   would not come back from JSON unchanged (NaN, a Date, a Map...: write-back-record.ts; a property holding undefined is left out);
   *   ValueTooLargeError (ERR_VALUE_TOO_LARGE) for a record over the journal's 64 MiB frame limit; ERR_NOT_READY
   *   before `start()`; ERR_CLOSED after `close()` or a failed start; ERR_OVERLOADED past `maxPending` or
   *   `maxPendingBytes`; ERR_JOURNAL_FAILED when the journal cannot be written; ERR_CLOCK_DRIFT when the Hlc gives
   *   no version (hlc.ts), or when `reader` saw the origin hold a version of `key` the Hlc refused as too far ahead,
   *   above this write's: it would lose at flush, so it is refused, not acknowledged (refused-versions.ts)
   */
  put(key: string, value: V): Promise<{ readonly key: string; readonly version: number }> {
    return this.#write(key, value, false);
  }

  /** Deletes `key`: journals a tombstone, which the origin keeps so older writes arriving late still lose. Throws as `put`. */
  delete(key: string): Promise<{ readonly key: string; readonly version: number }> {
    return this.#write(key, undefined as V, true);
  }

  async #write(key: string, value: V, deleted: boolean): Promise<{ readonly key: string; readonly version: number }> {
    if (this.#state !== 'open') throw unusableError(this.#state, false, this.#startFailure);
    if (typeof key !== 'string' || key === '') throw new InvalidKeyError(key, 'expected a non-empty string');
    if (this.#pending.length + this.#appending >= this.#o.maxPending) {
      throw new PrescientError('ERR_OVERLOADED', `${this.#pending.length + this.#appending} writes wait for the origin (\`maxPending\` ${this.#o.maxPending})`);
    }
    const version = this.#hlc.now();
    this.#refused.check(key, version);
    const { payload, value: journaled } = encodeWriteRecord(key, value, version, deleted);
    const bytes = payload.length;
    if (this.#pendingBytes > 0 && this.#pendingBytes + bytes > this.#o.maxPendingBytes) {
      throw new PrescientError('ERR_OVERLOADED', `${this.#pendingBytes} bytes of writes wait for the origin (\`maxPendingBytes\` ${this.#o.maxPendingBytes})`);
    }
    this.#pendingBytes += bytes;
    this.#appending++;
    let seq: number;
    try {
      seq = await this.#journal.append(payload);
    } catch (error) {
      this.#pendingBytes -= bytes;
      throw error;
    } finally {
      this.#appending--;
    }
    const record: OriginRecord<V> = deleted ? { key, value: undefined as V, version, deleted } : { key, value: journaled as V, version };
    this.#add({ seq, record, ackedAt: this.#clock.now(), bytes });
    this.#s.acked++;
    this.#apply(record);
    this.#emit('write:acked', { key, version, deleted });
    if (this.#flushing === undefined) {
      const isFull = this.#pending.length === this.#o.maxBatch && this.#s.consecutiveFailures === 0;
      if (isFull || this.#timer === undefined) this.#arm(isFull ? 0 : this.#o.flushIntervalMs);
    }
    return { key, version };
  }

  /**
   * Sends every acknowledged record to the origin now (joining a flush under way).
   * @throws PrescientError ERR_WRITE_FAILED (cause: the origin's error) when the origin fails; the records stay
   *   journaled and the background flusher keeps retrying
   */
  async flush(): Promise<void> {
    if (this.#state === 'new' || this.#state === 'starting') throw new PrescientError('ERR_NOT_READY', 'WriteBack is not started');
    await this.#journal.settle();
    await flushMicrotasks();
    if (!(await this.#runFlush())) {
      throw new PrescientError('ERR_WRITE_FAILED', `Flush failed, ${this.#pending.length} records kept for retry`, { cause: this.#lastError });
    }
  }

  /**
   * Stops taking writes, waits for journal appends under way, tries one last flush (records it cannot send stay
   * journaled for the next start) and closes the journal. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closing';
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    if (wasOpen) {
      await this.#journal.settle();
      await flushMicrotasks();
      if (!(await this.#runFlush())) this.#logger?.warn({ pending: this.#pending.length, err: this.#lastError }, 'write-back: closing with unflushed records; they will be replayed on start');
    }
    await this.#journal.close();
    this.#state = 'closed';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * An Origin that answers acknowledged, unflushed writes from memory (a tombstone as absent) and asks the real
   * origin for other keys; with a resolver, the origin's record merged with the pending writes. Build the cache
   * on it (`new Cache({ origin: wb.reader })`) so no read returns a value older than an acknowledged write.
   * Versions it reads are merged into the Hlc, so a later write always gets a higher version. It has
   * `getManySettled` when the origin has one, passing the origin's per-key OriginFailure answers through.
   */
  get reader(): Origin<V> {
    const settled = typeof this.#origin.getManySettled === 'function' ? { getManySettled: (keys: readonly string[], options?: FetchOptions) => this.#read(keys, options, true) } : {};
    this.#reader ??= { getMany: (keys, options) => this.#read(keys, options, false) as Promise<Array<OriginRecord<V> | undefined>>, ...settled };
    return this.#reader;
  }

  /** The latest acknowledged, unflushed record for `key`, or undefined. */
  pendingRecord(key: string): OriginRecord<V> | undefined {
    return this.#byKey.get(key)?.at(-1)?.record;
  }

  stats(): WriteBackStats {
    const journal = { journalBytes: this.#journal.bytes, journalSyncs: this.#journal.syncs };
    return { ...this.#s, ...journal, pending: this.#pending.length, pendingKeys: this.#byKey.size, pendingBytes: this.#pendingBytes };
  }

  /** Subscribes to an event. A listener that throws is logged and ignored (it cannot fail a write or a flush). */
  on<E extends keyof WriteBackEvents>(event: E, listener: (...args: WriteBackEvents[E]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof WriteBackEvents>(event: E, listener: (...args: WriteBackEvents[E]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  #read(keys: readonly string[], options: FetchOptions | undefined, isSettled: boolean): Promise<Array<OriginAnswer<V>>> {
    const pending = (key: string): readonly OriginRecord<V>[] => (this.#byKey.get(key) ?? []).map((p) => p.record);
    return readThrough({ origin: this.#origin, keys, options, isSettled, pending, resolver: this.#resolver, observe: (v, key) => this.#refused.observe(v, key), clock: this.#clock });
  }

  #add(p: Pending<V>): void {
    const last = this.#pending.at(-1);
    if (last === undefined || last.seq < p.seq) this.#pending.push(p);
    else this.#pending.splice(this.#pending.findIndex((q) => q.seq > p.seq), 0, p);
    const list = this.#byKey.get(p.record.key);
    if (list === undefined) this.#byKey.set(p.record.key, [p]);
    else list.push(p);
  }

  /** Hands `record` to the target (apply-to-target.ts). */
  #apply(record: OriginRecord<V>): void {
    if (this.#target !== undefined) applyToTarget(this.#target, record, this.#resolver !== undefined, this.#logger);
  }

  #arm(ms: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = this.#clock.setTimer(ms, () => {
      this.#timer = undefined;
      void this.#runFlush();
    });
  }

  #retryDelayMs(): number {
    return Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** Math.min(30, this.#s.consecutiveFailures - 1));
  }

  /** Single-flight flush loop; resolves false when the origin failed (records kept). Never rejects. */
  #runFlush(): Promise<boolean> {
    this.#flushing ??= this.#flushAll().then((ok) => {
      this.#flushing = undefined;
      if (this.#state === 'open' && this.#pending.length > 0 && this.#timer === undefined) {
        this.#arm(!ok ? this.#retryDelayMs() : this.#pending.length >= this.#o.maxBatch ? 0 : this.#o.flushIntervalMs);
      }
      return ok;
    });
    return this.#flushing;
  }

  async #flushAll(): Promise<boolean> {
    while (this.#pending.length > 0) {
      try {
        await splitRefused(
          this.#pending.slice(0, this.#o.maxBatch),
          async (part) => this.#confirmed(part, await this.#send(part)),
          (p, error) => this.#rejected(p, error),
        );
      } catch (error) {
        this.#lastError = error;
        this.#s.failures++;
        this.#s.consecutiveFailures++;
        const retryInMs = this.#retryDelayMs();
        this.#logger?.warn({ err: error, records: this.#pending.length, retryInMs }, 'write-back: flush failed, records kept');
        this.#emit('flush:failed', { error, records: this.#pending.length, attempt: this.#s.consecutiveFailures, retryInMs });
        return false;
      }
    }
    return true;
  }

  /**
   * Writes one batch to the origin (merged per key); returns the number of records sent. A record the origin
   * declined (it holds an equal or newer version, written elsewhere) has its copies here dropped up to its version,
   * so the next read fetches the origin's: last writer wins by version on this node too.
   */
  async #send(batch: ReadonlyArray<Pending<V>>): Promise<number> {
    const { sent, declined } = await sendWriteBatch(this.#origin, this.#resolver, batch.map((p) => p.record), (v, key) => this.#refused.observe(v, key));
    for (const { key, version, deleted } of declined) {
      this.#s.superseded++;
      if (this.#target !== undefined) this.#apply({ key, value: undefined as V, version, deleted: true });
      this.#emit('write:superseded', { key, version, deleted: deleted === true });
    }
    // Why they lost: a version the Hlc refuses (a writer with a fast clock) makes the next writes to them refused.
    if (declined.length > 0) await this.#refused.learn(this.#origin, declined.map((r) => r.key));
    return sent;
  }

  #confirmed(batch: ReadonlyArray<Pending<V>>, sent: number): void {
    this.#settle(batch);
    const lagMs = this.#clock.now() - batch[0].ackedAt;
    this.#s.flushed += batch.length;
    this.#s.batches++;
    this.#s.consecutiveFailures = 0;
    this.#s.lastFlushLagMs = lagMs;
    this.#emit('flush:done', { records: batch.length, sent, lagMs });
  }

  /** Sets aside a record the origin refused: reported, its target entry deleted, trimmed, never retried. */
  #rejected(p: Pending<V>, error: unknown): void {
    this.#settle([p]);
    this.#s.rejected++;
    const { key, version } = p.record;
    const deleted = p.record.deleted === true;
    this.#logger?.warn({ err: error, key, version, deleted }, 'write-back: the origin refused a write; it is dropped, not retried');
    if (this.#target !== undefined) this.#apply({ key, value: undefined as V, version, deleted: true });
    this.#emit('write:rejected', { key, version, deleted, error });
  }

  /** Removes `batch` (a prefix of the pending records) from memory and trims the journal up to its last record. */
  #settle(batch: ReadonlyArray<Pending<V>>): void {
    const upTo = batch[batch.length - 1].seq;
    if (this.#pending[batch.length - 1] === batch[batch.length - 1]) this.#pending.splice(0, batch.length);
    else this.#pending = this.#pending.filter((p) => p.seq > upTo);
    for (const { record } of batch) {
      const list = this.#byKey.get(record.key);
      if (list === undefined) continue;
      let n = 0;
      while (n < list.length && list[n].seq <= upTo) n++;
      if (n === list.length) this.#byKey.delete(record.key);
      else if (n > 0) list.splice(0, n);
    }
    for (const p of batch) this.#pendingBytes -= p.bytes;
    this.#journal.confirm(upTo, this.#hlc.last).catch((error: unknown) => {
      this.#logger?.warn({ err: error, seq: upTo }, 'write-back: journal checkpoint failed; confirmed records will be re-sent on restart');
    });
  }

  /** Emits `event` when someone listens; a listener that throws is logged, never propagated. */
  #emit<E extends keyof WriteBackEvents>(event: E, ...args: WriteBackEvents[E]): void {
    if (this.#events.listenerCount(event) === 0) return;
    try {
      this.#events.emit(event, ...args);
    } catch (error) {
      this.#logger?.warn({ err: error, event }, 'write-back: an event listener threw');
    }
  }
}
