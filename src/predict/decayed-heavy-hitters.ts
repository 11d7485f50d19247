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
  /**
   * Slot + 1 of each counted key id (0: empty), open addressing with linear probing keyed by a hash of the id, at
   * most half full: a Map<number, number> costs a hashed lookup plus a delete and a set whenever a new key takes
   * a counter (most accesses of a long-tailed stream). The id of slot s is `#ids[s]`.
   */
  readonly #index: Int32Array;
  readonly #shift: number;
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
  /** Slots of the last `topInto`'s answer, best first (`#lastN` of them): their scores now bound the next cut. */
  readonly #lastSlots: Int32Array;
  #lastN = 0;

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
    const slots = 1 << (33 - Math.clz32(capacity)); // the power of two above 2 x capacity
    this.#index = new Int32Array(slots);
    this.#shift = Math.clz32(slots) + 1;
    this.#scratch = new Float64Array(capacity);
    this.#select = new Float64Array(capacity);
    this.#lastSlots = new Int32Array(capacity);
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
    const index = this.#index;
    const mask = index.length - 1;
    let h = this.#home(id);
    let slot = -1;
    for (let e = index[h]; e !== 0; e = index[h]) {
      if (this.#ids[e - 1] === id) {
        slot = e - 1;
        break;
      }
      h = (h + 1) & mask;
    }
    if (slot < 0) {
      if (this.#size < this.#capacity) {
        slot = this.#size++;
        this.#long[slot] = 0;
        this.#short[slot] = 0;
        this.#heap[slot] = slot;
        this.#pos[slot] = slot;
        this.#siftUp(slot);
      } else {
        slot = this.#heap[0];
        this.#unindex(this.#ids[slot]);
        h = this.#home(id);
        while (index[h] !== 0) h = (h + 1) & mask;
      }
      this.#ids[slot] = id;
      index[h] = slot + 1;
    }
    this.#long[slot] += wl;
    this.#short[slot] += ws;
    this.#siftDown(this.#pos[slot]);
  }

  /**
   * Writes up to `limit` key ids by score = (1 - trendWeight) x long share + trendWeight x short share, highest
   * first, into `ids` / `scores` (each at least `limit` long) and returns how many. A share is the key's decayed
   * count over the decayed count of all accesses, an estimate of P(next = key). O(capacity): the scores go to
   * a scratch array, a cut-off at most the limit-th score drops the keys that cannot rank, and the rest are sorted
   * by insertion (ties to the lower slot). The cut-off is the lowest score now of the last answer's first `limit`
   * slots: `limit` distinct counters score at least that, so no key below it ranks; the answer changes a little
   * between calls, so few keys pass it. Without a last answer as long, a quickselect finds the limit-th score.
   */
  topInto(limit: number, trendWeight: number, ids: Int32Array, scores: Float64Array): number {
    const size = this.#size;
    if (size === 0 || !(limit > 0)) return 0;
    const lt = this.#longTotal;
    const st = this.#shortTotal;
    const all = this.#scratch;
    for (let slot = 0; slot < size; slot++) all[slot] = (1 - trendWeight) * (this.#long[slot] / lt) + trendWeight * (this.#short[slot] / st);
    const slots = this.#lastSlots;
    let threshold = -Infinity;
    if (size > limit) {
      if (this.#lastN >= limit) {
        threshold = Infinity;
        for (let k = 0; k < limit; k++) if (all[slots[k]] < threshold) threshold = all[slots[k]];
      } else {
        const copy = this.#select;
        copy.set(all.subarray(0, size));
        threshold = kthLargestInPlace(copy, size, limit);
      }
    }
    let n = 0;
    for (let slot = 0; slot < size; slot++) {
      const s = all[slot];
      if (s < threshold) continue;
      if (n === limit && s <= scores[limit - 1]) continue;
      let j = n < limit ? n++ : limit - 1;
      while (j > 0 && scores[j - 1] < s) {
        scores[j] = scores[j - 1];
        slots[j] = slots[j - 1];
        j--;
      }
      scores[j] = s;
      slots[j] = slot;
    }
    for (let k = 0; k < n; k++) ids[k] = this.#ids[slots[k]];
    this.#lastN = n;
    return n;
  }

  /** Home cell of key id `id` in `#index` (a multiplicative hash: its top bits). */
  #home(id: number): number {
    return Math.imul(id, 0x9e3779b1) >>> this.#shift;
  }

  /** Removes key id `id` (indexed) from `#index`, shifting back the entries after it that probed past its cell. */
  #unindex(id: number): void {
    const index = this.#index;
    const mask = index.length - 1;
    let i = this.#home(id);
    while (this.#ids[index[i] - 1] !== id) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const k = this.#home(this.#ids[index[j] - 1]);
      // The entry at j stays when its home lies cyclically in (i, j]; else it moves into the hole at i.
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      index[i] = index[j];
      i = j;
    }
    index[i] = 0;
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
