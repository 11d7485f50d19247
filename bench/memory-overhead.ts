/**
 * Questions: how many bytes does MemoryTier spend per cached entry beyond the key and the value, and how fast is
 * a hit? Baselines in the same process: a plain Map and lru-cache, holding the same keys and Entry objects.
 *
 *   node --expose-gc --import tsx bench/memory-overhead.ts [entries=200000]
 *
 * Memory is process.memoryUsage().heapUsed plus arrayBuffers after a full gc (the tier's typed-array columns and
 * its frequency sketch live in ArrayBuffer backing stores, outside the V8 heap: heapUsed alone leaves them out),
 * with the keys and Entry objects kept alive outside the structure being measured, so the delta is the structure
 * alone. The Entry object itself (the wrapper the
 * cache builds around a value: version, times, source, ...) is reported separately, as the difference between N
 * Entry objects and N bare values. A Map or lru-cache holding Entry objects keeps them, so "beyond key and value" is
 * their structure plus that wrapper; MemoryTier keeps a plain entry's fields in its own columns and lets the caller's
 * Entry go (node-table.ts), so its structure is the whole of it.
 */
import { LRUCache } from 'lru-cache';
import { createEntry, type Entry } from '../src/cache/entry.ts';
import { MemoryTier } from '../src/cache/memory-tier.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 200_000);

/**
 * Heap plus ArrayBuffer backing stores after full collections. The pauses let V8 free the backing stores of the typed
 * arrays a structure outgrew (it sweeps them after the collection that found them dead): without them the first
 * structure measured in a process carried up to 9 B an entry of its own discarded columns.
 */
async function heap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

function makeEntry(key: string, value: object): Entry<object> {
  // The entry the engine stores (createEntry), at a time as the system clock gives it (fractional ms since the epoch).
  const now = Date.now() + Math.random();
  return createEntry({ key, value, version: 1, sizeBytes: 1, now, ttlMs: 300_000, staleAfterMs: 60_000 });
}

const keys = Array.from({ length: n }, (_, i) => `user:${i}:profile`);
let h0 = await heap();
const values = keys.map((_, i) => ({ id: i }));
const valueBytes = ((await heap()) - h0) / n;
h0 = await heap();
const entries = keys.map((k, i) => makeEntry(k, values[i]));
const entryBytes = ((await heap()) - h0) / n;
const userTags = ['user'];
const jittered = entries.map((e, i) => createEntry({ key: e.key, value: e.value, version: 1, sizeBytes: 1, now: e.createdAt, ttlMs: 300_000 + i, staleAfterMs: 60_000 }));
const tagged = entries.map((e) => createEntry({ key: e.key, value: e.value, version: 1, sizeBytes: 1, now: e.createdAt, ttlMs: 300_000, staleAfterMs: 60_000, tags: userTags }));

/**
 * Bytes an entry of the structure `build` makes, the smaller of two builds: the first structure of its kind built in a
 * process measured up to 9 B an entry more than the next, depending on what was measured before it (a MemoryTier
 * built first in a fresh process measured as the second build does), so the excess is the process's, not the structure's.
 */
async function measure(name: string, build: () => unknown): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 2; i++) {
    const before = await heap();
    let structure: unknown = build();
    least = Math.min(least, ((await heap()) - before) / n);
    structure = undefined;
    void structure;
  }
  return least;
}

// [name, bytes of the structure, whether it keeps the caller's Entry objects (then they count too)]
const results: Array<[string, number, boolean]> = [
  ['Map<string, Entry>', await measure('map', () => { const m = new Map<string, Entry<object>>(); for (const e of entries) m.set(e.key, e); return m; }), true],
  ['lru-cache<string, Entry>', await measure('lru', () => { const c = new LRUCache<string, Entry<object>>({ max: n }); for (const e of entries) c.set(e.key, e); return c; }), true],
  // The tier keeps a plain entry's fields in its columns and no Entry object (node-table.ts): its structure is all of it.
  ['MemoryTier', await measure('tier', () => { const t = new MemoryTier<object>({ maxBytes: n }); for (const e of entries) t.set(e); return t; }), false],
  // Entries with tags (one shared tags array: the arrays themselves are the application's): kept in a side map.
  ['MemoryTier, every entry tagged', await measure('tier-tagged', () => { const t = new MemoryTier<object>({ maxBytes: n }); for (const e of tagged) t.set(e); return t; }), false],
  // A TTL of its own for every entry (jittered TTLs): past 4,096 pairs alive the slots keep their offsets themselves.
  ['MemoryTier, every entry its own TTL', await measure('tier-jitter', () => { const t = new MemoryTier<object>({ maxBytes: n }); for (const e of jittered) t.set(e); return t; }), false],
  // After one hit of each entry (hits counted in the tier's columns; nothing is attached to an entry any more).
  ['MemoryTier, each entry hit once', await measure('tier-hit', () => {
    const t = new MemoryTier<object>({ maxBytes: n });
    for (const e of entries) t.set(e);
    for (const e of entries) t.get(e.key);
    return t;
  }), false],
];

console.log(`${n} entries; bare value ${valueBytes.toFixed(1)} B, Entry wrapper around it ${entryBytes.toFixed(1)} B each (node ${process.version})`);
console.log('| structure | its own bytes/entry | keeps the Entry objects? | bytes/entry beyond key and bare value |');
console.log('|---|---|---|---|');
for (const [name, bytes, keepsEntries] of results) console.log(`| ${name} | ${bytes.toFixed(1)} | ${keepsEntries ? 'yes' : 'no'} | ${(bytes + (keepsEntries ? entryBytes : 0)).toFixed(1)} |`);

// Hit throughput: every key held, random access order (precomputed), best of several rounds, at several
// working-set sizes (a hit's cost is dominated by cache misses once the structures outgrow the CPU caches).
const order = new Uint32Array(1_000_000);
const answer = (key: string, value: object, version: number) => ({ key, value, version });
console.log('\nhit throughput (M gets/s), 1,000,000 random gets per round, best of 5 rounds; hit(k) is the Cache\'s plain-hit path (no Entry built)');
console.log('| keys held | Map.get | lru-cache get | MemoryTier.get(k) | MemoryTier.hit(k) | get(k) vs lru-cache | hit(k) vs lru-cache |');
console.log('|---|---|---|---|---|---|---|');
for (const held of [1_000, 10_000, 100_000].filter((h) => h <= n)) {
  let seed = 12345;
  for (let i = 0; i < order.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    order[i] = seed % held;
  }
  const map = new Map<string, Entry<object>>();
  const lru = new LRUCache<string, Entry<object>>({ max: held });
  const tier = new MemoryTier<object>({ maxBytes: held });
  for (let i = 0; i < held; i++) {
    map.set(keys[i], entries[i]);
    lru.set(keys[i], entries[i]);
    tier.set(entries[i]);
  }
  const getters: Array<[string, (k: string) => unknown]> = [
    ['map', (k) => map.get(k)],
    ['lru', (k) => lru.get(k)],
    ['tier', (k) => tier.get(k)],
    ['tierHit', (k) => tier.hit(k, answer)],
  ];
  const best = new Map<string, number>();
  for (let round = 0; round < 5; round++) {
    for (const [name, get] of getters) {
      let found = 0;
      const start = process.hrtime.bigint();
      for (let i = 0; i < order.length; i++) if (get(keys[order[i]]) !== undefined) found++;
      const ns = Number(process.hrtime.bigint() - start);
      if (found !== order.length) throw new Error(`${name} missed`);
      best.set(name, Math.max(best.get(name) ?? 0, (order.length / ns) * 1e3));
    }
  }
  const r = (name: string): number => best.get(name) ?? 0;
  console.log(`| ${held} | ${r('map').toFixed(2)} | ${r('lru').toFixed(2)} | ${r('tier').toFixed(2)} | ${r('tierHit').toFixed(2)} | ${(r('tier') / r('lru')).toFixed(2)}x | ${(r('tierHit') / r('lru')).toFixed(2)}x |`);
}
