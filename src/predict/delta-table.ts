/**
 * DeltaTable: DeltaPredictor's global table of delta -> decayed count, with its cached top `topSize` deltas.
 *
 * Why: the table is updated on every numeric access and read by every prediction. A Map<number, number> boxes
 * each new count (a heap number per access, and the garbage that follows) and hashes a heap number per get and
 * set; this table keeps keys and counts in Float64Arrays, in insertion order (a Map's iteration order, which the
 * ranking's tie-breaks and the pruning's order depend on: the results are the Map's to the bit), with an
 * open-addressing index beside them. Cost: O(1) expected per count, O(size) per prune (compaction and a rebuilt
 * index), per rescale and per re-rank.
 */
import { kthLargestInPlace } from './quickselect.ts';

/** Scale from a delta's high 32 bits to an integer (2^-32: exact). */
const highScale = 1 / 4294967296;

/**
 * Hash of a delta, an integer (a difference of safe integers): its low and high 32 bits, mixed; unsigned 32 bits,
 * whose top bits are the well-mixed ones (a table of 2^b slots takes `>>> (32 - b)`).
 */
export function deltaHash(d: number): number {
  return Math.imul((d | 0) ^ Math.imul((d * highScale) | 0, 0x85ebca6b), 0x9e3779b1) >>> 0;
}

/** Insertion-ordered delta -> count table. */
export class DeltaTable {
  /** Deltas and their counts, in insertion order (as a Map would iterate them), `size` of them. */
  #keys = new Float64Array(16);
  #counts = new Float64Array(16);
  #size = 0;
  /** Open-addressing index: entry index + 1, 0 for empty; its length is a power of two at least twice `size`. */
  #index = new Int32Array(32);
  /** 32 - log2(index length): a hash's top bits pick its slot (the well-mixed ones of a multiplicative hash). */
  #shift = 27;
  #pruneScratch = new Float64Array(0);
  /** The most frequent deltas (highest first, Map order among equals) and their counts when last ranked. */
  readonly topDeltas: Float64Array;
  readonly topCounts: Float64Array;
  topLength = 0;

  /** @param topSize deltas kept by `rank`. */
  constructor(topSize: number) {
    this.topDeltas = new Float64Array(topSize);
    this.topCounts = new Float64Array(topSize);
  }

  /** Distinct deltas held. */
  get size(): number {
    return this.#size;
  }

  /** Adds `w` to the count of `d` (0 + w when new, appended last, as Map.set does). */
  add(d: number, w: number): void {
    const index = this.#index;
    const mask = index.length - 1;
    let h = deltaHash(d) >>> this.#shift;
    for (;;) {
      const e = index[h];
      if (e === 0) break;
      if (this.#keys[e - 1] === d) {
        this.#counts[e - 1] += w;
        return;
      }
      h = (h + 1) & mask;
    }
    if (this.#size === this.#keys.length) this.#growEntries();
    const at = this.#size++;
    this.#keys[at] = d;
    this.#counts[at] = 0 + w;
    if (2 * this.#size > index.length) this.#reindex(2 * index.length);
    else index[h] = at + 1;
  }

  /** Multiplies every count by `f`. */
  scale(f: number): void {
    const counts = this.#counts;
    for (let i = 0; i < this.#size; i++) counts[i] *= f;
  }

  /**
   * Drops, in insertion order, deltas whose count is at most the median (ascending position floor(size / 2),
   * by quickselect: a sort costs about 10x more) until at most `keep` remain.
   */
  prune(keep: number): void {
    const size = this.#size;
    if (this.#pruneScratch.length < size) this.#pruneScratch = new Float64Array(2 * size);
    const scratch = this.#pruneScratch;
    const keys = this.#keys;
    const counts = this.#counts;
    scratch.set(counts.subarray(0, size));
    const cut = kthLargestInPlace(scratch, size, size - Math.floor(size / 2));
    let live = size;
    let w = 0;
    let r = 0;
    for (; r < size && live > keep; r++) {
      if (counts[r] <= cut) {
        live--;
        continue;
      }
      keys[w] = keys[r];
      counts[w++] = counts[r];
    }
    for (; r < size; r++) {
      keys[w] = keys[r];
      counts[w++] = counts[r];
    }
    this.#size = w;
    this.#reindex(this.#index.length);
  }

  /** Caches the most frequent deltas in `topDeltas` / `topCounts`, highest first (insertion order among equals). */
  rank(): void {
    const top = this.topDeltas;
    const counts = this.topCounts;
    const max = top.length;
    let n = 0;
    for (let e = 0; e < this.#size; e++) {
      const c = this.#counts[e];
      if (n === max && c <= counts[n - 1]) continue;
      let at = n < max ? n++ : n - 1;
      while (at > 0 && counts[at - 1] < c) {
        top[at] = top[at - 1];
        counts[at] = counts[at - 1];
        at--;
      }
      top[at] = this.#keys[e];
      counts[at] = c;
    }
    this.topLength = n;
  }

  #growEntries(): void {
    const keys = new Float64Array(2 * this.#keys.length);
    const counts = new Float64Array(2 * this.#counts.length);
    keys.set(this.#keys);
    counts.set(this.#counts);
    this.#keys = keys;
    this.#counts = counts;
  }

  #reindex(length: number): void {
    const index = length === this.#index.length ? this.#index.fill(0) : new Int32Array(length);
    const mask = length - 1;
    const shift = Math.clz32(length) + 1;
    this.#shift = shift;
    for (let e = 0; e < this.#size; e++) {
      let h = deltaHash(this.#keys[e]) >>> shift;
      while (index[h] !== 0) h = (h + 1) & mask;
      index[h] = e + 1;
    }
    this.#index = index;
  }
}
