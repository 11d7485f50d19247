import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { RedisTier } from '../../src/cache/redis-tier.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { isPrescientError } from '../../src/errors.ts';
import { RedisServer, sparePort, waitFor } from '../doubles/redis-server.ts';
import type { Entry } from '../../src/cache/entry.ts';

/** Bound of a read while Redis is down or hung: the tier answers misses well within it. */
const READ_BOUND_MS = 1_000;

const NEVER = Number.MAX_SAFE_INTEGER;
function entry(key: string, version = 1): Entry<string> {
  return { key, value: `${key}@${version}`, version, sizeBytes: 10, createdAt: 0, staleAt: NEVER, expiresAt: NEVER, source: 'demand', probability: 1, tags: [], hits: 0 };
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await work;
  return { value, ms: performance.now() - t0 };
}

describe('RedisTier when Redis goes down and comes back', () => {
  let server: RedisServer;
  let tier: RedisTier<string>;
  const errors: string[] = [];

  before(async () => {
    server = await RedisServer.start();
    tier = await RedisTier.connect<string>({
      url: server.url,
      maxBytes: 1_000_000,
      namespace: 'fault',
      commandTimeoutMs: 200,
      reconnect: { minDelayMs: 20, maxDelayMs: 200 },
      onError: (error) => errors.push(error.code),
    });
  });

  after(async () => {
    await tier?.close();
    await server?.stop();
  });

  test('Cache reads keep succeeding from memory and origin while Redis is killed, and the tier serves again after a restart', async () => {
    const origin = new MapOrigin<string>(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`] as const));
    const cache = new Cache<string>({ origin, l2: tier, ttlMs: 60_000 });
    assert.equal((await cache.get('k1')).value, 'v1');
    await waitFor(async () => (await tier.get('k1')) !== undefined, 'the loaded entry to reach Redis', 2_000);
    const peer = new Cache<string>({ origin, l2: tier, ttlMs: 60_000 });
    assert.equal((await peer.get('k1')).servedFrom, 'l2');

    await server.kill();
    await waitFor(() => !tier.isConnected, 'the tier to notice', 2_000);
    const fromMemory = await timed(cache.get('k1'));
    assert.equal(fromMemory.value.value, 'v1');
    assert.equal(fromMemory.value.servedFrom, 'memory');
    const fromOrigin = await timed(cache.get('k2'));
    assert.equal(fromOrigin.value.value, 'v2');
    assert.equal(fromOrigin.value.servedFrom, 'origin');
    assert.ok(fromOrigin.ms < READ_BOUND_MS, `read took ${fromOrigin.ms} ms`);
    const written = await cache.set('k3', 'local');
    assert.equal(written.value, 'local', 'a Cache write succeeds with the shared tier down');
    assert.equal(await cache.delete('k3'), true);
    assert.equal(await tier.set(entry('x')), false);
    assert.equal(await tier.delete('x'), false);
    const down = await tier.stats();
    assert.equal(down.extra?.connected, false);
    assert.ok((down.extra?.failures as number) > 0);
    assert.ok(errors.includes('ERR_TIER_FAILED'));

    await server.restart();
    await waitFor(() => tier.isConnected, 'the tier to reconnect', 10_000);
    const up = await tier.stats();
    assert.equal(up.extra?.connected, true);
    assert.ok((up.extra?.reconnects as number) >= 1);
    assert.equal(await tier.set(entry('after', 2)), true);
    assert.equal((await tier.get('after'))?.value, 'after@2');
    assert.equal((await cache.get('k4')).value, 'v4');
    await waitFor(async () => (await tier.get('k4')) !== undefined, 'a read after the restart to fill Redis again', 2_000);
    const third = new Cache<string>({ origin, l2: tier, ttlMs: 60_000 });
    assert.equal((await third.get('k4')).servedFrom, 'l2');
    await Promise.all([cache.close(), peer.close(), third.close()]);
  });

  test('a write lost while Redis hangs leaves no node reading the older copy once it answers again', async () => {
    const origin = new MapOrigin<string>([['lost', 'v1']]);
    const writer = new Cache<string>({ origin, l2: tier, ttlMs: 60_000 });
    assert.equal((await writer.get('lost')).value, 'v1');
    await waitFor(async () => (await tier.get('lost'))?.version === 1, 'v1 to reach Redis', 2_000);
    server.pause();
    try {
      await assert.rejects(tier.setStrict(entry('strict')), (e) => isPrescientError(e, 'ERR_TIER_FAILED'));
      origin.records.set('lost', { key: 'lost', value: 'v2', version: 2 });
      await writer.set('lost', 'v2', { version: 2 });
      assert.equal(writer.stats().sharedTier?.suspectKeys, 1);
    } finally {
      server.resume();
    }
    // Redis kept v1 through the hang; the writer's repair pass removes it, so a peer reads v2 from the origin.
    await waitFor(() => writer.stats().sharedTier?.suspectKeys === 0, 'the repair pass', 10_000);
    assert.equal(await tier.get('lost'), undefined);
    const peer = new Cache<string>({ origin, l2: tier, ttlMs: 60_000 });
    const read = await peer.get('lost');
    assert.deepEqual([read.value, read.version, read.servedFrom], ['v2', 2, 'origin']);
    await waitFor(async () => (await tier.get('lost'))?.version === 2, 'the peer to store v2 in Redis', 2_000);
    assert.equal(await tier.deleteStrict('lost', 1), false, 'deleteStrict keeps a version newer than maxVersion');
    assert.equal((await tier.get('lost'))?.version, 2);
    await Promise.all([writer.close(), peer.close()]);
  });

  test('a hung Redis (SIGSTOP) costs a read at most the command timeout, and a write answers false', async () => {
    await tier.set(entry('hung'));
    const failuresBefore = (await tier.stats()).extra?.failures as number;
    await tier.delete('hung');
    server.pause();
    try {
      const read = await timed(tier.get('never-cached'));
      assert.equal(read.value, undefined);
      assert.ok(read.ms < READ_BOUND_MS, `read took ${read.ms} ms`);
      const write = await timed(tier.set(entry('w')));
      assert.equal(write.value, false);
      assert.ok(write.ms < READ_BOUND_MS, `write took ${write.ms} ms`);
    } finally {
      server.resume();
    }
    const afterHang = (await tier.stats()).extra;
    assert.ok((afterHang?.failures as number) >= failuresBefore + 2);
    assert.ok((afterHang?.timeouts as number) >= 2);
    await waitFor(async () => tier.isConnected && (await tier.set(entry('w', 2))), 'writes to work again', 10_000);
  });

  test('start fails with ERR_TIER_FAILED when Redis is not there, and the tier connects by itself once it is', async () => {
    const port = await sparePort();
    const late = new RedisTier<string>({ url: `redis://127.0.0.1:${port}`, maxBytes: 1_000, namespace: 'late', connectTimeoutMs: 300, reconnect: { minDelayMs: 20, maxDelayMs: 100 } });
    let lateServer: RedisServer | undefined;
    try {
      await assert.rejects(late.start(), (error: unknown) => isPrescientError(error, 'ERR_TIER_FAILED'));
      const read = await timed(late.get('x'));
      assert.equal(read.value, undefined);
      assert.ok(read.ms < READ_BOUND_MS);
      lateServer = await RedisServer.start({ port });
      await waitFor(() => late.isConnected, 'the tier to connect once Redis is up', 10_000);
      assert.equal(await late.set(entry('x')), true);
      assert.equal((await late.get('x'))?.value, 'x@1');
    } finally {
      await late.close();
      await lateServer?.stop();
    }
  });
});
