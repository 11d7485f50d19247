/**
 * Question: what does the tag index cost a write? `RedisTier.set` of entries without tags against the same with two
 * tags (each tag: one SADD, a PTTL and two random members checked, inside the set script), awaited one at a time on
 * loopback, alternating two rounds of each. Needs Redis on 127.0.0.1:6379 (or REDIS_URL); uses and removes its own
 * namespace.
 *
 * Run: node --import tsx bench/redis-set-tags.ts [writes]   (writes per round defaults to 5,000)
 */
import { randomUUID } from 'node:crypto';
import { createEntry } from '../src/cache/entry.ts';
import { RedisTier } from '../src/cache/redis-tier.ts';

const writes = Number(process.argv[2] ?? 5_000);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const tier = await RedisTier.connect<string>({ url, maxBytes: 1e9, namespace: `bench-tags-${randomUUID().slice(0, 8)}`, clientSideCache: false });
const value = 'x'.repeat(100);

/** Microseconds each awaited `set` took, for `writes` new keys under `prefix` carrying `tags`. */
async function round(tags: string[], prefix: string): Promise<number[]> {
  const micros: number[] = [];
  for (let i = 0; i < writes; i++) {
    const entry = createEntry({ key: `${prefix}:${i}`, value, version: 1, sizeBytes: 200, now: Date.now(), ttlMs: 600_000, staleAfterMs: 600_000, tags });
    const started = performance.now();
    await tier.set(entry);
    micros.push((performance.now() - started) * 1000);
  }
  return micros;
}

const results = new Map<string, number[]>([['no tags', []], ['two tags', []]]);
for (let r = 0; r < 2; r++) {
  results.get('no tags')!.push(...(await round([], `plain${r}`)));
  results.get('two tags')!.push(...(await round(['red', 'big'], `tagged${r}`)));
}
await tier.clear();
await tier.close();

const at = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
console.log(`RedisTier.set, ${writes.toLocaleString('en-US')} writes per round, 2 rounds each, awaited in turn\n`);
console.log('| entries | p50 µs | p99 µs |\n|---|---:|---:|');
for (const [name, micros] of results) console.log(`| ${name} | ${at(micros, 0.5).toFixed(0)} | ${at(micros, 0.99).toFixed(0)} |`);
