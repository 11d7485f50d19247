/**
 * NumberIndex: a map from numeric keys (any double but NaN, such as the 52-bit state keys of a SuccessorTable) to
 * non-negative int32 values, in two typed arrays with open addressing.
 *
 * Why: a `Map<number, number>` boxes every key that is not a small integer (a 52-bit state key never is): each new
 * state allocates a heap number, each lookup hashes it, and a table churning at its bound reallocates itself. On a
 * block trace the Markov tables create and evict a state on almost every access, and the Map was a tenth of the
 * replay's time plus a share of its garbage. Here keys and values live in a Float64Array and an Int32Array, probed
 * linearly from a multiplicative hash of the key's two 32-bit halves; deletion shifts the following run back
 * (Knuth's algorithm R), so there are no tombstones and lookups stay short at any churn. The table doubles at 50%
 * load. Cost: O(1) expected per operation; 12 bytes per slot, 24-48 bytes per key.
 */

/** Marks an empty slot in the value array. */
const empty = -1;
/** First table size (a power of two). */
const initialSlots = 64;

export class NumberIndex {
  #keys = new Float64Array(initialSlots);
  #values = new Int32Array(initialSlots).fill(empty);
  #mask = initialSlots - 1;
  #size = 0;
  /** Scratch for reading a double's bits as two 32-bit words. */
  readonly #f64 = new Float64Array(1);
  readonly #u32 = new Uint32Array(this.#f64.buffer);

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  /** The value of `key`, or -1 when absent. */
  get(key: number): number {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    for (let i = this.#home(key); ; i = (i + 1) & mask) {
      const v = values[i];
      if (v === empty) return empty;
      if (keys[i] === key) return v;
    }
  }

  /** Sets `key` to `value` (a non-negative int32). */
  set(key: number, value: number): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    for (let i = this.#home(key); ; i = (i + 1) & mask) {
      if (values[i] === empty) {
        keys[i] = key;
        values[i] = value;
        this.#size++;
        return;
      }
      if (keys[i] === key) {
        values[i] = value;
        return;
      }
    }
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: number): boolean {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let i = this.#home(key);
    for (; ; i = (i + 1) & mask) {
      if (values[i] === empty) return false;
      if (keys[i] === key) break;
    }
    // Shift back every entry of the run after the hole that would no longer be reachable from its home slot.
    let hole = i;
    for (let j = (hole + 1) & mask; values[j] !== empty; j = (j + 1) & mask) {
      const home = this.#home(keys[j]);
      // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
      const isBetween = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (isBetween) continue;
      keys[hole] = keys[j];
      values[hole] = values[j];
      hole = j;
    }
    values[hole] = empty;
    this.#size--;
    return true;
  }

  #home(key: number): number {
    // -0 and 0 are one key (as in a Map): hash them alike.
    this.#f64[0] = key === 0 ? 0 : key;
    const h = Math.imul(this.#u32[0] ^ Math.imul(this.#u32[1], 0x85ebca6b), 0x9e3779b1);
    return (h ^ (h >>> 15)) & this.#mask;
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldValues = this.#values;
    const size = oldKeys.length * 2;
    this.#keys = new Float64Array(size);
    this.#values = new Int32Array(size).fill(empty);
    this.#mask = size - 1;
    this.#size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldValues[i] !== empty) this.set(oldKeys[i], oldValues[i]);
  }
}
