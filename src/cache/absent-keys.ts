/**
 * AbsentKeys: keys the origin answered it does not have, remembered for `absentTtlMs` (negative caching).
 *
 * Why: a read of a key the origin lacks (a deleted product, a mistyped id, a scraper walking ids) is never a hit, so
 * every repeat of it costs an origin round trip, and single-flight only merges the repeats that overlap. Remembering
 * the answer for a short while turns those repeats into hits that say `isFound: false`, and keeps the prefetcher
 * from fetching, again and again, a key the models learned from such reads. The cost is staleness of absence: a key
 * created at the origin by someone else is reported absent for up to `absentTtlMs`, unless a write through this cache
 * or a change notice (which both delete the key here) says otherwise first. Hence off by default.
 *
 * Kept apart from the memory tier: an absence has no value, version or size to weigh against entries, and must not
 * take room from them. Bounded by `maxKeys` in insertion order (the oldest answer goes first), each key about 100
 * bytes with its Map entry. Cost: one Map lookup per memory miss while on.
 */

/** Negative answers by key, each with its expiry time (ms on the cache's clock). */
export class AbsentKeys {
  readonly #ttlMs: number;
  readonly #maxKeys: number;
  readonly #until = new Map<string, number>();
  #hits = 0;

  /** `ttlMs` > 0 and `maxKeys` >= 1, checked by the caller (cache-options.ts). */
  constructor(ttlMs: number, maxKeys: number) {
    this.#ttlMs = ttlMs;
    this.#maxKeys = maxKeys;
  }

  /**
   * Keys remembered and not expired at `now`, and reads answered from here. Expired keys are let go first: the map is
   * in the order keys were answered absent, so with one TTL the expired ones are its first (O(expired)).
   */
  stats(now: number): { readonly keys: number; readonly hits: number } {
    for (const [key, until] of this.#until) {
      if (until > now) break;
      this.#until.delete(key);
    }
    return { keys: this.#until.size, hits: this.#hits };
  }

  /** The origin answered `key` absent at `now`. */
  add(key: string, now: number): void {
    const until = this.#until;
    until.delete(key);
    until.set(key, now + this.#ttlMs);
    if (until.size > this.#maxKeys) until.delete(until.keys().next().value as string);
  }

  /** True when `key` was answered absent less than `absentTtlMs` before `now` (counted as a hit when `isRead`). */
  has(key: string, now: number, isRead: boolean): boolean {
    const until = this.#until.get(key);
    if (until === undefined) return false;
    if (now >= until) {
      this.#until.delete(key);
      return false;
    }
    if (isRead) this.#hits++;
    return true;
  }

  /** Forgets `key` (it was written, deleted or invalidated: its absence is no longer known). */
  delete(key: string): void {
    this.#until.delete(key);
  }

  /** Forgets every key that starts with `prefix` (`Cache.invalidate`). O(keys). */
  deleteStartingWith(prefix: string): void {
    for (const key of this.#until.keys()) if (key.startsWith(prefix)) this.#until.delete(key);
  }
}
