/**
 * SuccessorTable: a bounded table of model states (a context such as "the last two keys were a, b"), each with
 * its top-N successors and counts, the tail summarised as one "other" mass so probabilities stay honest.
 *
 * Why: a Markov model over an open key space grows without bound, both in states and in successors per state.
 * Most of a state's next-access mass sits in a few successors (Deshpande & Karypis 2004, "Selective Markov
 * models for predicting Web page accesses", prune low-support states and successors with little loss), so each
 * state keeps `maxSuccessors` entries sorted by count; a newcomer to a full list replaces the smallest, whose
 * count moves to `other` (the total never shrinks, so count / total never overstates a probability).
 * States live in slabs of typed arrays (ids Int32, counts Float32) indexed by slot, found from the 52-bit state key
 * through a NumberIndex (typed arrays too: no object per state). Over `maxStates`, a sampled-LRU eviction (the
 * least recently updated of `evictionSample` random slots, as Redis approximates LRU) frees a slot in O(1).
 * Optional exponential decay with a half-life in ticks (the owner's access counter) is applied lazily to a
 * state when it is next touched: all counts of a state share the factor, so ratios read without decaying. The
 * Float32 counts of a state are halved when its total grows past 2^18 adds (see `rescaleAboveWeights`), so they
 * never saturate however long the process runs.
 * Cost: add O(maxSuccessors), find O(1); memory about 8·maxSuccessors + 70 bytes per state.
 */

import { NumberIndex } from './number-index.ts';

/** Resolved configuration of a SuccessorTable. */
export type SuccessorTableOptions = {
  /** Most states kept; the least recently updated (sampled) is evicted beyond it. */
  readonly maxStates: number;
  /** Successors kept per state (1..255); the rest is summed into the state's `other` mass. */
  readonly maxSuccessors: number;
  /** Half-life of counts in ticks; Infinity for no decay. */
  readonly halfLife: number;
};

/** Random slots compared per eviction: 8 finds a state in the oldest ~12% with probability 0.65, cheaply. */
const evictionSample = 8;
/**
 * A slot's counts are halved when its total passes this many times the weight being added. Counts are Float32 (24
 * bits): left to grow, an add of weight w to a count c rounds to a multiple of c x 2^-23, so the share of a steady
 * successor drifts, and at c / w = 2^24 (fewer adds for fractional weights) an add changes nothing at all: an always
 * true transition sank to p = 0.667 after 25M accesses. Below 2^18 weights, an add rounds by at most 2^-6 of itself
 * (under 0.3% for a successor with a sixth of the mass), and halving keeps every ratio bit for bit. The cost is that
 * evidence older than about 2^18 adds of a state weighs half as much as newer evidence, far beyond the half-lives
 * the models use when they decay at all.
 */
const rescaleAboveWeights = 2 ** 18;
/** First slab size in states; slabs double up to maxStates. */
const initialSlots = 256;

/** Bounded state -> top successors table. Not a Predictor: the building block Markov models are made of. */
export class SuccessorTable {
  readonly #n: number;
  readonly #maxStates: number;
  readonly #halfLife: number;
  readonly #slotOf = new NumberIndex();
  #capacity = 0;
  #used = 0;
  #keyOf = new Float64Array(0);
  #len = new Uint8Array(0);
  #total = new Float64Array(0);
  #other = new Float64Array(0);
  #touched = new Float64Array(0);
  #ids = new Int32Array(0);
  #counts = new Float32Array(0);
  #rng = 0x2545f491;

  constructor(options: SuccessorTableOptions) {
    this.#n = options.maxSuccessors;
    this.#maxStates = options.maxStates;
    this.#halfLife = options.halfLife;
  }

  /** Number of states held (never above maxStates). */
  get size(): number {
    return this.#slotOf.size;
  }

  /** Most states the table holds. */
  get maxStates(): number {
    return this.#maxStates;
  }

  /** Approximate bytes held by the slabs and the key map. */
  get bytes(): number {
    return this.#capacity * (8 + 1 + 8 + 8 + 8 + this.#n * 8) + this.#slotOf.size * 36;
  }

  /** The slot of state `key`, or -1 when absent. Slots are valid until the next `add`. */
  find(key: number): number {
    return this.#slotOf.get(key);
  }

  /** Adds `weight` to the transition state `key` -> successor id `next`, at tick `tick` (non-decreasing). */
  add(key: number, next: number, tick: number, weight = 1): void {
    let slot = this.#slotOf.get(key);
    if (slot < 0) slot = this.#allocate(key);
    else this.#decay(slot, tick);
    this.#touched[slot] = tick;
    const n = this.#n;
    const base = slot * n;
    const ids = this.#ids;
    const counts = this.#counts;
    const len = this.#len[slot];
    let i = 0;
    while (i < len && ids[base + i] !== next) i++;
    if (i < len) {
      counts[base + i] += weight;
    } else if (len < n) {
      ids[base + len] = next;
      counts[base + len] = weight;
      this.#len[slot] = len + 1;
    } else {
      i = n - 1;
      this.#other[slot] += counts[base + i];
      ids[base + i] = next;
      counts[base + i] = weight;
    }
    const total = (this.#total[slot] += weight);
    if (total > weight * rescaleAboveWeights && weight > 0) this.#halve(slot);
    while (i > 0 && counts[base + i] > counts[base + i - 1]) {
      const c = counts[base + i];
      counts[base + i] = counts[base + i - 1];
      counts[base + i - 1] = c;
      const d = ids[base + i];
      ids[base + i] = ids[base + i - 1];
      ids[base + i - 1] = d;
      i--;
    }
  }

  /** Successors held by a slot (sorted by count, highest first). */
  length(slot: number): number {
    return this.#len[slot];
  }

  /** The i-th successor id of a slot. */
  idAt(slot: number, i: number): number {
    return this.#ids[slot * this.#n + i];
  }

  /** The i-th successor's count (in the slot's own decayed units; divide by `total`). */
  countAt(slot: number, i: number): number {
    return this.#counts[slot * this.#n + i];
  }

  /** Total mass of a slot, listed successors plus `other`, in the same units as `countAt`. */
  total(slot: number): number {
    return this.#total[slot];
  }

  /** Mass of successors that fell off the list. */
  other(slot: number): number {
    return this.#other[slot];
  }

  /** Total mass of a slot decayed to tick `tick` (what `minObservations` is compared with). */
  effectiveTotal(slot: number, tick: number): number {
    const t = this.#total[slot];
    if (this.#halfLife === Infinity) return t;
    return t * Math.pow(2, -(tick - this.#touched[slot]) / this.#halfLife);
  }

  #decay(slot: number, tick: number): void {
    if (this.#halfLife === Infinity) return;
    const age = tick - this.#touched[slot];
    if (age <= 0) return;
    const f = Math.pow(2, -age / this.#halfLife);
    const base = slot * this.#n;
    for (let i = 0, len = this.#len[slot]; i < len; i++) this.#counts[base + i] *= f;
    this.#total[slot] *= f;
    this.#other[slot] *= f;
  }

  /** Halves a slot's counts, `other` and total: every ratio stays as it was (halving is exact in binary). */
  #halve(slot: number): void {
    const base = slot * this.#n;
    for (let i = 0, len = this.#len[slot]; i < len; i++) this.#counts[base + i] *= 0.5;
    this.#total[slot] *= 0.5;
    this.#other[slot] *= 0.5;
  }

  #allocate(key: number): number {
    let slot: number;
    if (this.#used < this.#maxStates) {
      if (this.#used === this.#capacity) this.#grow();
      slot = this.#used++;
    } else {
      slot = this.#victim();
      this.#slotOf.delete(this.#keyOf[slot]);
    }
    this.#slotOf.set(key, slot);
    this.#keyOf[slot] = key;
    this.#len[slot] = 0;
    this.#total[slot] = 0;
    this.#other[slot] = 0;
    return slot;
  }

  #victim(): number {
    let best = 0;
    let bestTick = Infinity;
    for (let k = 0; k < evictionSample; k++) {
      let x = this.#rng;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.#rng = x;
      const slot = (x >>> 0) % this.#used;
      if (this.#touched[slot] < bestTick) {
        bestTick = this.#touched[slot];
        best = slot;
      }
    }
    return best;
  }

  #grow(): void {
    const cap = Math.min(this.#maxStates, Math.max(initialSlots, this.#capacity * 2));
    const n = this.#n;
    const keyOf = new Float64Array(cap);
    keyOf.set(this.#keyOf);
    this.#keyOf = keyOf;
    const len = new Uint8Array(cap);
    len.set(this.#len);
    this.#len = len;
    const total = new Float64Array(cap);
    total.set(this.#total);
    this.#total = total;
    const other = new Float64Array(cap);
    other.set(this.#other);
    this.#other = other;
    const touched = new Float64Array(cap);
    touched.set(this.#touched);
    this.#touched = touched;
    const ids = new Int32Array(cap * n);
    ids.set(this.#ids);
    this.#ids = ids;
    const counts = new Float32Array(cap * n);
    counts.set(this.#counts);
    this.#counts = counts;
    this.#capacity = cap;
  }
}
