/**
 * KeyInterner: dense integer ids for string keys, so the predictors' per-access structures (successor lists,
 * candidate scratch arrays) hold small integers in typed arrays instead of strings.
 *
 * Why: a Map<string, number> lookup costs one string hash per access; every later step works on ints. The table
 * holds at most `maxKeys` keys (about 45 bytes each plus the key string, 8 more once full; with the ensemble's
 * models, about 290 bytes per key in all, up to about 500 for a key many sessions read: docs/server.md): past it, a new key takes the id of
 * the least recently used of a few sampled keys (as Redis approximates LRU), so clients that read ever new keys — an open
 * catalogue, or keys that do not exist at the origin — cannot grow the process without bound. The trade: model state
 * still holding the reused id (a successor list, a kNN ring, a popularity count) now names the new key. Such state
 * is about a key nobody read for the longest time, so it is seldom consulted, and a wrong guess costs a wasted
 * prefetch that the precision feedback sees; the default (1,000,000) is above every shared trace (ARC P3: 762,543
 * distinct keys), whose figures are therefore as before. Model state that refers to ids is bounded separately by
 * each predictor's caps. What scores a list of ids against a later access (the ensemble's kept lists) must not take a
 * reused id for the key it named: `reusedAt` tells which ids went to another key since the list was made.
 * Keys that are canonical integers ("42", "-7"; not "007") are indexed by their value instead, so a model that
 * computes keys (delta: block n + 1) finds their ids without building a string; each key sits in one index only.
 * The last key interned is remembered, so the several models that intern the same access pay one lookup, and
 * so are the last numeric lookups, in a small direct-mapped memo by value: delta asks for the ids of a dozen
 * computed keys per prediction (block n + 1 .. n + 4, last + each frequent delta), mostly the ones it asked for
 * one access before, and on a block trace the numeric index is megabytes, so each miss of the memo is a miss of
 * the CPU caches too (ARC P3: 198,432 distinct blocks in 300k requests).
 */

import { InvalidOptionError } from '../errors.ts';
import { optionsObject, positiveInt } from '../options.ts';
import { NumberIndex } from './number-index.ts';

/** Entries of the numeric memo (a power of two): 12 KB, enough for a few predictions' worth of values. */
const memoSize = 1024;
/** Keys compared when one must give its id up: 8 finds one in the least recent ~12% with probability 0.65. */
const evictionSample = 8;

/** Options of a KeyInterner. */
export type KeyInternerOptions = {
  /** Most keys held; past it a new key takes the id of a least recently used one (sampled). @default 1000000 */
  readonly maxKeys?: number;
};

/** Interning table from string keys to dense ids 0, 1, 2, ... in first-seen order, bounded by `maxKeys`. */
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
  readonly #maxKeys: number;
  /** Per id, the `#tick` of its last `id` call (what eviction compares). */
  #usedAt = new Float64Array(1024);
  #tick = 0;
  #reused = 0;
  /**
   * Per id, the `#reused` count right after the id last went to a new key (0: it has named one key only); allocated
   * on the first reuse, so a table that never fills pays nothing for it.
   */
  #reusedAt: Float64Array | undefined;
  #rng = 0x9e3779b9;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) on a bad `maxKeys`. */
  constructor(options: KeyInternerOptions = {}) {
    optionsObject(options);
    this.#maxKeys = positiveInt('maxKeys', options.maxKeys, 1_000_000);
  }

  /** The id of `key`, assigning one when it is new (the id of an evicted key once `maxKeys` are held). */
  id(key: string): number {
    if (key === this.#lastKey) {
      this.#usedAt[this.#lastId] = ++this.#tick;
      return this.#lastId;
    }
    const v = canonicalInteger(key);
    let id: number;
    if (Number.isNaN(v)) {
      id = this.#ids.get(key) ?? -1;
      if (id < 0) {
        id = this.#slotFor(key);
        this.#ids.set(key, id);
      }
    } else {
      id = this.peekNumber(v);
      if (id < 0) {
        id = this.#slotFor(key);
        this.#numeric.set(v, id);
        this.#memoValue[v & (memoSize - 1)] = v;
        this.#memoId[v & (memoSize - 1)] = id;
      }
    }
    this.#usedAt[id] = ++this.#tick;
    this.#lastKey = key;
    this.#lastId = id;
    return id;
  }

  /** Keys that took the id of an evicted key since the table was made. */
  get reused(): number {
    return this.#reused;
  }

  /**
   * The `reused` count right after `id` last went to a new key (0 while it has named one key only). An id copied
   * into a list when `reused` was `r` still names the key it named then if and only if `reusedAt(id) <= r`.
   */
  reusedAt(id: number): number {
    return this.#reusedAt === undefined ? 0 : this.#reusedAt[id];
  }

  /** An id for new `key`: the next one, or, when `maxKeys` are held, the id of a least recently used key. */
  #slotFor(key: string): number {
    const keys = this.#keys;
    if (keys.length < this.#maxKeys) {
      const id = keys.length;
      keys.push(key);
      if (id === this.#usedAt.length) {
        const grown = new Float64Array(Math.min(this.#maxKeys, 2 * id));
        grown.set(this.#usedAt);
        this.#usedAt = grown;
      }
      return id;
    }
    let victim = this.#randomId();
    for (let i = 1; i < evictionSample; i++) {
      const other = this.#randomId();
      if (this.#usedAt[other] < this.#usedAt[victim]) victim = other;
    }
    this.#forget(keys[victim]);
    keys[victim] = key;
    this.#reusedAt ??= new Float64Array(this.#maxKeys);
    this.#reusedAt[victim] = ++this.#reused;
    return victim;
  }

  /** Removes `old` from the indexes (its id is about to name another key). */
  #forget(old: string): void {
    const v = canonicalInteger(old);
    if (Number.isNaN(v)) this.#ids.delete(old);
    else {
      this.#numeric.delete(v);
      const m = v & (memoSize - 1);
      if (this.#memoValue[m] === v) this.#memoId[m] = -1;
    }
    if (this.#lastKey === old) {
      this.#lastKey = undefined;
      this.#lastId = -1;
    }
  }

  #randomId(): number {
    // xorshift32: cheap, deterministic (replays stay reproducible).
    let x = this.#rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#rng = x >>> 0;
    return this.#rng % this.#keys.length;
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

  /** Number of keys held (distinct keys interned, at most `maxKeys`). */
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

/** The `keys` option of a predictor: the KeyInterner given (shared with other models), or a private one. */
export function internerOption(value: unknown): KeyInterner {
  if (value === undefined) return new KeyInterner();
  if (value instanceof KeyInterner) return value;
  throw new InvalidOptionError('keys', 'a KeyInterner', value);
}
