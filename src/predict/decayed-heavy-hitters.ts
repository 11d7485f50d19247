/**
 * DecayedHeavyHitters: the most popular keys of a stream, by exponentially decayed count, in bounded space,
 * with a short-horizon rate beside the long one to tell trending keys from stale favourites.
 *
 * Why: a popularity fallback must follow shifting demand without a counter per key ever seen. Space-Saving
 * (Metwally, Agrawal & El Abbadi 2005, "Efficient computation of frequent and top-k elements in data streams")
 * keeps `capacity` counters; a key outside them takes the smallest counter's place and inherits its count, so no
 * heavy hitter is missed and each count overestimates by at most the inherited amount. Decay uses forward
 * weights (Cormode et al. 2009, "Forward decay"): access t adds 2^(t / halfLife), so old counts shrink relative
 * to new ones without touching them, and all weights are rescaled when they grow large. The counters sit in a
 * binary min-heap (weights only grow, so an increment only sifts down), O(log capacity) per access.
 */
import { kthLargestInPlace } from './quickselect.ts';

/** Smallest-first heap of decayed counters over dense key ids. */
export class DecayedHeavyHitters {
  readonly #capacity: number;
  readonly #longHalfLife: number;
  readonly #shortHalfLife: number;
  #slotOf = new Map<number, number>();
  #ids: Int32Array;
  #long: Float64Array;
  #short: Float64Array;
  #heap: Int32Array;
  #pos: Int32Array;
  #size = 0;
  #longBase = 0;
  #shortBase = 0;
  #longTotal = 0;
  #shortTotal = 0;
  #tick = 0;
  readonly #scratch: Float64Array;
  readonly #select: Float64Array;

  /**
   * @param capacity counters kept.
   * @param longHalfLife half-life of the popularity count, in accesses.
   * @param shortHalfLife half-life of the trend count, in accesses.
   */
  constructor(capacity: number, longHalfLife: number, shortHalfLife: number) {
    this.#capacity = capacity;
    this.#longHalfLife = longHalfLife;
    this.#shortHalfLife = shortHalfLife;
    this.#ids = new Int32Array(capacity);
    this.#long = new Float64Array(capacity);
    this.#short = new Float64Array(capacity);
    this.#heap = new Int32Array(capacity);
    this.#pos = new Int32Array(capacity);
    this.#scratch = new Float64Array(capacity);
    this.#select = new Float64Array(capacity);
  }

  /** Counters in use. */
  get size(): number {
    return this.#size;
  }

  /** Accesses counted. */
  get accesses(): number {
    return this.#tick;
  }

  /** Counts one access to key id `id`. */
  add(id: number): void {
    const t = ++this.#tick;
    let wl = Math.pow(2, (t - this.#longBase) / this.#longHalfLife);
    let ws = Math.pow(2, (t - this.#shortBase) / this.#shortHalfLife);
    if (wl > 1e100) wl = this.#rescaleLong(t);
    if (ws > 1e100) ws = this.#rescaleShort(t);
    this.#longTotal += wl;
    this.#shortTotal += ws;
    let slot = this.#slotOf.get(id);
    if (slot === undefined) {
      if (this.#size < this.#capacity) {
        slot = this.#size++;
        this.#long[slot] = 0;
        this.#short[slot] = 0;
        this.#heap[slot] = slot;
        this.#pos[slot] = slot;
        this.#siftUp(slot);
      } else {
        slot = this.#heap[0];
        this.#slotOf.delete(this.#ids[slot]);
      }
      this.#ids[slot] = id;
      this.#slotOf.set(id, slot);
    }
    this.#long[slot] += wl;
    this.#short[slot] += ws;
    this.#siftDown(this.#pos[slot]);
  }

  /**
   * Writes up to `limit` key ids by score = (1 - trendWeight) x long share + trendWeight x short share, highest
   * first, into `ids` / `scores` (each at least `limit` long) and returns how many. A share is the key's decayed
   * count over the decayed count of all accesses, an estimate of P(next = key). O(capacity): the scores go to
   * a scratch array, a quickselect finds the limit-th, and only the keys at or above it are sorted.
   */
  topInto(limit: number, trendWeight: number, ids: Int32Array, scores: Float64Array): number {
    const size = this.#size;
    if (size === 0 || !(limit > 0)) return 0;
    const lt = this.#longTotal;
    const st = this.#shortTotal;
    const all = this.#scratch;
    for (let slot = 0; slot < size; slot++) all[slot] = (1 - trendWeight) * (this.#long[slot] / lt) + trendWeight * (this.#short[slot] / st);
    let threshold = -Infinity;
    if (size > limit) {
      const copy = this.#select;
      copy.set(all.subarray(0, size));
      threshold = kthLargestInPlace(copy, size, limit);
    }
    let n = 0;
    for (let slot = 0; slot < size; slot++) {
      const s = all[slot];
      if (s < threshold) continue;
      if (n === limit && s <= scores[limit - 1]) continue;
      let j = n < limit ? n++ : limit - 1;
      while (j > 0 && scores[j - 1] < s) {
        scores[j] = scores[j - 1];
        ids[j] = ids[j - 1];
        j--;
      }
      scores[j] = s;
      ids[j] = this.#ids[slot];
    }
    return n;
  }

  #rescaleLong(t: number): number {
    const f = Math.pow(2, -(t - this.#longBase) / this.#longHalfLife);
    for (let i = 0; i < this.#size; i++) this.#long[i] *= f;
    this.#longTotal *= f;
    this.#longBase = t;
    return 1;
  }

  #rescaleShort(t: number): number {
    const f = Math.pow(2, -(t - this.#shortBase) / this.#shortHalfLife);
    for (let i = 0; i < this.#size; i++) this.#short[i] *= f;
    this.#shortTotal *= f;
    this.#shortBase = t;
    return 1;
  }

  #siftUp(i: number): void {
    const heap = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#long[heap[p]] <= this.#long[heap[i]]) break;
      this.#swap(i, p);
      i = p;
    }
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = this.#size;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#long[heap[l]] < this.#long[heap[m]]) m = l;
      if (r < n && this.#long[heap[r]] < this.#long[heap[m]]) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }

  #swap(i: number, j: number): void {
    const heap = this.#heap;
    const a = heap[i];
    heap[i] = heap[j];
    heap[j] = a;
    this.#pos[heap[i]] = i;
    this.#pos[heap[j]] = j;
  }
}
