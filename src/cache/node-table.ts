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
    this.#entries[slot] = entry;
    this.#hash[slot] = hash;
    this.#sketchEpoch[slot] = -1;
    this.#queue[slot] = 0;
    return slot;
  }

  /** Frees a slot that is in no list. */
  release(slot: number): void {
    this.#entries[slot] = undefined;
    this.#next[slot] = this.#free;
    this.#free = slot;
  }

  entry(slot: number): Entry<V> {
    return this.#entries[slot] as Entry<V>;
  }

  setEntry(slot: number, entry: Entry<V>): void {
    this.#entries[slot] = entry;
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
    this.#entries.fill(undefined);
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
    const entries = this.#entries;
    for (let i = entries.length; i < size; i++) entries.push(undefined);
  }
}
