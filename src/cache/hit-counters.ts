/**
 * HitCounters: how often this process served each key at its current version, for tiers whose entries are decoded
 * afresh on every read (the Redis tier), so `Entry.hits` still counts uses.
 *
 * Why bounded and per version: a shared tier holds far more keys than one process reads often, and a new version
 * is a new entry whose use starts at zero. The map keeps the most recently served `max` keys (a Map keeps insertion
 * order: a served key is moved to the young end); the oldest is dropped beyond it and its count restarts at 0.
 * Cost: O(1) per hit.
 */
export class HitCounters {
  readonly #max: number;
  readonly #counts = new Map<string, { version: number; hits: number }>();

  /** @param max most keys counted at once */
  constructor(max: number) {
    this.#max = max;
  }

  /** Counts one more serving of `key` at `version` and returns its count (1 for a key or version not seen). */
  hit(key: string, version: number): number {
    let counter = this.#counts.get(key);
    if (counter === undefined || counter.version !== version) {
      counter = { version, hits: 0 };
      if (this.#counts.size >= this.#max) this.#counts.delete(this.#counts.keys().next().value as string);
    } else {
      this.#counts.delete(key);
    }
    this.#counts.set(key, counter);
    return ++counter.hits;
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.#counts.delete(key);
  }

  /** Forgets every key. */
  clear(): void {
    this.#counts.clear();
  }
}
