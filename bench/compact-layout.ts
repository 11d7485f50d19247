/**
 * Question: can an in-process tier on Node 20 (no pointer compression: every pointer 8 B) hold an entry in under
 * 100 B beyond the key string and the value object, while a hit stays at least 0.5x as fast as lru-cache `get`?
 * MemoryTier spends 246 B (BENCHMARKS.md, Memory per entry): a `Map` key -> slot, typed-array slot columns grown by
 * doubling, a count-min sketch and a 120 B `Entry` object per entry. This file prototypes the layout with no
 * per-entry object at all and measures it.
 *
 * The prototype (`ColumnarStore`) keeps every Entry field by slot: a 32 B record in one ArrayBuffer (key hash,
 * lifetime index into a shared {staleMs, ttlMs} table, a flags byte for source/region, two spare bytes, createdAt
 * and version as float64, sizeBytes uint32, probability float32), the LRU links in their own Int32Array (8 B; links
 * inside a 40 B record measured the same, within this machine's noise), the key and value references side by side
 * in one JS array (a probe's key compare and the hit's value read share a cache line), and a Caffeine-style sketch
 * of 4-bit counters, 8 B per slot of capacity: 64 B a slot in all, before the index. Variants: the key index as a
 * `Map<string, number>`, or as its own open-addressing table (linear probing over an Int32Array of slots, a JS
 * string hash, the stored key compared on probe, backward-shift deletion), sized with multiply-shift range reduction
 * so any size works (no power-of-two rounding); columns grown by 2x or 1.5x, or allocated once to a capacity hint.
 * A hit: index lookup, one expiry compare against `now`, sketch increment, move to the MRU end, return the value.
 * Not in the prototype, so not in its figures: W-TinyLFU's three lists and their sizing, the prefetch region, tags,
 * prediction objects, hit counts.
 *
 * Memory is measured as in memory-overhead.ts: heapUsed plus arrayBuffers after a double gc, keys and values kept
 * alive outside the structure, so the delta is the structure alone; same keys (`user:${i}:profile`) and values
 * (`{ id: i }`). Throughput: 1,000,000 random precomputed gets per round, best of 5 rounds, contenders alternating
 * within a round, each contender's loop its own function so its call sites stay monomorphic. "copied keys" looks up
 * equal strings that are not the stored objects (as keys parsed from a request are): the index must hash and
 * compare contents, where `Map` reuses the hash V8 caches in the string after its first lookup. "key built per get"
 * makes the key in the loop (`user:${id}:profile`, as an application calling the cache does): every contender pays
 * the string's construction and a first hash of a new string.
 *
 *   node --expose-gc --import tsx bench/compact-layout.ts [entries=100000,200000,262144] [held=10000,100000,200000]
 */
import { LRUCache } from 'lru-cache';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const entryCounts = (process.argv[2] ?? '100000,200000,262144').split(',').map(Number);
const heldCounts = (process.argv[3] ?? '10000,100000,200000').split(',').map(Number);

/** Bytes of one slot record. A multiple of 8 so the float64 fields stay aligned. */
const RECORD_BYTES = 32;
/** Int32 offset in a record: the key's 32-bit hash. */
const HASH = 0;
/** Byte offsets: index into the lifetime table, and source/region flags (bytes 6-7 are spare: a hit count fits). */
const LIFETIME = 4;
const FLAGS = 5;
/** Float64 offsets: createdAt (hot: the expiry check) and version (cold). */
const CREATED_AT = 1;
const VERSION = 2;
/** Uint32 / Float32 offsets: sizeBytes and probability. */
const SIZE_BYTES = 6;
const PROBABILITY = 7;
/** Offsets of a slot's LRU links in the links array (two per slot). */
const PREV = 0;
const NEXT = 1;
/** Slot 0 is the LRU list's sentinel, so a bucket holding 0 is empty. */
const SENTINEL = 0;
/** Slots allocated up front without a capacity hint (MemoryTier's NodeTable starts at 64 too). */
const INITIAL_SLOTS = 64;
/** Lifetimes a store can tell apart: the index is one byte. */
const MAX_LIFETIMES = 256;

/** FNV-1a 32-bit over UTF-16 code units (the hash MemoryTier uses): one multiply per character. */
function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Two code units per multiply-xor step, murmur3's finaliser at the end: half FNV's dependent multiplies. */
function pairHash(key: string): number {
  const length = key.length;
  let h = Math.imul(length, 0x9e3779b1);
  let i = 0;
  for (; i + 1 < length; i += 2) {
    h = Math.imul(h ^ (key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16)), 0x85ebca6b);
    h ^= h >>> 15;
  }
  if (i < length) h = Math.imul(h ^ key.charCodeAt(i), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Lemire's multiply-shift range reduction on the hash's high 21 bits: any table size, no modulo (exact below 2^31). */
function reduce(hash: number, size: number): number {
  return Math.floor(((hash >>> 11) * size) / 2097152);
}

/**
 * Caffeine's FrequencySketch (as src/cache/frequency-sketch.ts), its blocks chosen by range reduction so the table is
 * 8 B per unit of capacity exactly, not rounded up to a power of two.
 */
class CompactSketch {
  #table: Uint32Array;
  #blocks: number;
  #size = 0;
  #sampleSize: number;

  constructor(capacity: number) {
    this.#blocks = Math.max(1, Math.ceil(capacity / 8));
    this.#table = new Uint32Array(this.#blocks * 16);
    this.#sampleSize = 10 * capacity;
  }

  get byteLength(): number {
    return this.#table.byteLength;
  }

  increment(hash: number): void {
    const x = spread(hash);
    const block = reduce(x, this.#blocks) << 4;
    let c = Math.imul(x, 0x31848bab);
    c ^= c >>> 14;
    const table = this.#table;
    let added = false;
    for (let i = 0; i < 4; i++) {
      const h = c >>> (i << 3);
      const word = block + (i << 2) + (h & 3);
      const shift = ((h >>> 2) & 7) << 2;
      if (((table[word] >>> shift) & 15) < 15) {
        table[word] += 1 << shift;
        added = true;
      }
    }
    if (added && ++this.#size >= this.#sampleSize) {
      for (let i = 0; i < table.length; i++) table[i] = (table[i] >>> 1) & 0x77777777;
      this.#size >>>= 1;
    }
  }

  frequency(hash: number): number {
    const x = spread(hash);
    const block = reduce(x, this.#blocks) << 4;
    let c = Math.imul(x, 0x31848bab);
    c ^= c >>> 14;
    let min = 15;
    for (let i = 0; i < 4; i++) {
      const h = c >>> (i << 3);
      min = Math.min(min, (this.#table[block + (i << 2) + (h & 3)] >>> (((h >>> 2) & 7) << 2)) & 15);
    }
    return min;
  }
}

type StoreOptions = {
  /** Key index: a `Map`, or the store's own open-addressing table with this string hash. */
  readonly index: 'map' | 'fnv' | 'pair';
  /** Own index: most keys per bucket before the table grows. */
  readonly maxLoadFactor: number;
  /** Column growth factor when the slots run out. */
  readonly growth: number;
  /** Slots allocated at once (no growth until more are stored). */
  readonly capacityHint?: number;
};

/** The prototype: every entry field by slot, no per-entry object, one LRU list. Not a cache (no eviction). */
class ColumnarStore<V> {
  readonly #options: StoreOptions;
  readonly #map: Map<string, number> | undefined;
  readonly #isPairHash: boolean;
  #buckets = new Int32Array(0);
  #capacity = 0;
  #record = new ArrayBuffer(0);
  #i32 = new Int32Array(0);
  #u8 = new Uint8Array(0);
  #f64 = new Float64Array(0);
  #f32 = new Float32Array(0);
  /** LRU links, prev at 2 x slot, next at 2 x slot + 1: 8 B a slot, dense, so a move's neighbour updates stay in cache. */
  #links = new Int32Array(0);
  /** Key at 2 x slot, value at 2 x slot + 1. */
  #refs: unknown[] = [];
  #sketch = new CompactSketch(1);
  /** staleMs at 2 x index, ttlMs at 2 x index + 1. */
  readonly #lifetimes = new Float64Array(2 * MAX_LIFETIMES);
  #lifetimeCount = 0;
  #top = 1;
  #free = -1;
  #size = 0;

  constructor(options: StoreOptions) {
    this.#options = options;
    this.#map = options.index === 'map' ? new Map() : undefined;
    this.#isPairHash = options.index !== 'fnv';
    this.#resize(options.capacityHint === undefined ? INITIAL_SLOTS : options.capacityHint + 1);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes of the store's own arrays (everything but the `Map`, whose footprint only a heap delta shows). */
  footprint(): { records: number; refs: number; index: number; sketch: number; slots: number } {
    return { records: this.#record.byteLength + this.#links.byteLength, refs: 8 * this.#refs.length, index: this.#buckets.byteLength, sketch: this.#sketch.byteLength, slots: this.#capacity };
  }

  /** The value for `key` if held and not expired at `now`; a hit counts in the sketch and becomes most recent. */
  get(key: string, now: number): V | undefined {
    let slot: number;
    let hash: number;
    const map = this.#map;
    if (map !== undefined) {
      const found = map.get(key);
      if (found === undefined) return undefined;
      slot = found;
      hash = this.#i32[slot * 8 + HASH];
    } else {
      hash = this.#isPairHash ? pairHash(key) : fnv1a(key);
      slot = this.#find(key, hash);
      if (slot === SENTINEL) return undefined;
    }
    if (now >= this.#f64[slot * 4 + CREATED_AT] + this.#lifetimes[2 * this.#u8[slot * RECORD_BYTES + LIFETIME] + 1]) return undefined;
    this.#sketch.increment(hash);
    this.#moveToLast(slot);
    return this.#refs[2 * slot + 1] as V;
  }

  set(key: string, value: V, version: number, sizeBytes: number, createdAt: number, staleMs: number, ttlMs: number, flags: number, probability: number): void {
    const hash = this.#isPairHash ? pairHash(key) : fnv1a(key);
    let slot = this.#map === undefined ? this.#find(key, hash) : (this.#map.get(key) ?? SENTINEL);
    if (slot === SENTINEL) {
      slot = this.#allocate();
      this.#refs[2 * slot] = key;
      this.#i32[slot * 8 + HASH] = hash;
      if (this.#map === undefined) this.#insertBucket(slot, hash);
      else this.#map.set(key, slot);
      this.#link(slot);
      this.#size++;
    } else this.#moveToLast(slot);
    this.#refs[2 * slot + 1] = value;
    this.#u8[slot * RECORD_BYTES + LIFETIME] = this.#lifetimeIndex(staleMs, ttlMs);
    this.#u8[slot * RECORD_BYTES + FLAGS] = flags;
    this.#f64[slot * 4 + CREATED_AT] = createdAt;
    this.#f64[slot * 4 + VERSION] = version;
    this.#i32[slot * 8 + SIZE_BYTES] = sizeBytes;
    this.#f32[slot * 8 + PROBABILITY] = probability;
  }

  delete(key: string): boolean {
    const hash = this.#isPairHash ? pairHash(key) : fnv1a(key);
    const slot = this.#map === undefined ? this.#find(key, hash) : (this.#map.get(key) ?? SENTINEL);
    if (slot === SENTINEL) return false;
    if (this.#map === undefined) this.#removeBucket(slot);
    else this.#map.delete(key);
    const links = this.#links;
    const prev = links[2 * slot + PREV];
    const next = links[2 * slot + NEXT];
    links[2 * prev + NEXT] = next;
    links[2 * next + PREV] = prev;
    this.#refs[2 * slot] = undefined;
    this.#refs[2 * slot + 1] = undefined;
    links[2 * slot + NEXT] = this.#free;
    this.#free = slot;
    this.#size--;
    return true;
  }

  /** Fields of `key`'s entry (no side effect), for the self-checks. */
  fields(key: string): { version: number; sizeBytes: number; createdAt: number; staleAt: number; expiresAt: number; flags: number; probability: number; frequency: number } | undefined {
    const hash = this.#isPairHash ? pairHash(key) : fnv1a(key);
    const slot = this.#map === undefined ? this.#find(key, hash) : (this.#map.get(key) ?? SENTINEL);
    if (slot === SENTINEL) return undefined;
    const createdAt = this.#f64[slot * 4 + CREATED_AT];
    const lifetime = this.#u8[slot * RECORD_BYTES + LIFETIME];
    return {
      version: this.#f64[slot * 4 + VERSION], sizeBytes: this.#i32[slot * 8 + SIZE_BYTES] >>> 0, createdAt,
      staleAt: createdAt + this.#lifetimes[2 * lifetime], expiresAt: createdAt + this.#lifetimes[2 * lifetime + 1],
      flags: this.#u8[slot * RECORD_BYTES + FLAGS], probability: this.#f32[slot * 8 + PROBABILITY], frequency: this.#sketch.frequency(hash),
    };
  }

  /** Keys from least to most recent, checking the links both ways and the index against the list. */
  checkedKeys(): string[] {
    const i32 = this.#i32;
    const links = this.#links;
    const keys: string[] = [];
    let prev = SENTINEL;
    for (let slot = links[NEXT]; slot !== SENTINEL; slot = links[2 * slot + NEXT]) {
      if (links[2 * slot + PREV] !== prev) throw new Error(`broken prev link at slot ${slot}`);
      const key = this.#refs[2 * slot] as string;
      const hash = i32[slot * 8 + HASH];
      if ((this.#map === undefined ? this.#find(key, hash) : this.#map.get(key)) !== slot) throw new Error(`index does not find ${key} at its slot`);
      keys.push(key);
      prev = slot;
      if (keys.length > this.#size) throw new Error('list longer than size');
    }
    if (links[PREV] !== prev || keys.length !== this.#size) throw new Error('list and size disagree');
    if (this.#map === undefined && this.#buckets.reduce((n, s) => n + (s === SENTINEL ? 0 : 1), 0) !== this.#size) throw new Error('index holds stray slots');
    return keys;
  }

  #find(key: string, hash: number): number {
    const buckets = this.#buckets;
    const size = buckets.length;
    const refs = this.#refs;
    let i = reduce(hash, size);
    for (;;) {
      const slot = buckets[i];
      if (slot === SENTINEL || refs[2 * slot] === key) return slot;
      if (++i === size) i = 0;
    }
  }

  #insertBucket(slot: number, hash: number): void {
    const buckets = this.#buckets;
    let i = reduce(hash, buckets.length);
    while (buckets[i] !== SENTINEL) if (++i === buckets.length) i = 0;
    buckets[i] = slot;
  }

  /** Backward-shift deletion (Knuth 6.4 algorithm R): no tombstones, probe chains stay as short as at insertion. */
  #removeBucket(slot: number): void {
    const buckets = this.#buckets;
    const size = buckets.length;
    let hole = reduce(this.#i32[slot * 8 + HASH], size);
    while (buckets[hole] !== slot) if (++hole === size) hole = 0;
    let j = hole;
    for (;;) {
      if (++j === size) j = 0;
      const moved = buckets[j];
      if (moved === SENTINEL) break;
      const home = reduce(this.#i32[moved * 8 + HASH], size);
      const staysPut = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (staysPut) continue;
      buckets[hole] = moved;
      hole = j;
    }
    buckets[hole] = SENTINEL;
  }

  #allocate(): number {
    let slot = this.#free;
    if (slot >= 0) this.#free = this.#links[2 * slot + NEXT];
    else {
      if (this.#top === this.#capacity) this.#resize(Math.max(this.#capacity + 1, Math.ceil(this.#capacity * this.#options.growth)));
      slot = this.#top++;
    }
    return slot;
  }

  #link(slot: number): void {
    const links = this.#links;
    const tail = links[PREV];
    links[2 * slot + PREV] = tail;
    links[2 * slot + NEXT] = SENTINEL;
    links[2 * tail + NEXT] = slot;
    links[PREV] = slot;
  }

  #moveToLast(slot: number): void {
    const links = this.#links;
    const tail = links[PREV];
    if (tail === slot) return;
    const prev = links[2 * slot + PREV];
    const next = links[2 * slot + NEXT];
    links[2 * prev + NEXT] = next;
    links[2 * next + PREV] = prev;
    links[2 * slot + PREV] = tail;
    links[2 * slot + NEXT] = SENTINEL;
    links[2 * tail + NEXT] = slot;
    links[PREV] = slot;
  }

  #lifetimeIndex(staleMs: number, ttlMs: number): number {
    const lifetimes = this.#lifetimes;
    for (let i = this.#lifetimeCount - 1; i >= 0; i--) if (lifetimes[2 * i] === staleMs && lifetimes[2 * i + 1] === ttlMs) return i;
    if (this.#lifetimeCount === MAX_LIFETIMES) throw new Error('more than 256 lifetimes');
    lifetimes[2 * this.#lifetimeCount] = staleMs;
    lifetimes[2 * this.#lifetimeCount + 1] = ttlMs;
    return this.#lifetimeCount++;
  }

  /** Moves every column to `capacity` slots; the sketch is sized anew (cleared, as Caffeine does) and the index rebuilt. */
  #resize(capacity: number): void {
    const record = new ArrayBuffer(capacity * RECORD_BYTES);
    new Uint8Array(record).set(new Uint8Array(this.#record));
    this.#record = record;
    this.#i32 = new Int32Array(record);
    this.#u8 = new Uint8Array(record);
    this.#f64 = new Float64Array(record);
    this.#f32 = new Float32Array(record);
    const links = new Int32Array(2 * capacity);
    links.set(this.#links);
    this.#links = links;
    const refs = new Array<unknown>(2 * capacity).fill(undefined);
    for (let i = 0; i < this.#refs.length; i++) refs[i] = this.#refs[i];
    this.#refs = refs;
    this.#capacity = capacity;
    this.#sketch = new CompactSketch(capacity);
    if (this.#map !== undefined) return;
    this.#buckets = new Int32Array(Math.ceil(capacity / this.#options.maxLoadFactor) + 1);
    for (let slot = 1; slot < this.#top; slot++) if (refs[2 * slot] !== undefined) this.#insertBucket(slot, this.#i32[slot * 8 + HASH]);
  }
}

type Variant = { readonly name: string; readonly options: StoreOptions };
const variants: Variant[] = [
  { name: 'Map index, 2x growth', options: { index: 'map', maxLoadFactor: 1, growth: 2 } },
  { name: 'Map index, 1.5x growth', options: { index: 'map', maxLoadFactor: 1, growth: 1.5 } },
  { name: 'Map index, capacity hint', options: { index: 'map', maxLoadFactor: 1, growth: 2, capacityHint: 0 } },
  { name: 'own index LF 0.5, 2x growth', options: { index: 'pair', maxLoadFactor: 0.5, growth: 2 } },
  { name: 'own index LF 0.75, 2x growth', options: { index: 'pair', maxLoadFactor: 0.75, growth: 2 } },
  { name: 'own index LF 0.75, 1.5x growth', options: { index: 'pair', maxLoadFactor: 0.75, growth: 1.5 } },
  { name: 'own index LF 0.5, capacity hint', options: { index: 'pair', maxLoadFactor: 0.5, growth: 2, capacityHint: 0 } },
  { name: 'own index LF 0.75, capacity hint', options: { index: 'pair', maxLoadFactor: 0.75, growth: 2, capacityHint: 0 } },
];

function makeStore(options: StoreOptions, capacityHint: number): ColumnarStore<object> {
  return new ColumnarStore<object>(options.capacityHint === undefined ? options : { ...options, capacityHint });
}

const now = Date.now();
function fill(store: ColumnarStore<object>, keys: readonly string[], values: readonly object[], count: number): void {
  for (let i = 0; i < count; i++) store.set(keys[i], values[i], 1, 1, now + Math.random(), 60_000, 300_000, 0, 1);
}

/** Self-checks on every index kind: the numbers below must be of a working structure. */
function selfCheck(): void {
  const assert = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(`self-check failed: ${what}`);
  };
  for (const index of ['map', 'fnv', 'pair'] as const) {
    for (const maxLoadFactor of index === 'map' ? [1] : [0.5, 0.75, 0.95]) {
      const store = new ColumnarStore<{ n: number }>({ index, maxLoadFactor, growth: 1.5 });
      const reference = new Map<string, { n: number }>();
      let seed = 7;
      const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
      // Random sets, deletes and gets over 3,000 keys (growth from 64 slots, long probe chains at LF 0.95, deletes
      // that shift chains back), against a Map.
      for (let op = 0; op < 200_000; op++) {
        const key = `k:${Math.floor(random() * 3000)}`;
        const r = random();
        if (r < 0.45) {
          const value = { n: op };
          store.set(key, value, op, op & 0xffff, now, 1_000, 2_000, op & 3, 0.25);
          reference.set(key, value);
        } else if (r < 0.75) assert(store.delete(key) === reference.delete(key), `delete ${key} (${index}, LF ${maxLoadFactor})`);
        else assert(store.get(key, now) === reference.get(key), `get ${key} (${index}, LF ${maxLoadFactor})`);
      }
      assert(store.size === reference.size, 'size');
      const listed = store.checkedKeys();
      assert(new Set(listed).size === reference.size && listed.every((k) => reference.has(k)), 'list holds exactly the held keys');
      // Recency: a hit moves the key to the MRU end.
      const some = listed[0];
      store.get(some, now);
      assert(store.checkedKeys().at(-1) === some, 'hit moves to MRU end');
      // Fields round-trip; expiry is one compare against now.
      store.set('x', { n: 1 }, 42.5, 123_456, now, 1_000, 2_000, 3, 0.25);
      const f = store.fields('x')!;
      assert(f.version === 42.5 && f.sizeBytes === 123_456 && f.staleAt === now + 1_000 && f.expiresAt === now + 2_000 && f.flags === 3 && f.probability === 0.25, 'fields');
      assert(store.get('x', now + 1_999) !== undefined && store.get('x', now + 2_000) === undefined, 'expiry');
      for (let i = 0; i < 20; i++) store.get('x', now);
      assert(store.fields('x')!.frequency >= 14, 'sketch counts hits');
      assert(store.get('absent', now) === undefined, 'miss');
    }
  }
}

function heap(): number {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const t0 = performance.now();
selfCheck();
console.log(`self-checks passed (${(performance.now() - t0).toFixed(0)} ms); node ${process.version}`);

const maxN = Math.max(...entryCounts, ...heldCounts);
const keys = Array.from({ length: maxN }, (_, i) => `user:${i}:profile`);
const values = keys.map((_, i) => ({ id: i }));
{
  // Flatten the keys and cache their V8 hashes before any baseline, so no structure's delta includes that.
  const warm = new Map<string, number>();
  for (const k of keys) warm.set(k, pairHash(k) ^ fnv1a(k));
}

/** The sketch's own mix of a key hash (so its counters do not follow the index's bucket order). */
function spread(hash: number): number {
  let x = hash;
  x = Math.imul(x ^ (x >>> 17), 0xed5ad4bb);
  x = Math.imul(x ^ (x >>> 11), 0xac4c1b51);
  return x ^ (x >>> 15);
}

function measure(n: number, build: () => unknown): number {
  const before = heap();
  let structure: unknown = build();
  const bytes = (heap() - before) / n;
  structure = undefined;
  void structure;
  return bytes;
}

console.log('\n## Bytes per entry beyond key and value (heapUsed + arrayBuffers after gc)');
console.log(`| structure | ${entryCounts.map((n) => `${n}`).join(' | ')} | ${entryCounts.map((n) => `slots / records+refs / index / sketch at ${n}`).join(' | ')} |`);
console.log(`|---|${entryCounts.map(() => '---|').join('')}${entryCounts.map(() => '---|').join('')}`);
{
  const row = (name: string, cells: string[], parts: string[]): void => console.log(`| ${name} | ${cells.join(' | ')} | ${parts.join(' | ')} |`);
  row('Map<string, value>', entryCounts.map((n) => measure(n, () => { const m = new Map<string, object>(); for (let i = 0; i < n; i++) m.set(keys[i], values[i]); return m; }).toFixed(1)), entryCounts.map(() => ''));
  row('lru-cache<string, value> (max = n)', entryCounts.map((n) => measure(n, () => { const c = new LRUCache<string, object>({ max: n }); for (let i = 0; i < n; i++) c.set(keys[i], values[i]); return c; }).toFixed(1)), entryCounts.map(() => ''));
  for (const { name, options } of variants) {
    const parts: string[] = [];
    const cells = entryCounts.map((n) => measure(n, () => {
      const store = makeStore(options, n);
      fill(store, keys, values, n);
      const f = store.footprint();
      parts.push(`${f.slots} / ${((f.records + f.refs) / n).toFixed(1)} / ${(f.index / n).toFixed(1)} / ${(f.sketch / n).toFixed(1)}`);
      return store;
    }).toFixed(1));
    row(`columnar, ${name}`, cells, parts);
  }
}

// Hit throughput.
const ROUNDS = 5;
const order = new Uint32Array(1_000_000);
const copies = keys.map((k) => Buffer.from(k, 'latin1').toString('latin1'));
console.log('\n## Hit throughput, M gets/s (best of 5 rounds of 1,000,000 random gets), ratio to lru-cache get in brackets');
const speedVariants = [
  { name: 'columnar, Map index', options: { index: 'map', maxLoadFactor: 1, growth: 2 } },
  { name: 'columnar, own index FNV-1a, LF 0.75 (hint)', options: { index: 'fnv', maxLoadFactor: 0.75, growth: 2, capacityHint: 0 } },
  { name: 'columnar, own index pair hash, LF 0.5 (hint)', options: { index: 'pair', maxLoadFactor: 0.5, growth: 2, capacityHint: 0 } },
  { name: 'columnar, own index pair hash, LF 0.75 (hint)', options: { index: 'pair', maxLoadFactor: 0.75, growth: 2, capacityHint: 0 } },
] as const satisfies ReadonlyArray<{ name: string; options: StoreOptions }>;
const names = ['Map.get', 'lru-cache get', ...speedVariants.map((v) => v.name)];
console.log(`| keys held, lookup keys | ${names.join(' | ')} |`);
console.log(`|---|${names.map(() => '---|').join('')}`);
for (const held of heldCounts) {
  let seed = 12345;
  for (let i = 0; i < order.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    order[i] = seed % held;
  }
  const map = new Map<string, object>();
  const lru = new LRUCache<string, object>({ max: held });
  for (let i = 0; i < held; i++) {
    map.set(keys[i], values[i]);
    lru.set(keys[i], values[i]);
  }
  const [s0, s1, s2, s3] = speedVariants.map(({ options }) => {
    const store = makeStore(options, held);
    fill(store, keys, values, held);
    return store;
  });
  // One function literal per contender: each loop's get call site sees one receiver type.
  const loops: Array<(ks: readonly string[] | undefined) => number> = [
    (ks) => { let found = 0; for (let i = 0; i < order.length; i++) if (map.get(ks === undefined ? `user:${order[i]}:profile` : ks[order[i]]) !== undefined) found++; return found; },
    (ks) => { let found = 0; for (let i = 0; i < order.length; i++) if (lru.get(ks === undefined ? `user:${order[i]}:profile` : ks[order[i]]) !== undefined) found++; return found; },
    (ks) => { let found = 0; for (let i = 0; i < order.length; i++) if (s0.get(ks === undefined ? `user:${order[i]}:profile` : ks[order[i]], now) !== undefined) found++; return found; },
    (ks) => { let found = 0; for (let i = 0; i < order.length; i++) if (s1.get(ks === undefined ? `user:${order[i]}:profile` : ks[order[i]], now) !== undefined) found++; return found; },
    (ks) => { let found = 0; for (let i = 0; i < order.length; i++) if (s2.get(ks === undefined ? `user:${order[i]}:profile` : ks[order[i]], now) !== undefined) found++; return found; },
    (ks) => { let found = 0; for (let i = 0; i < order.length; i++) if (s3.get(ks === undefined ? `user:${order[i]}:profile` : ks[order[i]], now) !== undefined) found++; return found; },
  ];
  for (const [label, ks] of [['same key objects', keys], ['copied keys', copies], ['key built per get', undefined]] as const) {
    const best = new Array<number>(loops.length).fill(0);
    for (let round = 0; round < ROUNDS; round++) {
      loops.forEach((loop, c) => {
        const start = process.hrtime.bigint();
        const found = loop(ks);
        const ns = Number(process.hrtime.bigint() - start);
        if (found !== order.length) throw new Error(`${names[c]} missed ${order.length - found} of ${order.length}`);
        best[c] = Math.max(best[c], (order.length / ns) * 1e3);
      });
    }
    console.log(`| ${held}, ${label} | ${best.map((b, c) => `${b.toFixed(2)}${c === 1 ? '' : ` (${(b / best[1]).toFixed(2)}x)`}`).join(' | ')} |`);
  }
}
