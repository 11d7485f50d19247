/**
 * A write notice that outruns Redis's own invalidation: node B's Redis tier connection is slower than its write-bus
 * connection (here a proxy holds B's replies back), so when another node deletes or invalidates a key, B applies the
 * bus notice while the invalidation push for its client-side cache is still on its way. B's next read of the key
 * must go to Redis, not to the reply B's client-side cache still holds, or B caches the deleted copy for its TTL.
 * Runs on 127.0.0.1:6379 with its own namespace and channel.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { RedisTier } from '../../src/cache/redis-tier.ts';
import { RedisWriteBus } from '../../src/cache/redis-write-bus.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { HeldProxy } from '../doubles/held-proxy.ts';
import { waitFor } from '../doubles/net-wait.ts';

const url = 'redis://127.0.0.1:6379';

type Node = { readonly cache: Cache<string>; readonly l2: RedisTier<string>; readonly bus: RedisWriteBus };

describe('a delete notice that arrives before Redis invalidates the client-side cache', () => {
  let nodes: Node[] = [];
  let proxy: HeldProxy | undefined;

  afterEach(async () => {
    proxy?.release();
    for (const n of nodes) {
      await n.cache.close();
      await n.bus.close();
    }
    await nodes[0]?.l2.clear();
    for (const n of nodes) await n.l2.close();
    await proxy?.close();
    nodes = [];
    proxy = undefined;
  });

  /** Nodes A and C talk to Redis directly; B's tier goes through a proxy that can hold its replies back. */
  async function threeNodes(): Promise<{ a: Node; b: Node; c: Node; proxy: HeldProxy }> {
    proxy = await HeldProxy.start(6379);
    const namespace = `csc-notice-${randomUUID().slice(0, 8)}`;
    const origin = new MapOrigin<string>([]); // no row for any key: once deleted, a key is not found
    const make = async (tierUrl: string): Promise<Node> => {
      const l2 = await RedisTier.connect<string>({ url: tierUrl, maxBytes: 1e7, namespace, commandTimeoutMs: 5_000 });
      const bus = new RedisWriteBus({ url, channel: `${namespace}:writes`, clientName: namespace });
      const cache = new Cache<string>({ origin, l2, bus, ttlMs: 60_000 });
      nodes.push({ cache, l2, bus });
      await cache.whenSubscribed();
      return { cache, l2, bus };
    };
    const a = await make(url);
    const b = await make(proxy.url);
    const c = await make(url);
    return { a, b, c, proxy };
  }

  /** Runs `change` on another node while B's Redis replies are held; B reads `key` once it applied the notice. */
  async function readAfterNotice(b: Node, held: HeldProxy, key: string, change: () => Promise<unknown>): Promise<void> {
    const cscHits = (await b.l2.stats()).extra?.cscHits as number;
    held.hold();
    const received = b.cache.stats().writeBus!.received;
    await change();
    await waitFor(() => b.cache.stats().writeBus!.received > received, 'B to apply the notice');
    const read = b.cache.get(key);
    held.release();
    const result = await read;
    assert.deepEqual([result.isFound, result.servedFrom], [false, 'origin'], 'B reads Redis, which no longer holds the key');
    assert.equal(b.cache.peek(key), undefined, 'and caches nothing');
    assert.equal((await b.l2.stats()).extra?.cscHits, cscHits, 'the client-side cache answered none of it');
    assert.equal((await b.cache.get(key)).isFound, false, 'nor later');
  }

  test('a delete by a node that never held the key', async () => {
    const { a, b, c, proxy } = await threeNodes();
    await a.cache.set('k', 'v1');
    assert.equal((await b.cache.get('k')).value, 'v1');
    await readAfterNotice(b, proxy, 'k', async () => assert.equal(await c.cache.delete('k'), true));
  });

  test('an invalidation by prefix', async () => {
    const { a, b, proxy } = await threeNodes();
    await a.cache.set('k:1', 'v1');
    assert.equal((await b.cache.get('k:1')).value, 'v1');
    await readAfterNotice(b, proxy, 'k:1', async () => assert.equal(await a.cache.invalidate({ prefix: 'k:' }), 1));
  });

  test('an invalidation by tag of a key B holds only in its client-side cache (its memory copy evicted)', async () => {
    const { a, b, proxy } = await threeNodes();
    await a.cache.set('k', 'v1', { tags: ['t'] });
    assert.equal((await b.l2.get('k'))?.value, 'v1'); // read through B's tier only: as if B's memory copy was evicted
    await readAfterNotice(b, proxy, 'k', async () => assert.equal(await a.cache.invalidate({ tag: 't' }), 1));
  });
});
