/**
 * Question: how long does `Cache.invalidate({ prefix })` take over shared-tier copies this node never held (another
 * node's writes, found by a SCAN of Redis), against deleting the same keys one `Cache.delete` at a time? And
 * `Cache.invalidate({ tag })` over the same copies, found through the tier's tag index (every key carries the tag)?
 *
 * One node writes `keys` entries under a prefix through a RedisTier; a second node, holding none of them, removes
 * them. Both contenders run on fresh copies of the same keys, alternating, `rounds` times each; the table gives the
 * median wall time. Needs Redis on 127.0.0.1:6379 (or REDIS_URL); uses and removes its own namespace.
 *
 * Run: node --import tsx bench/invalidate-prefix.ts [keys]   (keys defaults to 5,000)
 */
import { randomUUID } from 'node:crypto';
import { Cache } from '../src/cache/cache.ts';
import { RedisTier } from '../src/cache/redis-tier.ts';
import { MapOrigin } from '../src/origin/function-origin.ts';

const keys = Number(process.argv[2] ?? 5_000);
const rounds = 5;
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const l2 = await RedisTier.connect<string>({ url, maxBytes: 1e9, namespace: `bench-invalidate-${randomUUID().slice(0, 8)}` });
const origin = new MapOrigin<string>();
const value = 'x'.repeat(100);

/** Fills the shared tier through a writer node, then times `remove` on a node that holds none of the keys. */
async function timed(remove: (node: Cache<string>) => Promise<number>): Promise<number> {
  const writer = new Cache<string>({ origin, l2, ttlMs: 600_000 });
  for (let i = 0; i < keys; i++) await writer.set(`p:${i}`, value, { tags: ['t'] });
  await writer.close();
  const node = new Cache<string>({ origin, l2, ttlMs: 600_000 });
  const started = performance.now();
  const removed = await remove(node);
  const ms = performance.now() - started;
  await node.close();
  if (removed !== keys) throw new Error(`removed ${removed} of ${keys}`);
  return ms;
}

const contenders: Array<[string, (node: Cache<string>) => Promise<number>]> = [
  ['Cache.invalidate({ prefix })', (node) => node.invalidate({ prefix: 'p:' })],
  ['Cache.invalidate({ tag })', (node) => node.invalidate({ tag: 't' })],
  [
    'Cache.delete per key, awaited in turn',
    async (node) => {
      let removed = 0;
      for (let i = 0; i < keys; i++) if (await node.delete(`p:${i}`)) removed++;
      return removed;
    },
  ],
];
const times = contenders.map((): number[] => []);
for (let r = 0; r < rounds; r++) for (const [i, [, remove]] of contenders.entries()) times[i].push(await timed(remove));
await l2.clear();
await l2.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${keys.toLocaleString('en-US')} keys another node wrote, median of ${rounds} rounds\n`);
console.log('| contender | ms | keys/s |\n|---|---:|---:|');
for (const [i, [name]] of contenders.entries()) {
  const ms = median(times[i]);
  console.log(`| ${name} | ${ms.toFixed(0)} | ${Math.round((keys / ms) * 1000).toLocaleString('en-US')} |`);
}
