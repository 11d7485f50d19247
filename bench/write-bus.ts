/**
 * Question: what does the write bus cost a writer, and how soon does another node stop serving the copy a write
 * replaced?
 *
 * Two nodes share a RedisTier namespace. Node B reads every key first (so its memory tier holds version 1); node A
 * then sets each key in turn, awaiting each `set`. Measured: A's `set` latency without a bus and with a
 * RedisWriteBus (the writer awaits the publish), and with the bus, how long after A's `set` resolved B's memory tier
 * no longer held the old copy (polled every event-loop turn). Without a bus, B keeps serving the old copy until its
 * TTL: the table says how many of B's reads after the writes still got the old value. Needs Redis on 127.0.0.1:6379
 * (or REDIS_URL); uses and removes its own namespace and channel.
 *
 * Run: node --import tsx bench/write-bus.ts [keys]   (keys defaults to 2,000)
 */
import { randomUUID } from 'node:crypto';
import { Cache } from '../src/cache/cache.ts';
import { RedisTier } from '../src/cache/redis-tier.ts';
import { RedisWriteBus } from '../src/cache/redis-write-bus.ts';
import { MapOrigin } from '../src/origin/function-origin.ts';

const keys = Number(process.argv[2] ?? 2_000);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const name = `bench-bus-${randomUUID().slice(0, 8)}`;

type Run = { setMs: number[]; dropMs: number[]; staleReads: number };

async function run(withBus: boolean): Promise<Run> {
  const origin = new MapOrigin<string>(Array.from({ length: keys }, (_, i) => [`k:${i}`, 'v1'] as const));
  const namespace = `${name}-${withBus ? 'bus' : 'none'}`;
  const nodes = await Promise.all(
    [0, 1].map(async () => {
      const l2 = await RedisTier.connect<string>({ url, maxBytes: 1e9, namespace });
      const bus = withBus ? new RedisWriteBus({ url, channel: `${namespace}:writes` }) : undefined;
      const cache = new Cache<string>({ origin, l2, bus, ttlMs: 600_000 });
      await cache.whenSubscribed();
      return { l2, bus, cache };
    }),
  );
  const [a, b] = nodes.map((n) => n.cache);
  for (let i = 0; i < keys; i++) await b.get(`k:${i}`);
  for (let i = 0; i < keys; i++) await a.get(`k:${i}`);
  const result: Run = { setMs: [], dropMs: [], staleReads: 0 };
  for (let i = 0; i < keys; i++) {
    const key = `k:${i}`;
    const started = performance.now();
    await a.set(key, 'v2');
    const done = performance.now();
    result.setMs.push(done - started);
    if (withBus) {
      while (b.peek(key) !== undefined) await new Promise((resolve) => setImmediate(resolve));
      result.dropMs.push(performance.now() - done);
    }
  }
  for (let i = 0; i < keys; i++) if ((await b.get(`k:${i}`)).value === 'v1') result.staleReads++;
  for (const n of nodes) await n.cache.close();
  await nodes[0].l2.clear();
  for (const n of nodes) await Promise.all([n.l2.close(), n.bus?.close()]);
  return result;
}

const without = await run(false);
const withBus = await run(true);
/** The nearest-rank quantile `q` of `xs`, in ms to 3 places. */
const ms = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))].toFixed(3);
console.log(`${keys.toLocaleString('en-US')} keys, each read on node B, then set on node A (awaited in turn); Redis on loopback\n`);
console.log('| | set p50 ms | set p99 ms | B stopped serving the old copy, p50 / p99 ms after set resolved | B reads of the old value afterwards |');
console.log('|---|---:|---:|---:|---:|');
console.log(`| no bus | ${ms(without.setMs, 0.5)} | ${ms(without.setMs, 0.99)} | never (TTL) | ${without.staleReads} of ${keys} |`);
console.log(`| RedisWriteBus | ${ms(withBus.setMs, 0.5)} | ${ms(withBus.setMs, 0.99)} | ${ms(withBus.dropMs, 0.5)} / ${ms(withBus.dropMs, 0.99)} | ${withBus.staleReads} of ${keys} |`);
