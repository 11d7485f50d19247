/**
 * Question: what does RESP3 client-side caching buy a read of the Redis tier? Side by side in one process, on the
 * same 1,000 hot keys (a ~150-byte catalog row each, written once through the tier), reads awaited one at a time:
 *
 * - `RedisTier.get`, client-side cache on: after the first read of a key, served from this process (reply clone,
 *   decode, expiry check, hit count), no network.
 * - `RedisTier.get`, client-side cache off: a GET round trip to Redis on loopback for every read.
 * - node-redis `GET` with its client-side cache, no tier: the floor under the tier's own work (no decode).
 * - `MemoryTier.get`: the in-process tier the Cache reads first, synchronous.
 *
 * Each contender gets an untimed warm-up pass over every key, then `reads` timed reads of keys drawn uniformly
 * (seeded); every read is timed with performance.now() for p50/p99, and ops/s is reads over the loop's wall time
 * (timing overhead included, the same for all). Needs Redis on 127.0.0.1:6379 (or REDIS_URL); uses and removes its
 * own namespace.
 *
 * Run: node --import tsx bench/redis-read.ts [reads]   (reads defaults to 100,000; network rows read a tenth)
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { createEntry } from '../src/cache/entry.ts';
import { MemoryTier } from '../src/cache/memory-tier.ts';
import { RedisTier, redisTierTypeMapping } from '../src/redis.ts';
import { systemClock } from '../src/clock.ts';
import { seededRandom } from '../src/sim/seeded-random.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Timed reads per in-process contender; network-bound contenders read a tenth (each costs a round trip). */
const reads = Number(process.argv[2] ?? 100_000);
/** Hot keys, all held by every contender and by the client-side cache. */
const keyCount = 1_000;

type Row = { readonly contender: string; readonly reads: number; readonly opsPerSec: number; readonly p50Us: number; readonly p99Us: number };

function value(i: number): unknown {
  return { id: i, name: `Customer ${i}`, email: `customer${i}@example.com`, plan: i % 3 === 0 ? 'pro' : 'free', active: true, credits: i * 1.5 };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function measure(contender: string, n: number, read: (key: string) => unknown): Promise<Row> {
  for (let i = 0; i < keyCount; i++) await read(`k${i}`);
  const rand = seededRandom(11);
  const keys = Array.from({ length: n }, () => `k${Math.floor(rand() * keyCount)}`);
  const samples = new Float64Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const got = read(keys[i]);
    if (got instanceof Promise) await got;
    samples[i] = performance.now() - s;
  }
  const elapsedMs = performance.now() - t0;
  samples.sort();
  return { contender, reads: n, opsPerSec: (n / elapsedMs) * 1_000, p50Us: quantile(samples, 0.5) * 1_000, p99Us: quantile(samples, 0.99) * 1_000 };
}

const namespace = `bench-${randomUUID().slice(0, 8)}`;
const withCsc = await RedisTier.connect({ url, maxBytes: 64 * 2 ** 20, namespace, clientSideCache: { maxEntries: 10_000 } });
const withoutCsc = await RedisTier.connect({ url, maxBytes: 64 * 2 ** 20, namespace, clientSideCache: false });
const memory = new MemoryTier({ maxBytes: 64 * 2 ** 20 });
const raw = createClient({ url, RESP: 3, clientSideCache: { maxEntries: 10_000 }, commandOptions: { typeMapping: redisTierTypeMapping } });
await raw.connect();

const now = systemClock.now();
for (let i = 0; i < keyCount; i++) {
  const entry = createEntry({ key: `k${i}`, value: value(i), version: 1, sizeBytes: 150, now, ttlMs: 3_600_000, staleAfterMs: 3_600_000 });
  await withCsc.set(entry);
  memory.set(entry);
}

const rows: Row[] = [];
try {
  rows.push(await measure('RedisTier.get, client-side cache on', reads, (key) => withCsc.get(key)));
  rows.push(await measure('RedisTier.get, client-side cache off (GET per read)', Math.ceil(reads / 10), (key) => withoutCsc.get(key)));
  rows.push(await measure('node-redis GET with client-side cache, no tier', reads, (key) => raw.get(`{${namespace}}:${key}`)));
  rows.push(await measure('MemoryTier.get', reads, (key) => memory.get(key)));
  const extra = (await withCsc.stats()).extra;
  console.log(`Client-side cache of the tier: ${extra?.cscHits} hits, ${extra?.cscMisses} misses, ${extra?.cscEntries} entries\n`);
} finally {
  await withCsc.clear();
  await Promise.all([withCsc.close(), withoutCsc.close()]);
  raw.destroy();
}

console.log('| contender | reads | ops/s | p50 µs | p99 µs |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.contender} | ${r.reads.toLocaleString('en')} | ${Math.round(r.opsPerSec).toLocaleString('en')} | ${r.p50Us.toFixed(1)} | ${r.p99Us.toFixed(1)} |`);
}
