/**
 * SlotLists: slots numbered from {@link FIRST_SLOT} and four intrusive access-order lists through them (window,
 * probation, protected, prefetch), in typed arrays: the part of the memory tier's node table (node-table.ts) that knows
 * nothing of entries.
 *
 * Why: the hit path must not allocate, and moving an entry to the most-recent end must be O(1) and touch little
 * memory. One object per node with `prev`/`next` pointers costs ~70 bytes each and scatters over the heap, so a
 * random hit takes several cache misses; here, as in node-lru-cache, a node is a small integer slot and its links
 * live in parallel typed arrays. The lists are circular through sentinel slots 0-3, so no link is ever empty and the
 * end of a list is simply a slot below `FIRST_SLOT`. Freed slots are reused through a free list threaded through
 * `next`. Columns grow by an eighth when full (whole 64-slot steps), so at most a ninth of them stand empty; a
 * subclass grows its own columns with them (`grown`). Cost: O(1) per list operation, amortised O(1) per allocation.
 */

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
/** Slots allocated up front. */
export const INITIAL_SLOTS = 64;
/** Bits 0-1 of a slot's flag byte: its list. */
const LIST = 3;
/** Flag bit: spared once by the prefetch victim selection. Bits 3-7 are the subclass's. */
const SPARED = 4;

export abstract class SlotLists {
  #prev = new Int32Array(INITIAL_SLOTS);
  #next = new Int32Array(INITIAL_SLOTS);
  /** Per slot: its list (bits 0-1), SPARED, and the subclass's bits. */
  protected flags = new Uint8Array(INITIAL_SLOTS);
  readonly #lengths = new Int32Array(4);
  /** Slots below this have been handed out at least once. */
  protected top = FIRST_SLOT;
  #free = -1;

  /** Column length: slots a subclass's columns must hold. */
  protected get capacity(): number {
    return this.#prev.length;
  }

  /** A free slot, in no list, its flags cleared. */
  protected allocateSlot(): number {
    let slot = this.#free;
    if (slot >= 0) this.#free = this.#next[slot];
    else {
      if (this.top === this.#prev.length) this.#grow();
      slot = this.top++;
    }
    this.flags[slot] = 0;
    return slot;
  }

  /** Returns a slot that is in no list to the free list. */
  protected freeSlot(slot: number): void {
    this.flags[slot] = 0;
    this.#next[slot] = this.#free;
    this.#free = slot;
  }

  /** The subclass's columns grow to `size` slots (the lists' columns have). */
  protected abstract grown(size: number): void;

  /** The list the slot is in (its region). */
  queue(slot: number): number {
    return this.flags[slot] & LIST;
  }

  /** Prefetch victim selection: whether the slot was spared once already. */
  isSpared(slot: number): boolean {
    return (this.flags[slot] & SPARED) !== 0;
  }

  spare(slot: number): void {
    this.flags[slot] |= SPARED;
  }

  /** Clears the spared mark (a prefetch predicted again starts over). */
  unspare(slot: number): void {
    this.flags[slot] &= ~SPARED;
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
    this.flags[slot] = (this.flags[slot] & ~(SPARED | 3)) | list; // a push clears SPARED
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
    this.#lengths[this.flags[slot] & LIST]--;
  }

  /** Makes `slot` the most recent of its list. */
  moveToLast(slot: number): void {
    const prev = this.#prev;
    const next = this.#next;
    const list = this.flags[slot] & LIST;
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
  protected clearLists(): void {
    for (let list = 0; list < FIRST_SLOT; list++) {
      this.#prev[list] = list;
      this.#next[list] = list;
      this.#lengths[list] = 0;
    }
    this.flags.fill(0);
    this.top = FIRST_SLOT;
    this.#free = -1;
  }

  #grow(): void {
    const size = this.#prev.length + Math.max(INITIAL_SLOTS, Math.ceil(this.#prev.length / 8 / INITIAL_SLOTS) * INITIAL_SLOTS);
    this.#prev = grownColumn(this.#prev, new Int32Array(size));
    this.#next = grownColumn(this.#next, new Int32Array(size));
    this.flags = grownColumn(this.flags, new Uint8Array(size));
    this.grown(size);
  }
}

/** `to`, holding `from`'s values first. */
export function grownColumn<T extends Int32Array | Uint32Array | Uint16Array | Uint8Array | Float32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
