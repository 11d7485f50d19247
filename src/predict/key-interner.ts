/**
 * KeyInterner: dense integer ids for string keys, so the predictors' per-access structures (successor lists,
 * candidate scratch arrays) hold small integers in typed arrays instead of strings.
 *
 * Why: a Map<string, number> lookup costs one string hash per access; every later step works on ints. Ids are
 * never reused, so the table grows with the number of distinct keys seen (about 60-80 bytes per key) — the
 * catalogue, not the traffic. Model state that refers to ids is bounded separately by each predictor's caps.
 * Keys that are canonical integers ("42", "-7"; not "007") are indexed by their value instead, so a model that
 * computes keys (delta: block n + 1) finds their ids without building a string; each key sits in one index only.
 * The last key interned is remembered, so the several models that intern the same access pay one lookup, and
 * so are the last numeric lookups, in a small direct-mapped memo by value: delta asks for the ids of a dozen
 * computed keys per prediction (block n + 1 .. n + 4, last + each frequent delta), mostly the ones it asked for
 * one access before, and on a block trace the numeric index is megabytes, so each miss of the memo is a miss of
 * the CPU caches too (ARC P3: 198,432 distinct blocks in 300k requests).
 */

import { NumberIndex } from './number-index.ts';

/** Entries of the numeric memo (a power of two): 12 KB, enough for a few predictions' worth of values. */
const memoSize = 1024;

/** Interning table from string keys to dense ids 0, 1, 2, ... in first-seen order. */
export class KeyInterner {
  #ids = new Map<string, number>();
  /** Ids of canonical-integer keys by value (typed arrays: block numbers can run to millions of keys). */
  readonly #numeric = new NumberIndex();
  #keys: string[] = [];
  #lastKey: string | undefined;
  #lastId = -1;
  /** Numeric memo: entry `value & (memoSize - 1)` holds a value and its id (-1: not interned), NaN when unused. */
  readonly #memoValue = new Float64Array(memoSize).fill(Number.NaN);
  readonly #memoId = new Int32Array(memoSize);

  /** The id of `key`, assigning the next id when it is new. */
  id(key: string): number {
    if (key === this.#lastKey) return this.#lastId;
    const v = canonicalInteger(key);
    let id: number;
    if (Number.isNaN(v)) {
      id = this.#ids.get(key) ?? -1;
      if (id < 0) {
        id = this.#keys.length;
        this.#ids.set(key, id);
        this.#keys.push(key);
      }
    } else {
      id = this.peekNumber(v);
      if (id < 0) {
        id = this.#keys.length;
        this.#numeric.set(v, id);
        this.#memoId[v & (memoSize - 1)] = id;
        this.#keys.push(key);
      }
    }
    this.#lastKey = key;
    this.#lastId = id;
    return id;
  }

  /** The id of `key`, or -1 when it was never interned. Does not assign. */
  peek(key: string): number {
    if (key === this.#lastKey) return this.#lastId;
    const v = canonicalInteger(key);
    return Number.isNaN(v) ? (this.#ids.get(key) ?? -1) : this.peekNumber(v);
  }

  /** The id of the key `String(value)` for a safe integer `value`, or -1 when it was never interned. */
  peekNumber(value: number): number {
    const m = value & (memoSize - 1);
    if (this.#memoValue[m] === value) return this.#memoId[m];
    const id = this.#numeric.get(value);
    this.#memoValue[m] = value;
    this.#memoId[m] = id;
    return id;
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

/** The value of a key written as a canonical safe integer (what `String(n)` gives: no sign on 0, no leading zeros), else NaN. */
export function canonicalInteger(key: string): number {
  const n = key.length;
  if (n === 0 || n > 17) return Number.NaN;
  let i = key.charCodeAt(0) === 45 ? 1 : 0;
  if (i === n) return Number.NaN;
  if (key.charCodeAt(i) === 48) return n === 1 ? 0 : Number.NaN;
  let v = 0;
  for (; i < n; i++) {
    const c = key.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.NaN;
    v = v * 10 + c;
  }
  if (v > Number.MAX_SAFE_INTEGER) return Number.NaN;
  return key.charCodeAt(0) === 45 ? -v : v;
}
