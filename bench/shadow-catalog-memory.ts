/**
 * Question: does the memory of the shadow catalogs grow with users × perUserLimit (references), and not with
 * users × item size (copies)? Baselines in the same process: the same catalogs as plain nested Maps of Entry
 * references (the least a reference can cost), and per-user copies of the items (what a catalog that copied item
 * data would cost), measured on a sample of users and scaled.
 *
 *   node --expose-gc --import tsx bench/shadow-catalog-memory.ts [users=10000] [items=5000] [perUserLimit=64]
 *
 * Memory is process.memoryUsage().heapUsed plus arrayBuffers (typed arrays' backing stores) after a full gc, with the items (Entry objects and their values) kept
 * alive outside the structure measured, so each delta is the structure alone. Every user references `perUserLimit`
 * distinct items picked by a fixed stride (deterministic), so items are shared by users × perUserLimit / items
 * catalogs each on average. Also reports the cost of a catalog hit (`ShadowCatalogs.serve`).
 */
import type { Entry } from '../src/cache/entry.ts';
import { ShadowCatalogs } from '../src/cache/shadow-catalog.ts';
import { VirtualClock } from '../src/clock.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const users = Number(process.argv[2] ?? 10_000);
const itemCount = Number(process.argv[3] ?? 5_000);
const perUserLimit = Number(process.argv[4] ?? 64);
/** Users whose copies are actually built for the copying baseline (the rest is scaled): copies are big. */
const copySample = 100;
/** A prime stride, coprime with any item count below it that it does not divide: distinct picks per user. */
const stride = 104_729;

function heap(): number {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

function makeItems(sizeBytes: number): Array<Entry<string>> {
  // Flat one-byte strings, distinct per item (a padEnd result may share its filler): `sizeBytes` bytes of heap each.
  return Array.from({ length: itemCount }, (_, i) => {
    const key = `item:${i}`;
    const value = Buffer.from(`${key}:`.padEnd(sizeBytes, 'x'), 'latin1').toString('latin1');
    return { key, value, version: 1, sizeBytes, createdAt: 0, staleAt: Infinity, expiresAt: Infinity, source: 'prefetch', probability: 0.5, tags: [], hits: 0 };
  });
}

function pick(user: number, j: number): number {
  return (user * 7_919 + j * stride) % itemCount;
}

function buildCatalogs(items: Array<Entry<string>>): ShadowCatalogs<string> {
  const catalogs = new ShadowCatalogs<string>({
    perUserLimit,
    maxCatalogs: users,
    minProbability: 0,
    maxBytesOutsideTier: Infinity, // the tier stand-in holds nothing: every item counts as outside it
    clock: new VirtualClock(),
    tier: { peek: () => undefined, get: () => undefined, holds: () => false },
    loop: { used: () => {}, removed: () => {}, shouldRecord: () => false, record: () => {} },
    reads: { hit: 0, prefetched: 0 },
  });
  for (let u = 0; u < users; u++) {
    const ctx = { user: `user:${u}` };
    for (let j = 0; j < perUserLimit; j++) catalogs.reference(ctx, items[pick(u, j)], 0.1 + (j % 9) / 10, 'bench');
  }
  return catalogs;
}

function buildMaps(items: Array<Entry<string>>): Map<string, Map<string, Entry<string>>> {
  const all = new Map<string, Map<string, Entry<string>>>();
  for (let u = 0; u < users; u++) {
    const m = new Map<string, Entry<string>>();
    for (let j = 0; j < perUserLimit; j++) {
      const e = items[pick(u, j)];
      m.set(e.key, e);
    }
    all.set(`user:${u}`, m);
  }
  return all;
}

function buildCopies(items: Array<Entry<string>>, sampleUsers: number): unknown {
  const all = new Map<string, Map<string, Entry<string>>>();
  for (let u = 0; u < sampleUsers; u++) {
    const m = new Map<string, Entry<string>>();
    for (let j = 0; j < perUserLimit; j++) {
      const e = items[pick(u, j)];
      m.set(e.key, structuredClone(e));
    }
    all.set(`user:${u}`, m);
  }
  return all;
}

function measure(build: () => unknown): { bytes: number; kept: unknown } {
  const before = heap();
  const kept = build();
  return { bytes: heap() - before, kept };
}

const mib = (b: number): string => (b / 1024 / 1024).toFixed(1);
const refs = users * perUserLimit;
const rows: string[] = [];
let serveNs = 0;
let nestedNs = 0;
for (const itemBytes of [1024, 16_384]) {
  const before = heap();
  let items: Array<Entry<string>> | undefined = makeItems(itemBytes);
  const itemHeap = heap() - before;
  let shadow: { bytes: number; kept: unknown } | undefined = measure(() => buildCatalogs(items!));
  let maps: { bytes: number; kept: unknown } | undefined = measure(() => buildMaps(items!));
  let copies: { bytes: number; kept: unknown } | undefined = measure(() => buildCopies(items!, copySample));
  const copiesScaled = (copies.bytes / copySample) * users;
  if (itemBytes === 1024) {
    const catalogs = shadow.kept as ShadowCatalogs<string>;
    const ctxs = Array.from({ length: users }, (_, u) => ({ user: `user:${u}` }));
    const reads = 1_000_000;
    const t0 = process.hrtime.bigint();
    let found = 0;
    for (let i = 0; i < reads; i++) {
      const u = (i * 31) % users;
      if (catalogs.serve(items[pick(u, i % perUserLimit)].key, ctxs[u]) !== undefined) found++;
    }
    serveNs = Number(process.hrtime.bigint() - t0) / reads;
    if (found !== reads) throw new Error(`expected every read to hit a catalog, ${found} of ${reads} did`);
    const nested = maps.kept as Map<string, Map<string, Entry<string>>>;
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < reads; i++) {
      const u = (i * 31) % users;
      const e = nested.get(ctxs[u].user)?.get(items[pick(u, i % perUserLimit)].key);
      if (e !== undefined) e.hits++;
    }
    nestedNs = Number(process.hrtime.bigint() - t1) / reads;
  }
  rows.push(
    `| ${itemBytes / 1024} KB | ${mib(itemHeap)} | ${mib(shadow.bytes)} | ${(shadow.bytes / refs).toFixed(1)} | ${mib(maps.bytes)} | ${(maps.bytes / refs).toFixed(1)} | ${mib(copiesScaled)} (${(copies.bytes / copySample / perUserLimit).toFixed(0)} B/ref) |`,
  );
  shadow = maps = copies = undefined;
  items = undefined;
  void [shadow, maps, copies, items];
}

console.log(`${users} users × ${perUserLimit} references over ${itemCount} items (${refs} references; node ${process.version})`);
console.log('| item size | item data, MiB | ShadowCatalogs, MiB | B/reference | nested Map<user, Map<key, Entry>>, MiB | B/reference | per-user copies, MiB (scaled from ' + copySample + ' users) |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log(`\nread of a referenced item, ${users} users, 1 KB items: ShadowCatalogs.serve ${serveNs.toFixed(0)} ns; nested Map get ${nestedNs.toFixed(0)} ns`);
