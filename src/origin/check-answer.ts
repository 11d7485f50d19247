/**
 * checkAnswers: what an origin (or one store of a composite origin) answered for a batch, checked before any of it
 * is served or cached.
 *
 * Why: an origin is application code or a remote store, and the cache trusts its answer with two things it cannot
 * repair later: which key a record belongs to (an answer short by one, or out of order, would serve and cache one
 * key's value under another's until its TTL) and the version (every write and change notice is ordered by it, so a
 * NaN, negative, fractional or unsafe version would make "newer" meaningless for that key). A malformed answer as a
 * whole (not an array, or not one answer per key) cannot be matched to keys at all and fails the batch; a malformed
 * record fails only its own key, as an OriginFailure, the way `getManySettled` reports a key it could not read.
 *
 * Cost: one pass over the answer, a few property reads per record (under 10 ns per record measured on a batch of
 * 256) and no allocation while every answer is good but one small result per batch; the array is copied once, at
 * the first answer that has to change (null, a tombstone read as absent, a bad record), so the origin's own array is
 * never written to.
 */
import { describe, OriginError } from '../errors.ts';
import { isOriginFailure, OriginFailure, type OriginAnswer } from './origin.ts';

/**
 * How a tombstone (`deleted: true`) is read: `'absent'` answers undefined for it (what `getMany` promises, and what
 * a cache must see), `'keep'` passes it on (a store asked through `getRecords`, whose tombstones a TieredOrigin uses).
 */
export type TombstoneReading = 'absent' | 'keep';

/** What `checkAnswers` returns: the answers aligned with the keys, and how many of them are OriginFailures. */
export type CheckedAnswers<V> = {
  readonly answers: Array<OriginAnswer<V>>;
  /** OriginFailures among `answers` (the origin's own and the bad records'): 0 on the common path. */
  readonly failures: number;
};

/**
 * Checks `answers` against `keys` and returns them aligned with `keys`, each one undefined (no such key), a record
 * whose `key` is undefined or the key asked and whose `version` is a non-negative safe integer, or an OriginFailure
 * (one the origin gave, or ERR_ORIGIN_FAILED for a record that is not an object or breaks those rules). `null`
 * reads as undefined. The returned `answers` is the origin's own array when nothing had to change.
 *
 * @throws OriginError (ERR_ORIGIN_FAILED) naming every key when `answers` is not an array of `keys.length` answers.
 */
export function checkAnswers<V>(keys: readonly string[], answers: unknown, tombstones: TombstoneReading): CheckedAnswers<V> {
  if (!Array.isArray(answers) || answers.length !== keys.length) {
    throw new OriginError(keys, new Error(`The origin answered ${describe(answers)} for ${keys.length} keys`));
  }
  let checked: unknown[] = answers;
  let failures = 0;
  for (let i = 0; i < answers.length; i++) {
    const answer: unknown = answers[i];
    if (answer === undefined) continue;
    let replacement: OriginAnswer<V>;
    // A good record is recognised from its own fields before any `instanceof`: on plain objects that test costs
    // several times the rest of the check (it walks the prototype chain), and failures are rare.
    if (isGoodRecord(answer, keys[i])) {
      if (tombstones === 'keep' || (answer as { deleted?: unknown }).deleted !== true) continue;
      replacement = undefined;
    } else if (answer === null) {
      replacement = undefined;
    } else {
      failures++;
      if (isOriginFailure(answer)) continue;
      replacement = new OriginFailure(new OriginError([keys[i]], new Error(recordProblem(answer, keys[i]))));
    }
    if (checked === answers) checked = answers.slice();
    checked[i] = replacement;
  }
  return { answers: checked as Array<OriginAnswer<V>>, failures };
}

/** True when `answer` is an object whose `key` is undefined or `key` and whose `version` is a non-negative safe integer. */
function isGoodRecord(answer: unknown, key: string): boolean {
  if (typeof answer !== 'object' || answer === null) return false;
  const r = answer as { key?: unknown; version?: unknown };
  const version = r.version;
  return typeof version === 'number' && Number.isSafeInteger(version) && version >= 0 && (r.key === undefined || r.key === key);
}

/** Why `answer`, not a good record, cannot stand as the record of `key`. */
function recordProblem(answer: unknown, key: string): string {
  if (typeof answer !== 'object' || answer === null) return `The origin answered ${describe(answer)}, not a record`;
  const r = answer as { key?: unknown; version?: unknown };
  if (r.key !== undefined && r.key !== key) return `The origin answered key ${describe(r.key)} where ${JSON.stringify(key)} was asked`;
  return `The origin answered version ${describe(r.version)}, not a non-negative safe integer`;
}

/**
 * For an all-or-nothing read (`getMany`): rejects with an OriginError naming every key whose answer is an
 * OriginFailure (ERR_ORIGIN_TIMEOUT when the first one timed out, else ERR_ORIGIN_FAILED), its error as the cause.
 */
export function rejectFailures(keys: readonly string[], answers: ReadonlyArray<OriginAnswer<unknown>>): void {
  let first: OriginFailure | undefined;
  const failed: string[] = [];
  for (let i = 0; i < answers.length; i++) {
    const answer = answers[i];
    if (!isOriginFailure(answer)) continue;
    first ??= answer;
    failed.push(keys[i]);
  }
  if (first !== undefined) throw new OriginError(failed, first.error, first.error.code === 'ERR_ORIGIN_TIMEOUT' ? 'ERR_ORIGIN_TIMEOUT' : 'ERR_ORIGIN_FAILED');
}
