/**
 * KeyInterner: dense integer ids for string keys, so the predictors' per-access structures (successor lists,
 * candidate scratch arrays) hold small integers in typed arrays instead of strings.
 *
 * Why: a Map<string, number> lookup costs one string hash per access; every later step works on ints. Ids are
 * never reused, so the table grows with the number of distinct keys seen (about 60-80 bytes per key) — the
 * catalogue, not the traffic. Model state that refers to ids is bounded separately by each predictor's caps.
 */

/** Interning table from string keys to dense ids 0, 1, 2, ... in first-seen order. */
export class KeyInterner {
  #ids = new Map<string, number>();
  #keys: string[] = [];

  /** The id of `key`, assigning the next id when it is new. */
  id(key: string): number {
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#keys.length;
      this.#ids.set(key, id);
      this.#keys.push(key);
    }
    return id;
  }

  /** The id of `key`, or -1 when it was never interned. Does not assign. */
  peek(key: string): number {
    const id = this.#ids.get(key);
    return id === undefined ? -1 : id;
  }

  /** The key of an id returned by `id`. */
  key(id: number): string {
    return this.#keys[id];
  }

  /** Number of distinct keys interned. */
  get size(): number {
    return this.#keys.length;
  }
}
