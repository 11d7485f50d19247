/**
 * KeyIndex: the memory tier's key → slot lookup, an open-addressing hash table of slot numbers (linear probing,
 * backward-shift deletion, so no tombstones), with 8 bits of each key's hash beside its cell.
 *
 * Why not a `Map<string, number>`: a Map entry costs 24-56 bytes (key, value and chain words, its buckets, and the
 * doubling slack), a third of the whole budget of an entry (BENCHMARKS.md, Memory per entry). Here a cell is a 32-bit
 * slot number and an 8-bit tag, 6-12 bytes an entry at a load of 0.4-0.8; the key and its hash live in the slot's
 * columns (node-table.ts, 4 bytes for the hash, which spares removals and resizes hashing keys again), the key read
 * only when a tag matches (one in 256 of the other keys a probe passes). Cost: a JavaScript
 * string hash per lookup, where a Map reuses the hash V8 caches in the string object; for a key built per request, as
 * a server gets it, both pay a hash.
 *
 * The hash is seeded at random per index: keys chosen to collide (an FNV multicollision, easy to build offline) would
 * otherwise make every lookup of them walk one long run. Positions never reach the eviction policy (which hashes keys
 * with its own seeded sketch), so replays stay deterministic.
 */

/** What the index reads of a slot: its key, and the index hash of that key (`hash`), kept by the slot's owner. */
export type SlotKeys = {
  key(slot: number): string;
  indexHash(slot: number): number;
};

/** Cells start at this many and double past {@link MAX_LOAD}. */
const INITIAL_CELLS = 64;
/** Grow when more than this share of the cells is used. */
const MAX_LOAD = 0.8;

export class KeyIndex {
  readonly #slots: SlotKeys;
  readonly #seed: number;
  /** Slot numbers (every slot is above 0); 0 marks an empty cell. */
  #cells = new Int32Array(INITIAL_CELLS);
  /** The top 8 bits of each cell's key hash. */
  #tags = new Uint8Array(INITIAL_CELLS);
  #mask = INITIAL_CELLS - 1;
  #size = 0;

  /** `seed`: the hash's seed (random when omitted; a test may fix it). */
  constructor(slots: SlotKeys, seed = (Math.random() * 2 ** 32) | 0) {
    this.#slots = slots;
    this.#seed = seed | 0;
  }

  /** Number of keys held. */
  get size(): number {
    return this.#size;
  }

  /**
   * The index's hash of `key`: seeded FNV-1a over the even and the odd characters in two lanes (half the chain of
   * dependent multiplications of one lane: about 30% faster here), mixed with the length, then the murmur3 finaliser
   * (FNV's low bits alone cluster).
   */
  hash(key: string): number {
    const length = key.length;
    let even = this.#seed ^ 0x811c9dc5;
    let odd = this.#seed ^ 0x2545f491;
    let i = 0;
    for (; i + 1 < length; i += 2) {
      even = Math.imul(even ^ key.charCodeAt(i), 0x01000193);
      odd = Math.imul(odd ^ key.charCodeAt(i + 1), 0x01000193);
    }
    if (i < length) even = Math.imul(even ^ key.charCodeAt(i), 0x01000193);
    let h = even ^ Math.imul(odd ^ length, 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** The slot of `key`, whose `hash(key)` is `hash`, or -1. */
  find(key: string, hash: number): number {
    const cells = this.#cells;
    const tags = this.#tags;
    const mask = this.#mask;
    const tag = hash >>> 24;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = cells[i];
      if (slot === 0) return -1;
      if (tags[i] === tag && this.#slots.key(slot) === key) return slot;
    }
  }

  /** Adds `slot`, whose key is not in the index yet (its `indexHash` already set). */
  insert(slot: number): void {
    if (this.#size + 1 > (this.#mask + 1) * MAX_LOAD) this.#resize((this.#mask + 1) * 2);
    this.#place(slot, this.#slots.indexHash(slot));
    this.#size++;
  }

  /** Removes `slot` (held). */
  remove(slot: number): void {
    const cells = this.#cells;
    const tags = this.#tags;
    const mask = this.#mask;
    let i = this.#slots.indexHash(slot) & mask;
    while (cells[i] !== slot) i = (i + 1) & mask;
    // Backward shift: every later cell of the run that may move into the hole does, so lookups never meet a gap.
    for (let j = (i + 1) & mask; cells[j] !== 0; j = (j + 1) & mask) {
      const wanted = this.#slots.indexHash(cells[j]) & mask;
      // The cell at j may fill the hole at i when its home is not in (i, j], cyclically.
      if (i <= j ? wanted <= i || wanted > j : wanted <= i && wanted > j) {
        cells[i] = cells[j];
        tags[i] = tags[j];
        i = j;
      }
    }
    cells[i] = 0;
    this.#size--;
  }

  /** Forgets every key (the cells shrink back to their first size). */
  clear(): void {
    this.#cells = new Int32Array(INITIAL_CELLS);
    this.#tags = new Uint8Array(INITIAL_CELLS);
    this.#mask = INITIAL_CELLS - 1;
    this.#size = 0;
  }

  #place(slot: number, hash: number): void {
    const cells = this.#cells;
    const mask = this.#mask;
    let i = hash & mask;
    while (cells[i] !== 0) i = (i + 1) & mask;
    cells[i] = slot;
    this.#tags[i] = hash >>> 24;
  }

  #resize(cellCount: number): void {
    const old = this.#cells;
    this.#cells = new Int32Array(cellCount);
    this.#tags = new Uint8Array(cellCount);
    this.#mask = cellCount - 1;
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.#place(old[i], this.#slots.indexHash(old[i]));
  }
}
