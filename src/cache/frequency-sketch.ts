/**
 * FrequencySketch: a count-min sketch of 4-bit counters that estimates how often a key was accessed recently.
 *
 * Why: TinyLFU admission (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", ACM
 * ToS 2017) needs the popularity of keys that are no longer (or not yet) cached, in a few bits per key. This is
 * the layout Caffeine's `FrequencySketch` uses: four counters per key, all in one 64-byte block so an estimate
 * touches one cache line; each counter saturates at 15; after `sampleSize` (10 x capacity) additions every counter
 * is halved (the paper's "reset"), so the sketch ages and follows a shifting popularity. Cost: 8 bytes per unit of
 * capacity (rounded up to a power of two), O(1) per increment and estimate; a halving is O(table) every
 * 10 x capacity increments, so O(1) amortised. No doorkeeper: the window in front of main already filters
 * one-hit wonders, as Caffeine found.
 */
import { InvalidOptionError } from '../errors.ts';
import { positiveInt } from '../options.ts';

/** Options of a {@link FrequencySketch}. */
export type FrequencySketchOptions = {
  /** Number of distinct keys the sketch should tell apart well (usually the cache's entry capacity). */
  readonly capacity: number;
  /**
   * XORed into each 32-bit key hash ({@link hashKey}) before the sketch spreads it, so under different seeds two keys
   * of different hashes share counters by different chance. It does not separate keys whose `hashKey` is the same
   * (a 32-bit FNV-1a collision, easy to find offline): those share all four counters under every seed.
   * @default 0
   */
  readonly seed?: number;
};

/** Largest counter value: counters are 4 bits wide. */
const MAX_COUNT = 15;
/** Additions between two halvings, per unit of capacity (Caffeine and the TinyLFU paper use 10). */
const SAMPLE_FACTOR = 10;
/** Largest capacity the table is sized for (2^22 keys: a 32 MiB table). Larger caches share counters. */
const MAX_CAPACITY = 1 << 22;
/** The low bit of every 4-bit counter in a 32-bit word, to count odd counters before a halving. */
const ONE_MASK = 0x11111111;
/** Clears the bit shifted in from the neighbouring counter after `>>> 1`. */
const RESET_MASK = 0x77777777;

/**
 * FNV-1a 32-bit hash of a string's UTF-16 code units. Computed once per cached key (kept in its node) and on
 * misses; the sketch spreads it further, so FNV's weak low bits do not matter.
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  }
  return h | 0;
}

/** A count-min sketch of 4-bit counters with periodic halving. Operates on 32-bit key hashes (see {@link hashKey}). */
export class FrequencySketch {
  #table: Uint32Array;
  #blockMask: number;
  #capacity: number;
  #sampleSize: number;
  #size = 0;
  #epoch = 0;
  readonly #seed: number;

  /** @throws InvalidOptionError (`ERR_INVALID_OPTION`) when `capacity` is not a positive integer or `seed` not an integer. */
  constructor(options: FrequencySketchOptions) {
    const capacity = positiveInt('capacity', options.capacity);
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new InvalidOptionError('seed', 'an integer', seed);
    this.#seed = Math.imul(seed | 0, 0x9e3779b9);
    this.#capacity = 0;
    this.#table = new Uint32Array(16);
    this.#blockMask = 0;
    this.#sampleSize = SAMPLE_FACTOR;
    this.ensureCapacity(capacity);
  }

  /** Capacity the table was last sized for. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Additions (that raised at least one counter) after which every counter is halved: 10 x capacity. */
  get sampleSize(): number {
    return this.#sampleSize;
  }

  /**
   * Changes whenever counters may have gone down (a halving, `clear`, a resize): a key found saturated (see
   * `increment`) stays saturated while the epoch is unchanged, so a caller may skip its increments until then.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /** Additions counted since the last halving. */
  get size(): number {
    return this.#size;
  }

  /**
   * Grows the table so it tells `capacity` keys apart; clears every counter when it grows (as Caffeine does).
   * A smaller or equal capacity is a no-op.
   */
  ensureCapacity(capacity: number): void {
    const wanted = Math.min(Math.max(1, Math.floor(capacity)), MAX_CAPACITY);
    if (wanted <= this.#capacity) return;
    // Caffeine sizes the table to ceilPow2(capacity) longs, at least one 64-byte block; here 2 words per long.
    const longs = Math.max(8, 2 ** Math.ceil(Math.log2(wanted)));
    const words = longs * 2;
    this.#table = new Uint32Array(words);
    this.#blockMask = (words >>> 4) - 1;
    this.#capacity = wanted;
    this.#sampleSize = SAMPLE_FACTOR * wanted;
    this.#size = 0;
    this.#epoch++;
  }

  /** Estimated number of recent accesses of the key with this hash, 0 to 15. */
  frequency(hash: number): number {
    const blockHash = spread(hash ^ this.#seed);
    const counterHash = rehash(blockHash);
    const block = (blockHash & this.#blockMask) << 4;
    const table = this.#table;
    let min = MAX_COUNT;
    for (let i = 0; i < 4; i++) {
      const h = counterHash >>> (i << 3);
      const count = (table[block + (i << 2) + (h & 3)] >>> (((h >>> 2) & 7) << 2)) & 15;
      if (count < min) min = count;
    }
    return min;
  }

  /**
   * Records one access of the key with this hash; halves every counter after `sampleSize` additions. Returns true
   * when the key's four counters are all at the maximum afterwards: until `epoch` changes, further increments of
   * this key change nothing (not even the addition count), so a caller may skip them.
   */
  increment(hash: number): boolean {
    const blockHash = spread(hash ^ this.#seed);
    const counterHash = rehash(blockHash);
    const block = (blockHash & this.#blockMask) << 4;
    const table = this.#table;
    let added = false;
    let isSaturated = true;
    for (let i = 0; i < 4; i++) {
      const h = counterHash >>> (i << 3);
      const word = block + (i << 2) + (h & 3);
      const shift = ((h >>> 2) & 7) << 2;
      const count = (table[word] >>> shift) & 15;
      if (count < MAX_COUNT) {
        table[word] += 1 << shift;
        added = true;
        if (count < MAX_COUNT - 1) isSaturated = false;
      }
    }
    if (added && ++this.#size >= this.#sampleSize) {
      this.reset();
      return false;
    }
    return isSaturated;
  }

  /**
   * Halves every counter (the TinyLFU "reset"). The addition count is halved too, less the truncation error:
   * each odd counter lost half an increment, and a key owns four counters.
   */
  reset(): void {
    const table = this.#table;
    let odd = 0;
    for (let i = 0; i < table.length; i++) {
      odd += popcount(table[i] & ONE_MASK);
      table[i] = (table[i] >>> 1) & RESET_MASK;
    }
    this.#size = Math.max(0, (this.#size - (odd >>> 2)) >>> 1);
    this.#epoch++;
  }

  /** Zeroes every counter. */
  clear(): void {
    this.#table.fill(0);
    this.#size = 0;
    this.#epoch++;
  }
}

/** Caffeine's `spread`: a 32-bit finaliser (from hash-prospector) so nearby hashes land in unrelated blocks. */
function spread(x: number): number {
  x ^= x >>> 17;
  x = Math.imul(x, 0xed5ad4bb);
  x ^= x >>> 11;
  x = Math.imul(x, 0xac4c1b51);
  x ^= x >>> 15;
  return x;
}

/** Caffeine's `rehash`: a second, independent mix whose four bytes select the four counters inside the block. */
function rehash(x: number): number {
  x = Math.imul(x, 0x31848bab);
  x ^= x >>> 14;
  return x;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}
