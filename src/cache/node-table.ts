/**
 * NodeTable: the memory tier's entries by slot, on the access-order lists of slot-lists.ts.
 *
 * No Entry object per entry: a slot keeps the entry's fields in columns (key, value, version, size, `createdAt`, a
 * 16-bit lifetime number standing for its stale and expiry offsets, its hits, its key's sketch hash), about 60 bytes,
 * where an `Entry` record alone costs 120 (BENCHMARKS.md, Memory per entry); the few entries with tags keep them in a
 * side map. `entry(slot)` builds an Entry from them when one is handed out. Only entries with more to them (a
 * prediction, times no lifetime number gives exactly) are kept whole, in another side map, beside the columns the hit
 * path reads; their `hits` column counts hits not yet added to the object, added whenever it is handed out or leaves.
 * So a plain entry handed out twice is two equal objects, not one (`isSameEntry` compares them); an entry kept whole
 * is always the object stored. Keys are found through the table's own hash index (key-index.ts), which a Map would
 * cost 30-55 bytes an entry more than.
 */
import { columnEntry, matchesEntry, noTags, plainLifetime, type Entry } from './entry.ts';
import { KeyIndex } from './key-index.ts';
import { LifetimeTable } from './lifetime-table.ts';
import { FIRST_SLOT, grownColumn, INITIAL_SLOTS, SlotLists } from './slot-lists.ts';

export { FIRST_SLOT, PREFETCH, PROBATION, PROTECTED, WINDOW } from './slot-lists.ts';

/** Flag bits above slot-lists.ts's: the key's sketch counters were found saturated in the sketch's epoch `#saturatedEpoch`. */
const SATURATED = 8;
/** The entry is kept whole (an object in the side map). */
const WHOLE = 16;
/** The entry is a prefetch not used yet (`source` 'prefetch', `hits` 0): its first use must go through `get`. */
const UNUSED = 32;
/** `#life` of a slot whose offsets are in its own columns (`#ownStale`, `#ownTtl`): the lifetime table was full. */
const OWN_LIFETIME = 0xfffe;
/** `#life` of a whole entry whose times are not exact offsets of `createdAt`: its object's times count. */
const OBJECT_TIMES = 0xffff;
/** The plain entry has tags (in `#tags`). */
const TAGGED = 64;
/** A hit count that no longer grows (the column is 32-bit). */
const MAX_HITS = 0xffffffff;

/** A key `matching` found. */
export type KeyMatch = { readonly key: string; readonly version: number; readonly byPrefix: boolean };

/** Entries by slot, each on one of four access-order lists (first = least recent, last = most recent). */
export class NodeTable<V> extends SlotLists {
  #hash = new Int32Array(INITIAL_SLOTS);
  /** The key's hash in `#index` (seeded, unlike `#hash`, the sketch's). */
  #indexHash = new Int32Array(INITIAL_SLOTS);
  #keys = new Array<string | undefined>(INITIAL_SLOTS).fill(undefined);
  #values = new Array<unknown>(INITIAL_SLOTS).fill(undefined);
  #versions = new Float64Array(INITIAL_SLOTS);
  /** `sizeBytes`, or NaN when a float32 cannot hold it exactly: then it is in `#exactSizes`. */
  #sizes = new Float32Array(INITIAL_SLOTS);
  /** Sizes a float32 cannot hold; made when the first is needed (sizes are byte counts: rarely). */
  #exactSizes: Float64Array | undefined;
  #created = new Float64Array(INITIAL_SLOTS);
  /** Lifetime number (in `#lifetimes`), OWN_LIFETIME or OBJECT_TIMES. */
  #life = new Uint16Array(INITIAL_SLOTS);
  /** Stale and expiry offsets of OWN_LIFETIME slots; made when the first is needed (a tier with few TTLs never does). */
  #ownStale: Float64Array | undefined;
  #ownTtl: Float64Array | undefined;
  /** Hits of a plain entry; of a whole one, hits not yet added to the object. */
  #hits = new Uint32Array(INITIAL_SLOTS);
  readonly #whole = new Map<number, Entry<V>>();
  /** The tags of plain entries that have some (most have none: a side map costs them nothing). */
  readonly #tags = new Map<number, readonly string[]>();
  readonly #index = new KeyIndex(this);
  /** The last key `find` looked for and its index hash: `allocate` of that key reuses it. */
  #lastKey: string | undefined;
  #lastHash = 0;
  readonly #lifetimes = new LifetimeTable();
  /** The sketch epoch the SATURATED marks belong to. */
  #saturatedEpoch = -1;

  constructor() {
    super();
    this.clear();
  }

  /** The slot holding `key`, or -1. */
  find(key: string): number {
    const hash = this.#index.hash(key);
    this.#lastKey = key;
    this.#lastHash = hash;
    return this.#index.find(key, hash);
  }

  /** Slots holding an entry (the keys in the index). */
  get used(): number {
    return this.#index.size;
  }

  /**
   * `find` for a key likely looked up last (`get` after the Cache's `hit` found nothing to serve, `set` after a miss):
   * its hash is reused (comparing costs less than hashing).
   */
  findAgain(key: string): number {
    return key === this.#lastKey ? this.#index.find(key, this.#lastHash) : this.find(key);
  }

  /** A new slot holding `entry` (whose key is not held; its sketch hash is `hash`), in no list yet. */
  allocate(entry: Entry<V>, hash: number): number {
    const slot = this.allocateSlot();
    this.#hash[slot] = hash;
    this.#store(slot, entry);
    const key = entry.key;
    this.#indexHash[slot] = key === this.#lastKey ? this.#lastHash : this.#index.hash(key);
    this.#index.insert(slot);
    return slot;
  }

  /** Frees a slot that is in no list (its key leaves the index). */
  release(slot: number): void {
    this.#leave(slot);
    this.#index.remove(slot);
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
    this.freeSlot(slot);
  }

  /** The slot's entry with its `hits` up to date: the object kept whole, or one built from the columns. */
  entry(slot: number): Entry<V> {
    if ((this.flags[slot] & WHOLE) === 0) {
      const life = this.#life[slot];
      const lifetime = life === OWN_LIFETIME ? { staleMs: (this.#ownStale as Float64Array)[slot], ttlMs: (this.#ownTtl as Float64Array)[slot] } : this.#lifetimes.lifetime(life);
      const tags = (this.flags[slot] & TAGGED) === 0 ? noTags : (this.#tags.get(slot) as readonly string[]);
      return columnEntry(this.#keys[slot] as string, this.#values[slot] as V, this.#versions[slot], this.size(slot), this.#created[slot], lifetime, tags, this.#hits[slot]);
    }
    const entry = this.#whole.get(slot) as Entry<V>;
    const pending = this.#hits[slot];
    if (pending !== 0) {
      entry.hits += pending;
      this.#hits[slot] = 0;
    }
    return entry;
  }

  /** True when the slot (-1: none) holds `entry` itself, or (a plain entry) a copy of it (see `isSameEntry`). */
  holds(slot: number, entry: Entry<V>): boolean {
    if (slot < 0) return false;
    if ((this.flags[slot] & WHOLE) !== 0) return this.#whole.get(slot) === entry;
    return plainLifetime(entry) !== undefined && matchesEntry(entry, this.#keys[slot] as string, this.#values[slot], this.#versions[slot], this.size(slot), this.#created[slot], this.staleAt(slot), this.expiresAt(slot), this.#tagsOf(slot));
  }

  /** Puts `entry` in the slot in place of the one there (the slot keeps its place in its list). */
  setEntry(slot: number, entry: Entry<V>): void {
    this.#leave(slot);
    this.flags[slot] &= ~(WHOLE | UNUSED | TAGGED);
    this.#store(slot, entry);
  }

  /**
   * The slot's entry leaves: a whole one's object gets the hits still pending (another holder may read them), tags
   * and the lifetime number are let go.
   */
  #leave(slot: number): void {
    const flags = this.flags[slot];
    if ((flags & WHOLE) !== 0) {
      this.entry(slot);
      this.#whole.delete(slot);
    }
    if ((flags & TAGGED) !== 0) this.#tags.delete(slot);
    if (this.#life[slot] < OWN_LIFETIME) this.#lifetimes.release(this.#life[slot]);
  }

  #store(slot: number, entry: Entry<V>): void {
    const createdAt = entry.createdAt;
    this.#keys[slot] = entry.key;
    this.#values[slot] = entry.value;
    this.#versions[slot] = entry.version;
    const size = entry.sizeBytes;
    if (Math.fround(size) === size) this.#sizes[slot] = size;
    else {
      this.#sizes[slot] = Number.NaN;
      (this.#exactSizes ??= new Float64Array(this.capacity))[slot] = size;
    }
    this.#created[slot] = createdAt;
    const plain = plainLifetime(entry);
    let life: number;
    if (plain !== undefined) {
      life = this.#lifetimes.acquire(plain.staleMs, plain.ttlMs);
      if (life < 0) life = this.#ownLifetime(slot, plain.staleMs, plain.ttlMs);
    } else {
      // Kept whole; a lifetime number, when its times allow one, spares the hit path a look at the object.
      const { staleAt, expiresAt } = entry;
      const staleMs = staleAt - createdAt;
      const ttlMs = expiresAt - createdAt;
      life = createdAt + staleMs === staleAt && createdAt + ttlMs === expiresAt ? this.#lifetimes.acquire(staleMs, ttlMs) : -1;
      if (life < 0) life = OBJECT_TIMES;
    }
    this.#life[slot] = life;
    if (plain !== undefined) {
      this.#hits[slot] = Math.min(entry.hits, MAX_HITS);
      if (entry.tags.length > 0) {
        this.#tags.set(slot, entry.tags);
        this.flags[slot] |= TAGGED;
      }
    } else {
      this.#whole.set(slot, entry);
      this.flags[slot] |= WHOLE;
      this.#hits[slot] = 0;
    }
    if (entry.hits === 0 && entry.source === 'prefetch') this.flags[slot] |= UNUSED;
  }

  key(slot: number): string {
    return this.#keys[slot] as string;
  }

  value(slot: number): V {
    return this.#values[slot] as V;
  }

  version(slot: number): number {
    return this.#versions[slot];
  }

  /** The entry's `sizeBytes`. */
  size(slot: number): number {
    const size = this.#sizes[slot];
    return size === size ? size : (this.#exactSizes as Float64Array)[slot];
  }

  /** The probability the entry was predicted with (1 for a demand entry). */
  probability(slot: number): number {
    return (this.flags[slot] & WHOLE) === 0 ? 1 : (this.#whole.get(slot) as Entry<V>).probability;
  }

  /** The slot's offsets, kept in its own columns (made on first use, as long as the others). */
  #ownLifetime(slot: number, staleMs: number, ttlMs: number): number {
    (this.#ownStale ??= new Float64Array(this.capacity))[slot] = staleMs;
    (this.#ownTtl ??= new Float64Array(this.capacity))[slot] = ttlMs;
    return OWN_LIFETIME;
  }

  /**
   * When the slot's entry stops being fresh: min(staleAt, expiresAt); -Infinity when either time is NaN (never fresh:
   * such an entry is left to `get`, which answers it as the Entry's times say).
   */
  freshUntil(slot: number): number {
    const life = this.#life[slot];
    const until = life < OWN_LIFETIME ? this.#created[slot] + this.#lifetimes.freshMs(life) : Math.min(this.staleAt(slot), this.expiresAt(slot));
    return until === until ? until : -Infinity;
  }

  /** When the slot's entry goes stale. */
  staleAt(slot: number): number {
    const life = this.#life[slot];
    if (life < OWN_LIFETIME) return this.#created[slot] + this.#lifetimes.lifetime(life).staleMs;
    return life === OWN_LIFETIME ? this.#created[slot] + (this.#ownStale as Float64Array)[slot] : (this.#whole.get(slot) as Entry<V>).staleAt;
  }

  /** When the slot's entry expires. */
  expiresAt(slot: number): number {
    const life = this.#life[slot];
    if (life < OWN_LIFETIME) return this.#created[slot] + this.#lifetimes.lifetime(life).ttlMs;
    return life === OWN_LIFETIME ? this.#created[slot] + (this.#ownTtl as Float64Array)[slot] : (this.#whole.get(slot) as Entry<V>).expiresAt;
  }

  /** True while the entry is a prefetch not used yet (`source` 'prefetch', `hits` 0). */
  isUnused(slot: number): boolean {
    return (this.flags[slot] & UNUSED) !== 0;
  }

  /** Counts one hit of the slot's entry (a used prefetch stops being unused). */
  countHit(slot: number): void {
    const hits = this.#hits[slot];
    if (hits !== MAX_HITS) this.#hits[slot] = hits + 1;
    this.flags[slot] &= ~UNUSED;
  }

  /** `countHit` for an entry known to be used already (not `isUnused`): the hit path's, one write fewer. */
  countUsedHit(slot: number): void {
    const hits = this.#hits[slot];
    if (hits !== MAX_HITS) this.#hits[slot] = hits + 1;
  }

  /** Hits counted, those a whole entry's object holds included. */
  hits(slot: number): number {
    const own = this.#hits[slot];
    return (this.flags[slot] & WHOLE) === 0 ? own : own + (this.#whole.get(slot) as Entry<V>).hits;
  }

  hash(slot: number): number {
    return this.#hash[slot];
  }

  indexHash(slot: number): number {
    return this.#indexHash[slot];
  }

  /** Whether the slot's key was found saturated in sketch epoch `epoch` (marks of an older epoch are gone). */
  isSaturated(slot: number, epoch: number): boolean {
    if (epoch !== this.#saturatedEpoch) this.#newEpoch(epoch);
    return (this.flags[slot] & SATURATED) !== 0;
  }

  /** The slot's key was found saturated in sketch epoch `epoch`: its increments change nothing until the epoch ends. */
  setSaturated(slot: number, epoch: number): void {
    if (epoch !== this.#saturatedEpoch) this.#newEpoch(epoch);
    this.flags[slot] |= SATURATED;
  }

  /** The sketch's counters may have gone down: no key is known saturated any more (O(slots), once an epoch). */
  #newEpoch(epoch: number): void {
    const flags = this.flags;
    for (let slot = FIRST_SLOT; slot < this.top; slot++) flags[slot] &= ~SATURATED;
    this.#saturatedEpoch = epoch;
  }

  /**
   * Keys held that start with `prefix` or whose entry carries `tag` (either may be undefined), with the version held
   * and whether the prefix matched; no Entry is built (plain entries have no tags).
   */
  *matching(prefix: string | undefined, tag: string | undefined): IterableIterator<KeyMatch> {
    for (let slot = FIRST_SLOT; slot < this.top; slot++) {
      const key = this.#keys[slot];
      if (key === undefined) continue;
      if (prefix !== undefined && key.startsWith(prefix)) yield { key, version: this.#versions[slot], byPrefix: true };
      else if (tag !== undefined && (this.flags[slot] & (WHOLE | TAGGED)) !== 0 && this.#tagsOf(slot).includes(tag)) {
        yield { key, version: this.#versions[slot], byPrefix: false };
      }
    }
  }

  #tagsOf(slot: number): readonly string[] {
    return (this.flags[slot] & WHOLE) !== 0 ? (this.#whole.get(slot) as Entry<V>).tags : (this.#tags.get(slot) ?? noTags);
  }

  /** Slots holding an entry, in slot order. */
  *slots(): IterableIterator<number> {
    for (let slot = FIRST_SLOT; slot < this.top; slot++) if (this.#keys[slot] !== undefined) yield slot;
  }

  /** Empties every list and frees every slot (whole entries take their pending hits). */
  clear(): void {
    for (const slot of this.#whole.keys()) this.entry(slot);
    this.#whole.clear();
    this.#tags.clear();
    this.#lifetimes.clear();
    this.#index.clear();
    this.#lastKey = undefined;
    this.#keys.fill(undefined);
    this.#values.fill(undefined);
    this.clearLists();
  }

  protected grown(size: number): void {
    this.#hash = grownColumn(this.#hash, new Int32Array(size));
    this.#indexHash = grownColumn(this.#indexHash, new Int32Array(size));
    this.#versions = grownColumn(this.#versions, new Float64Array(size));
    this.#sizes = grownColumn(this.#sizes, new Float32Array(size));
    if (this.#exactSizes !== undefined) this.#exactSizes = grownColumn(this.#exactSizes, new Float64Array(size));
    this.#created = grownColumn(this.#created, new Float64Array(size));
    this.#life = grownColumn(this.#life, new Uint16Array(size));
    if (this.#ownStale !== undefined) this.#ownStale = grownColumn(this.#ownStale, new Float64Array(size));
    if (this.#ownTtl !== undefined) this.#ownTtl = grownColumn(this.#ownTtl, new Float64Array(size));
    this.#hits = grownColumn(this.#hits, new Uint32Array(size));
    // Arrays of the exact size (push would grow their backing stores by half again).
    this.#keys = copied(this.#keys, size);
    this.#values = copied(this.#values, size);
  }
}

/** `from`'s elements in a new array of `size` elements, the rest undefined. */
function copied<T>(from: readonly T[], size: number): Array<T | undefined> {
  const to = new Array<T | undefined>(size).fill(undefined);
  for (let i = 0; i < from.length; i++) to[i] = from[i];
  return to;
}
