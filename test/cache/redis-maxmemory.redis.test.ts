/**
 * RedisTier under Redis's own maxmemory evictions: the byte and entry counts follow what is really stored once the
 * sweep has walked the index, and the budget is not spent on keys Redis already dropped. Runs its own redis-server
 * (a small maxmemory, volatile-lru) on a spare port, never the shared one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import { RedisTier } from '../../src/cache/redis-tier.ts';
import type { Entry } from '../../src/cache/entry.ts';
import { RedisServer } from '../doubles/redis-server.ts';

const HOUR = 3_600_000;
const payload = 'x'.repeat(1_000);

function entry(key: string): Entry<string> {
  const now = Date.now();
  return { key, value: payload, version: 1, sizeBytes: 1_000, createdAt: now, staleAt: now + HOUR, expiresAt: now + HOUR, source: 'demand', probability: 1, tags: [], hits: 0 };
}

describe('RedisTier and Redis maxmemory evictions', () => {
  let server: RedisServer;
  let tier: RedisTier<string>;

  before(async () => {
    server = await RedisServer.start({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'volatile-lru'] });
    tier = await RedisTier.connect<string>({ url: server.url, maxBytes: 1_000_000_000, namespace: 'mm', commandTimeoutMs: 2_000 });
  });

  after(async () => {
    await tier?.close();
    await server?.stop();
  });

  test('entries Redis evicted on its own leave the counts once the sweep has passed them', async () => {
    const written = 6_000;
    for (let i = 0; i < written; i++) assert.equal(await tier.set(entry(`k${i}`)), true, `write ${i} stored`);
    const client = createClient({ url: server.url });
    await client.connect();
    try {
      const count = async (): Promise<number> => {
        let n = 0;
        for (let i = 0; i < written; i++) n += await client.exists(`{mm}:k${i}`);
        return n;
      };
      let stored = await count();
      assert.ok(stored < written / 2, `Redis evicted most entries under 3 MB (${stored} of ${written} left)`);
      // The sweep's own writes to the counters may make Redis evict a few more at the memory limit: count again.
      let stats = await tier.stats();
      for (let i = 0; i < 100 && stats.entries !== stored; i++) {
        stats = await tier.stats();
        stored = await count();
      }
      assert.equal(stats.entries, stored, 'the entry count matches what Redis holds');
      assert.equal(stats.bytes, stored * 1_000, 'and so does the byte count');
      assert.equal(stats.extra?.lost, written - stored, 'every entry Redis evicted is counted as lost');
    } finally {
      await client.quit();
    }
  });
});
