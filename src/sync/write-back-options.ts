/**
 * The options, counters and events of a WriteBack, and the one place its options are checked.
 */
import { type Clock, systemClock } from '../clock.ts';
import { InvalidOptionError } from '../errors.ts';
import { fn, hasMethods, nonNegativeInt, positiveInt } from '../options.ts';
import type { Origin, OriginRecord } from '../origin/origin.ts';
import type { ConflictResolver } from './conflict.ts';
import type { Hlc } from './hlc.ts';

/**
 * Default `maxPendingBytes`: 256 MiB of journal records, minutes of writes at typical rates during an origin
 * outage, while keeping the decoded copies in memory well inside a default Node heap (about 2-4 GiB).
 */
export const DEFAULT_MAX_PENDING_BYTES = 256 * 1024 * 1024;

/**
 * Where acknowledged writes are also stored (the cache): `Cache` fits as is. Calls are not awaited; a `set` that
 * throws or rejects is followed by `delete(key, { maxVersion })`, so the target never keeps serving an older copy.
 */
export type WriteBackTarget<V> = {
  set(key: string, value: V, options: { readonly version: number }): unknown;
  /** Removes the copies of `key` up to `maxVersion` (a newer copy, written elsewhere, stays). */
  delete(key: string, options: { readonly maxVersion: number }): unknown;
};

/** A pino-compatible logger subset. */
export type WriteBackLogger = { warn(details: object, message: string): void };

export type WriteBackOptions<V> = {
  /** The store written to; must have `putMany` (idempotent upsert keeping the higher version). */
  readonly origin: Origin<V>;
  /** Journal directory (one WriteBack per directory). */
  readonly dir: string;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Version source. @default new Hlc({ clock }) */
  readonly hlc?: Hlc;
  /** Milliseconds between the first unflushed acknowledgement and the flush that sends it. @default 100 */
  readonly flushIntervalMs?: number;
  /** Most records per `putMany`; a flush starts early once this many are waiting. @default 500 */
  readonly maxBatch?: number;
  /** Merges a write into the origin's record instead of last-writer-wins (conflict.ts). */
  readonly resolver?: ConflictResolver<V>;
  /**
   * Receives each acknowledged write before `put` resolves: `set` with its version, or `delete` for a tombstone
   * and for every write when a `resolver` is set (the merged value is known only at flush time).
   */
  readonly target?: WriteBackTarget<V>;
  readonly logger?: WriteBackLogger;
  /** Journal group commit window in milliseconds (see JournalOptions: 0 measured best). @default 0 */
  readonly groupCommitMs?: number;
  /** @default 1 MiB */
  readonly maxGroupBytes?: number;
  /** @default 16 MiB */
  readonly segmentBytes?: number;
  /** First retry delay after a failed flush, doubled per failure. @default 100 */
  readonly retryBaseMs?: number;
  /** Longest retry delay. @default 30000 */
  readonly retryMaxMs?: number;
  /** `put` rejects with ERR_OVERLOADED while this many records wait for the origin. @default 1000000 */
  readonly maxPending?: number;
  /**
   * Bound on the memory held by writes waiting for the origin, in bytes of their journal records (the JSON of key,
   * value and version, counted from the moment the append is taken, so concurrent writes cannot overshoot it):
   * `put` and `delete` reject with ERR_OVERLOADED when their record would take the total past it. A record larger
   * than the bound is still taken when nothing else waits, so one big value is never refused for good.
   * The records are held in memory as decoded values, typically one to three times their JSON size.
   * @default 268435456 (256 MiB)
   */
  readonly maxPendingBytes?: number;
};

/** Counters of a WriteBack. */
export type WriteBackStats = {
  /** Acknowledged records not yet confirmed by the origin, and their distinct keys. */
  readonly pending: number;
  readonly pendingKeys: number;
  readonly journalBytes: number;
  readonly journalSyncs: number;
  readonly acked: number;
  /** Records replayed from the journal by `start()`. */
  readonly replayed: number;
  /** Records the origin confirmed, and the `putMany` batches that carried them. */
  readonly flushed: number;
  readonly batches: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  /** Bytes of the journal records of pending writes (see `maxPendingBytes`). */
  readonly pendingBytes: number;
  /**
   * Records the origin refused (ERR_INVALID_VALUE or ERR_VALUE_TOO_LARGE from `putMany`, e.g. a string PostgreSQL
   * jsonb cannot hold, a key too long for its index):
   * reported through 'write:rejected' and dropped from the journal, never retried.
   */
  readonly rejected: number;
  /**
   * Records the origin declined because it already held an equal or newer version (a write from another node got
   * there first): their copies here were dropped up to their version ('write:superseded').
   */
  readonly superseded: number;
  /** Milliseconds from acknowledging the oldest record of the last confirmed batch to its confirmation. */
  readonly lastFlushLagMs: number;
};

/**
 * Events of a WriteBack; listeners cost nothing when absent. A listener that throws is logged (`logger.warn`) and
 * otherwise ignored: it can never fail a write or stop the flusher.
 */
export type WriteBackEvents = {
  'write:acked': [{ readonly key: string; readonly version: number; readonly deleted: boolean }];
  /** A record `start()` took back from the journal: durable, maybe never acknowledged (the process died first). */
  'write:replayed': [{ readonly seq: number; readonly record: OriginRecord<unknown> }];
  'flush:done': [{ readonly records: number; readonly sent: number; readonly lagMs: number }];
  /**
   * The origin refused a record (ERR_INVALID_VALUE or ERR_VALUE_TOO_LARGE): it was set aside (not retried, trimmed from the journal, the
   * target's entry for the key deleted) and the rest of its batch flushed. `error` is the origin's error.
   */
  'write:rejected': [{ readonly key: string; readonly version: number; readonly deleted: boolean; readonly error: unknown }];
  /**
   * The origin declined a record: it held an equal or newer version (written elsewhere, or this record replayed
   * after it was applied). The target's copies of the key up to `version` were dropped, so reads fetch the origin's.
   */
  'write:superseded': [{ readonly key: string; readonly version: number; readonly deleted: boolean }];
  'flush:failed': [{ readonly error: unknown; readonly records: number; readonly attempt: number; readonly retryInMs: number }];
};

/** An origin with the write side WriteBack needs. */
export type WritableOrigin<V> = Origin<V> & Required<Pick<Origin<V>, 'putMany'>>;

/** WriteBackOptions with defaults applied, frozen. */
export type ResolvedWriteBackOptions<V> = {
  readonly origin: WritableOrigin<V>;
  readonly dir: string;
  readonly clock: Clock;
  readonly hlc: Hlc | undefined;
  readonly flushIntervalMs: number;
  readonly maxBatch: number;
  readonly resolver: ConflictResolver<V> | undefined;
  readonly target: WriteBackTarget<V> | undefined;
  readonly logger: WriteBackLogger | undefined;
  readonly groupCommitMs: number | undefined;
  readonly maxGroupBytes: number | undefined;
  readonly segmentBytes: number | undefined;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly maxPending: number;
  readonly maxPendingBytes: number;
};

/**
 * Applies defaults and checks every option (journal sizes are checked by the Journal).
 * @throws InvalidOptionError naming the option and the value
 */
export function resolveWriteBackOptions<V>(options: WriteBackOptions<V>): ResolvedWriteBackOptions<V> {
  const origin = hasMethods<WritableOrigin<V>>('origin', options?.origin, ['getMany', 'putMany']);
  const retryBaseMs = positiveInt('retryBaseMs', options.retryBaseMs, 100);
  const retryMaxMs = positiveInt('retryMaxMs', options.retryMaxMs, 30_000);
  if (retryMaxMs < retryBaseMs) throw new InvalidOptionError('retryMaxMs', `at least \`retryBaseMs\` (${retryBaseMs})`, retryMaxMs);
  if (typeof options.dir !== 'string' || options.dir === '') throw new InvalidOptionError('dir', 'a directory path', options.dir);
  return Object.freeze({
    origin,
    dir: options.dir,
    clock: options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']),
    hlc: options.hlc === undefined ? undefined : hasMethods<Hlc>('hlc', options.hlc, ['now', 'observe', 'observeTrusted']),
    flushIntervalMs: nonNegativeInt('flushIntervalMs', options.flushIntervalMs, 100),
    maxBatch: positiveInt('maxBatch', options.maxBatch, 500),
    resolver: options.resolver === undefined ? undefined : fn<ConflictResolver<V>>('resolver', options.resolver),
    target: options.target === undefined ? undefined : hasMethods<WriteBackTarget<V>>('target', options.target, ['set', 'delete']),
    logger: options.logger === undefined ? undefined : hasMethods<WriteBackLogger>('logger', options.logger, ['warn']),
    groupCommitMs: options.groupCommitMs,
    maxGroupBytes: options.maxGroupBytes,
    segmentBytes: options.segmentBytes,
    retryBaseMs,
    retryMaxMs,
    maxPending: positiveInt('maxPending', options.maxPending, 1_000_000),
    maxPendingBytes: positiveInt('maxPendingBytes', options.maxPendingBytes, DEFAULT_MAX_PENDING_BYTES),
  });
}
