/**
 * Write-bus fixes on the machine's Redis (127.0.0.1:6379), where the timing of notices and shared-tier commands is
 * real: after `invalidate({ tag })`, the writer's next write of a tagged key must survive every node's handling of the
 * tag notice. Each test uses its own namespace and channel.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { RedisTier } from '../../src/cache/redis-tier.ts';
import { RedisWriteBus } from '../../src/cache/redis-write-bus.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { waitFor } from '../doubles/net-wait.ts';

const url = 'redis://127.0.0.1:6379';

describe('write bus fixes on Redis', () => {
  test("a write made after invalidate({ tag }) stays in Redis: no node's handling of the tag notice removes it", { timeout: 60_000 }, async () => {
    for (let run = 0; run < 5; run++) {
      const name = `bus-fix-tag-${randomUUID().slice(0, 8)}`;
      const origin = new MapOrigin<string>(); // cache-only data: the origin has no row for the key
      const nodes = [];
      for (let i = 0; i < 3; i++) {
        const l2 = await RedisTier.connect<string>({ url, maxBytes: 1e7, namespace: name });
        const bus = new RedisWriteBus({ url, channel: `${name}:writes`, clientName: name, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
        const cache = new Cache<string>({ origin, l2, bus, ttlMs: 60_000 });
        await cache.whenSubscribed();
        nodes.push({ cache, l2, bus });
      }
      const [a, b, c] = nodes.map((n) => n.cache);
      try {
        await b.set('k', 'tagged', { tags: ['t'], version: 5 });
        await waitFor(() => a.stats().writeBus!.received >= 1 && c.stats().writeBus!.received >= 1, "the others heard B's write", 5_000);
        await a.invalidate({ tag: 't' });
        const written = await a.set('k', 'after-invalidate');
        await waitFor(() => b.stats().writeBus!.received >= 2 && c.stats().writeBus!.received >= 2, "the others heard A's notices", 5_000);
        await new Promise((resolve) => setTimeout(resolve, 100)); // (a receiver's shared delete would have landed)
        const stored = await nodes[0].l2.get('k');
        assert.deepEqual([stored?.value, stored?.version], ['after-invalidate', written.version], `run ${run}: A's acknowledged write is in Redis`);
        assert.equal((await b.get('k')).value, 'after-invalidate', `run ${run}: B`);
        assert.equal((await c.get('k')).value, 'after-invalidate', `run ${run}: C`);
      } finally {
        for (const n of nodes) await n.cache.close();
        for (const n of nodes) await n.bus.close();
        await nodes[0].l2.clear();
        for (const n of nodes) await n.l2.close();
      }
    }
  });
});
