/**
 * RefusedVersions: the keys whose origin version the hybrid logical clock refused (too far ahead of the wall
 * clock), so that a write-back `put` on one of them is refused instead of acknowledged and then lost.
 *
 * Why: when a peer with a fast clock wrote a key, the origin holds a version beyond `maxDriftMs`; the Hlc rightly
 * refuses to adopt it (every later version here would be dragged into the future), but a local write to that key
 * then gets a lower version and the origin's upsert declines it at flush: an acknowledged write lost. Refusing the
 * write up front (ERR_CLOCK_DRIFT, nothing acknowledged) keeps "nothing acknowledged is lost". The refusal ends on
 * its own once the wall clock passes the refused version, not when a later read answers a lower version: that read
 * may have started before the refused one, and forgetting then would let a lost write through again. It knows only
 * keys whose refused version it was told of: a read through `WriteBack.reader`, or the read `learn` makes after a
 * flush the origin declined. The first write to a key never read here is still declined at flush and reported
 * ('write:superseded'); learning the version then keeps the writes after it from being lost the same way.
 * Why not re-version a declined write above the origin's version instead: that is the far-future version the Hlc
 * refuses to adopt, and the write was acknowledged at its own version (a journal record already says so).
 */
import { isPrescientError, PrescientError } from '../errors.ts';
import { checkAnswers } from '../origin/check-answer.ts';
import { isOriginFailure } from '../origin/origin.ts';
import { type Hlc, hlcPhysicalMs } from './hlc.ts';
import type { WritableOrigin, WriteBackLogger } from './write-back-options.ts';

/**
 * Keys remembered at most (1024: about 0.2 MiB with keys of ~100 bytes). Refusals come only from a peer whose clock
 * is off by more than `maxDriftMs`, a fault one fixes, so few keys are ever in it; the cap bounds memory when such a
 * peer writes many keys. Past it the key refused longest ago is forgotten: a write to it is then acknowledged and,
 * if still below the origin's version at flush, reported superseded, as without this check.
 */
export const MAX_REFUSED_KEYS = 1024;

/**
 * Merges the versions the origin answers into an Hlc, and keeps a bounded map from key to the highest version the
 * Hlc refused for it, oldest refusal evicted first.
 */
export class RefusedVersions {
  readonly #byKey = new Map<string, number>();
  readonly #hlc: Hlc;
  readonly #logger: WriteBackLogger | undefined;
  readonly #maxKeys: number;

  constructor(hlc: Hlc, logger: WriteBackLogger | undefined, maxKeys = MAX_REFUSED_KEYS) {
    this.#hlc = hlc;
    this.#logger = logger;
    this.#maxKeys = maxKeys;
  }

  /**
   * Merges `version`, which the origin answered (for `key`, when known), into the Hlc. One the Hlc refuses is logged,
   * never thrown (a read or a flush must not fail for it), and remembered for `key` when it is too far ahead.
   */
  observe(version: number, key?: string): void {
    try {
      this.#hlc.observe(version);
    } catch (error) {
      if (key !== undefined && isPrescientError(error, 'ERR_CLOCK_DRIFT')) this.#note(key, version);
      this.#logger?.warn({ err: error, version, key }, 'write-back: origin version ignored by the clock');
    }
  }

  /** Number of keys remembered. */
  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Reads `keys` from `origin` (after it declined writes of them at a flush) and observes their versions, so that
   * the next writes to a key whose version the Hlc refuses are refused before they are acknowledged, rather than
   * lost at their own flush too. Never rejects: a failed read only leaves those keys unknown.
   */
  async learn(origin: WritableOrigin<unknown>, keys: readonly string[]): Promise<void> {
    try {
      // Checked as any origin answer is: a null, a record of another key or a bad version teaches nothing.
      for (const [i, answer] of checkAnswers<unknown>(keys, await origin.getMany(keys), 'keep').answers.entries()) {
        if (answer !== undefined && !isOriginFailure(answer)) this.observe(answer.version, keys[i]);
      }
    } catch (error) {
      // It runs after the batch was written: a throw here would fail a flush the origin already took, and its retry
      // would write the declined records again (over a delete that came since).
      this.#logger?.warn({ err: error }, 'write-back: could not read back the versions of declined writes');
    }
  }

  #note(key: string, version: number): void {
    const known = this.#byKey.get(key);
    this.#byKey.delete(key); // re-inserted last: the most recent refusal is evicted last
    this.#byKey.set(key, Math.max(version, known ?? 0));
    if (this.#byKey.size > this.#maxKeys) this.#byKey.delete(this.#byKey.keys().next().value as string);
  }

  /**
   * Checks a write of `key` at `version`: forgets the key once `version` is above its refused one.
   * @throws PrescientError ERR_CLOCK_DRIFT when `version` is not above the version refused for `key` (the origin
   *   would decline the write), naming the key and how far ahead the origin's version is
   */
  check(key: string, version: number): void {
    const refused = this.#byKey.get(key);
    if (refused === undefined) return;
    if (version > refused) {
      this.#byKey.delete(key);
      return;
    }
    const gapMs = hlcPhysicalMs(refused) - hlcPhysicalMs(version);
    throw new PrescientError(
      'ERR_CLOCK_DRIFT',
      `Write to key ${JSON.stringify(key)} refused: the origin holds version ${refused}, ${gapMs} ms ahead of this node's clock ` +
        `(a writer with a fast clock, beyond \`maxDriftMs\`), so a write here at version ${version} would lose to it; ` +
        `retry once the clock passes it, or fix the other writer's clock`,
    );
  }
}
