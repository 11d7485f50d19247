/**
 * NodeTable: the memory tier's entries and their intrusive access-order lists, stored by slot in typed arrays.
 *
 * Why: the hit path must not allocate, and moving an entry to the most-recent end must be O(1) and touch little
 * memory. One object per node with `prev`/`next` pointers costs ~70 bytes each and scatters over the heap, so a
 * random hit takes several cache misses; here, as in node-lru-cache, a node is a small integer slot and its links,
 * key hash and region live in parallel typed arrays (13 bytes per slot), plus one pointer to the Entry. The four
 * lists (window, probation, protected, prefetch) are circular through sentinel slots 0-3, so no link is ever
 * empty and the end of a list is simply a slot below `FIRST_SLOT`. Arrays grow by doubling; freed slots are reused
 * through a free list threaded through `next`. Cost: O(1) per list operation, amortised O(1) per allocation.
 *
 * The hit path's own columns: each slot also keeps when its entry stops being fresh (the earlier of its stale and
 * expiry times), an answer its owner attached to the entry (the Cache's shared hit result) and the hits served from
 * that answer not yet added to `entry.hits`. A repeated hit then reads only these columns and never the Entry, a
 * scattered heap object whose every read is a cache miss (BENCHMARKS.md, Hit throughput); `entry(slot)` adds the
 * pending hits to the Entry whenever it hands it out, so `hits` is exact wherever the tier gives the entry away.
 * Cost: 24 bytes per slot (two doubles and a pointer).
 */
import type { Entry } from './entry.ts';

/** List (and region) of the admission window (LRU). */
export const WINDOW = 0;
/** List of main entries seen once since admission (segmented LRU, probation segment). */
export const PROBATION = 1;
/** List of main entries hit again after admission (segmented LRU, protected segment). */
export const PROTECTED = 2;
/** List of prefetched entries not used yet. */
export const PREFETCH = 3;
/** Slots below this are the lists' sentinels. */
export const FIRST_SLOT = 4;
/** Slots allocated up front; the arrays double when full. */
const INITIAL_SLOTS = 64;

/** Slot-indexed node storage with four access-order lists (first = least recent, last = most recent). */
export class NodeTable<V> {
  #prev: Int32Array;
  #next: Int32Array;
  #hash: Int32Array;
  /** The sketch epoch in which the slot's key was found saturated (-1: not known to be). */
  #sketchEpoch: Int32Array;
  /** Region (list id) of each slot; bit 4 marks a prefetch the victim selection spared once. */
  #queue: Uint8Array;
  #entries: Array<Entry<V> | undefined>;
  /**
   * Two numbers per slot, side by side so a hit reads one cache line: at 2 × slot, min(staleAt, expiresAt) of the
   * slot's entry; at 2 × slot + 1, the hits counted by `countAnswerHit` not yet added to the entry's `hits`.
   */
  #fresh: Float64Array;
  /** The owner's answer for the slot's entry (cleared when the entry changes), or undefined. */
  #answers: unknown[];
  readonly #lengths = new Int32Array(4);
  #top = FIRST_SLOT;
  #free = -1;

  constructor() {
    this.#prev = new Int32Array(INITIAL_SLOTS);
    this.#next = new Int32Array(INITIAL_SLOTS);
    this.#hash = new Int32Array(INITIAL_SLOTS);
    this.#sketchEpoch = new Int32Array(INITIAL_SLOTS);
    this.#queue = new Uint8Array(INITIAL_SLOTS);
    this.#entries = new Array<Entry<V> | undefined>(INITIAL_SLOTS).fill(undefined);
    this.#fresh = new Float64Array(2 * INITIAL_SLOTS);
    this.#answers = new Array<unknown>(INITIAL_SLOTS).fill(undefined);
    this.clear();
  }

  /** A new slot holding `entry`, in no list yet. */
  allocate(entry: Entry<V>, hash: number): number {
    let slot = this.#free;
    if (slot >= 0) this.#free = this.#next[slot];
    else {
      if (this.#top === this.#prev.length) this.#grow();
      slot = this.#top++;
    }
    this.#hash[slot] = hash;
    this.#sketchEpoch[slot] = -1;
    this.#queue[slot] = 0;
    this.#setEntry(slot, entry);
    return slot;
  }

  /** Frees a slot that is in no list (its entry's pending hits are added to it first). */
  release(slot: number): void {
    this.entry(slot);
    this.#entries[slot] = undefined;
    this.#answers[slot] = undefined;
    this.#next[slot] = this.#free;
    this.#free = slot;
  }

  /** The slot's entry, its `hits` brought up to date. */
  entry(slot: number): Entry<V> {
    const entry = this.#entries[slot] as Entry<V>;
    const pending = this.#fresh[2 * slot + 1];
    if (pending !== 0) {
      entry.hits += pending;
      this.#fresh[2 * slot + 1] = 0;
    }
    return entry;
  }

  /** Puts `entry` in the slot in place of the one there (whose pending hits are added to it first). */
  setEntry(slot: number, entry: Entry<V>): void {
    this.entry(slot);
    this.#setEntry(slot, entry);
  }

  #setEntry(slot: number, entry: Entry<V>): void {
    this.#entries[slot] = entry;
    this.#fresh[2 * slot] = Math.min(entry.staleAt, entry.expiresAt);
    this.#fresh[2 * slot + 1] = 0;
    this.#answers[slot] = undefined;
  }

  /** The answer attached to the slot's entry, or undefined. */
  answer(slot: number): unknown {
    return this.#answers[slot];
  }

  /** Attaches `answer` to the slot's current entry (dropped when the entry is replaced or leaves). */
  setAnswer(slot: number, answer: unknown): void {
    this.#answers[slot] = answer;
  }

  /** When the slot's entry stops being fresh: min(staleAt, expiresAt). */
  freshUntil(slot: number): number {
    return this.#fresh[2 * slot];
  }

  /** Counts one hit of the slot's entry without reading it (added to `entry.hits` when the entry is next handed out). */
  countAnswerHit(slot: number): void {
    this.#fresh[2 * slot + 1]++;
  }

  hash(slot: number): number {
    return this.#hash[slot];
  }

  /** The frequency sketch's epoch in which the slot's key was last found saturated, or -1. */
  sketchEpoch(slot: number): number {
    return this.#sketchEpoch[slot];
  }

  setSketchEpoch(slot: number, epoch: number): void {
    this.#sketchEpoch[slot] = epoch;
  }

  /** The list the slot is in (its region). */
  queue(slot: number): number {
    return this.#queue[slot] & 3;
  }

  /** Prefetch victim selection: whether the slot was spared once already. */
  isSpared(slot: number): boolean {
    return (this.#queue[slot] & 4) !== 0;
  }

  spare(slot: number): void {
    this.#queue[slot] |= 4;
  }

  /** Clears the spared mark (a prefetch predicted again starts over). */
  unspare(slot: number): void {
    this.#queue[slot] &= ~4;
  }

  /** Number of slots in `list`. */
  length(list: number): number {
    return this.#lengths[list];
  }

  /** Least recent slot of `list`, or a value below FIRST_SLOT when empty. */
  first(list: number): number {
    return this.#next[list];
  }

  /** The slot after `slot` in its list (more recent), or a value below FIRST_SLOT at the end. */
  after(slot: number): number {
    return this.#next[slot];
  }

  /**
   * `after`, past the slots in `marked` (those a trial eviction counts as gone, see WindowTinyLfu.wouldEvict); of a
   * list's sentinel, the list's oldest such slot.
   */
  afterUnmarked(slot: number, marked: ReadonlySet<number> | undefined): number {
    let next = this.#next[slot];
    if (marked !== undefined) while (next >= FIRST_SLOT && marked.has(next)) next = this.#next[next];
    return next;
  }

  /** Appends `slot` (in no list) to `list` as most recent. */
  push(list: number, slot: number): void {
    const prev = this.#prev;
    const next = this.#next;
    const tail = prev[list];
    prev[slot] = tail;
    next[slot] = list;
    next[tail] = slot;
    prev[list] = slot;
    this.#queue[slot] = list;
    this.#lengths[list]++;
  }

  /** Unlinks `slot` from its list. */
  remove(slot: number): void {
    const prev = this.#prev;
    const next = this.#next;
    const p = prev[slot];
    const n = next[slot];
    next[p] = n;
    prev[n] = p;
    this.#lengths[this.#queue[slot] & 3]--;
  }

  /** Makes `slot` the most recent of its list. */
  moveToLast(slot: number): void {
    const prev = this.#prev;
    const next = this.#next;
    const list = this.#queue[slot] & 3;
    const tail = prev[list];
    if (tail === slot) return;
    const p = prev[slot];
    const n = next[slot];
    next[p] = n;
    prev[n] = p;
    prev[slot] = tail;
    next[slot] = list;
    next[tail] = slot;
    prev[list] = slot;
  }

  /** Empties every list and frees every slot. */
  clear(): void {
    for (let list = 0; list < FIRST_SLOT; list++) {
      this.#prev[list] = list;
      this.#next[list] = list;
      this.#lengths[list] = 0;
    }
    for (let slot = FIRST_SLOT; slot < this.#top; slot++) if (this.#entries[slot] !== undefined) this.entry(slot);
    this.#entries.fill(undefined);
    this.#answers.fill(undefined);
    this.#top = FIRST_SLOT;
    this.#free = -1;
  }

  #grow(): void {
    const size = this.#prev.length * 2;
    const grow32 = (from: Int32Array): Int32Array => {
      const to = new Int32Array(size);
      to.set(from);
      return to;
    };
    this.#prev = grow32(this.#prev);
    this.#next = grow32(this.#next);
    this.#hash = grow32(this.#hash);
    this.#sketchEpoch = grow32(this.#sketchEpoch);
    const queue = new Uint8Array(size);
    queue.set(this.#queue);
    this.#queue = queue;
    const fresh = new Float64Array(2 * size);
    fresh.set(this.#fresh);
    this.#fresh = fresh;
    const entries = this.#entries;
    const answers = this.#answers;
    for (let i = entries.length; i < size; i++) {
      entries.push(undefined);
      answers.push(undefined);
    }
  }
}
