/**
 * The read side of write-back: a key with acknowledged, unflushed writes answers the newer of its latest write and
 * the origin's record (a tombstone as absent); with a resolver, the origin's record merged with every pending write.
 * The origin is asked for those keys too, because another node may have flushed a later version of the key: a newer
 * record there wins (last writer by version), where answering the pending write alone served this node's older value
 * until its TTL (its own flush is then declined by the origin and no change notice follows). While the origin fails,
 * the pending write answers for its key, as it did without asking. Versions read from the origin are reported
 * (`observe`, with their key), so the HLC stays ahead of them, or the key is known to hold one it refused.
 * The pending writes are taken when the read starts and again when the origin answers, and both are laid over the
 * answer: a flush that commits while the origin reads (its snapshot older than the flush) drops the writes from the
 * pending list, and laying only the later list over the origin's older answer served the value before an
 * acknowledged write, or a 404 after the 100 ms fallback (a hunt found both).
 */
import type { Clock, TimerHandle } from '../clock.ts';
import { checkAnswers, rejectFailures } from '../origin/check-answer.ts';
import { hasRecords, hasSettledRecords, isOriginFailure, type FetchOptions, type Origin, type OriginAnswer, type OriginRecord } from '../origin/origin.ts';
import type { ConflictResolver } from './conflict.ts';
import { newer } from './write-back-record.ts';

export type ReadThrough<V> = {
  readonly origin: Origin<V>;
  readonly keys: readonly string[];
  readonly options: FetchOptions | undefined;
  /** Ask the origin's `getManySettled` (per-key failures pass through) instead of `getMany`. */
  readonly isSettled: boolean;
  /** The pending writes of `key`, oldest first. */
  readonly pending: (key: string) => readonly OriginRecord<V>[];
  readonly resolver: ConflictResolver<V> | undefined;
  /** Hears the version the origin answered for `key`. */
  readonly observe: (version: number, key: string) => void;
  /** Times the wait for the origin when every key has a pending write (`pendingWaitMs`). */
  readonly clock: Clock;
};

/**
 * Longest wait for the origin, in ms, when every key asked has a pending write: past it the pending writes answer
 * alone, so a slow or hanging origin does not slow the reads of what was just written (what write-back is for); a
 * newer version another node flushed is then seen on the next read, or when its change notice arrives.
 */
export const pendingWaitMs = 100;

/** Answers aligned with `keys`. Rejects when the origin does, unless every key has a pending write to answer with. */
export async function readThrough<V>(r: ReadThrough<V>): Promise<Array<OriginAnswer<V>>> {
  const { keys } = r;
  const answers: Array<OriginAnswer<V>> = new Array(keys.length);
  const before = keys.map((key) => r.pending(key));
  /** The pending writes of key j, oldest first: those of the read's start, then any acknowledged since. */
  const pendingOf = (j: number): readonly OriginRecord<V>[] => {
    const now = r.pending(keys[j]);
    const then = before[j];
    if (then.length === 0) return now;
    const known = new Set(then);
    return now.every((p) => known.has(p)) ? then : [...then, ...now.filter((p) => !known.has(p))];
  };
  // Without a resolver, a key's latest pending write stands in for the origin when the origin cannot answer.
  const canAnswerPending = r.resolver === undefined;
  // Tombstones are asked for where the origin can give them (`getRecords`) when a key has a pending write: another
  // node's delete newer than it must win over it, as a newer value does, and `getMany` answers a tombstone as a mere
  // absence. Reads of keys with nothing pending ask `getMany`, as they always did.
  const { origin } = r;
  const withPending = before.some((pending) => pending.length > 0);
  const call = r.isSettled
    ? withPending && hasSettledRecords(origin) ? origin.getRecordsSettled(keys, r.options) : origin.getManySettled!(keys, r.options)
    : withPending && hasRecords(origin) ? origin.getRecords(keys, r.options) : origin.getMany(keys, r.options);
  let fetched: Array<OriginAnswer<V>>;
  if (canAnswerPending && before.every((pending) => pending.length > 0)) {
    call.catch(() => {}); // it may lose the race below; its failure then concerns no one
    fetched = (await withinMs(call, pendingWaitMs, r.clock)) ?? keys.map(() => undefined);
  } else {
    fetched = await call;
  }
  // Checked before anything is merged into it, as the cache checks a load: an answer out of order would merge one
  // key's pending writes into another key's record (which then passes the cache's check under the right key).
  try {
    fetched = checkAnswers<V>(keys, fetched, 'keep').answers;
  } catch (error) {
    // A malformed answer as a whole is an origin failure: where every key has a pending write, they answer alone.
    if (!(canAnswerPending && before.every((pending) => pending.length > 0))) throw error;
    fetched = keys.map(() => undefined);
  }
  for (let j = 0; j < keys.length; j++) {
    let answer = fetched[j];
    const pending = pendingOf(j);
    if (isOriginFailure(answer) && canAnswerPending && pending.length > 0) answer = undefined; // the pending write answers alone
    if (isOriginFailure(answer)) { answers[j] = answer; continue; } // a key the origin could not read stays failed
    // A tombstone takes part as the newest record when its version is highest (last writer by version): pending
    // writes older than it are superseded; a resolver merges newer ones into an absent record, as before.
    let record: OriginRecord<V> | undefined = answer;
    if (record !== undefined) r.observe(record.version, keys[j]);
    for (const p of pending) {
      if (r.resolver === undefined) record = newer(p, record);
      else if (record?.deleted !== true) record = r.resolver(p, record);
      else if (p.version > record.version) record = r.resolver(p, undefined);
    }
    answers[j] = record?.deleted === true ? undefined : record;
  }
  // `getMany` is all or nothing: a record the check failed fails the read (getManySettled reports it per key).
  if (!r.isSettled) rejectFailures(keys, answers);
  return answers;
}

/** What `work` resolves to within `ms` on `clock`; undefined when it rejects or takes longer. */
async function withinMs<T>(work: Promise<T>, ms: number, clock: Clock): Promise<T | undefined> {
  let timer: TimerHandle | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = clock.setTimer(ms, () => resolve(undefined));
  });
  try {
    return await Promise.race([work, late]);
  } catch {
    return undefined;
  } finally {
    if (timer !== undefined) clock.clearTimer(timer);
  }
}
