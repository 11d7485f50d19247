import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { RedisTier } from '../../src/cache/redis-tier.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { isPrescientError } from '../../src/errors.ts';
import { RedisServer, sparePort, waitFor } from '../doubles/redis-server.ts';
import type { Entry } from '../../src/cache/entry.ts';

/**
 * Bound on a read or write while Redis is down or hung. The tier ends such a wait by itself (at once when
 * disconnected, after its 200 ms command timeout when hung); the counters say which, so this bound only catches a
 * hang and is generous for a loaded machine.
 */
const HANG_BOUND_MS = 10_000;

const NEVER = Number.MAX_SAFE_INTEGER;
function entry(key: string, version = 1): Entry<string> {
  return { key, value: `${key}@${version}`, version, sizeBytes: 10, createdAt: 0, staleAt: NEVER, expiresAt: NEVER, source: 'demand', probability: 1, tags: [], hits: 0 };
}

/** `work`, or a failure naming `what` when it has not settled within HANG_BOUND_MS. */
async function bounded<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${HANG_BOUND_MS} ms`)), HANG_BOUND_MS)))]);
  } finally {
    clearTimeout(timer);
  }
}

type Reported = { readonly code: string; readonly cause: string | undefined; readonly message: string };

describe('RedisTier when Redis goes down and comes back', () => {
  let server: RedisServer;
  let tier: RedisTier<string>;
  const errors: string[] = [];
  /** Every error the tier reported, with the code of its cause. */
  const reported: Reported[] = [];

  before(async () => {
    server = await RedisServer.start();
    tier = await RedisTier.connect<string>({
      url: server.url,
      maxBytes: 1_000_000,
      namespace: 'fault',
      commandTimeoutMs: 200,
      reconnect: { minDelayMs: 20, maxDelayMs: 200 },
      onError: (error) => {
        errors.push(error.code);
        reported.push({ code: error.code, cause: (error.cause as { code?: string } | undefined)?.code, message: error.message });
      },
    });
  });

  after(async () => {
    await tier?.close();
    await server?.stop();
  });

  test('Cache reads keep succeeding from memory and origin while Redis is killed, and the tier serves again after a restart', { timeout: 60_000 }, async () => {
    const origin = new MapOrigin<string>(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`] as const));
    const cache = new Cache<string>({ origin, l2: tier, ttlMs: 60_000 });
    assert.equal((await cache.get('k1')).value, 'v1');
    await waitFor(async () => (await tier.get('k1')) !== undefined, 'the loaded entry to reach Redis', 2_000);
    const peer = new Cache<string>({ origin, l2: tier, ttlMs: 60_000 });
    assert.equal((await peer.get('k1')).servedFrom, 'l2');

    await server.kill();
    await waitFor(() => !tier.isConnected, 'the tier to notice', 2_000);
    const fromMemory = await bounded(cache.get('k1'), 'a memory hit with Redis down');
    assert.equal(fromMemory.value, 'v1');
    assert.equal(fromMemory.servedFrom, 'memory');
    const beforeRead = (await tier.stats()).extra!;
    const fromOrigin = await bounded(cache.get('k2'), 'a read through to the origin with Redis down');
    assert.equal(fromOrigin.value, 'v2');
    assert.equal(fromOrigin.servedFrom, 'origin');
    // The tier answered its miss at once, as an offline read, sending no command that could wait for a timeout.
    const afterRead = (await tier.stats()).extra!;
    assert.ok((afterRead.offlineReads as number) > (beforeRead.offlineReads as number), 'the tier read offline');
    assert.equal(afterRead.timeouts, beforeRead.timeouts, 'no command waited out its timeout');
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

  test('a write lost while Redis hangs leaves no node reading the older copy once it answers again', { timeout: 60_000 }, async () => {
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

  test('a hung Redis (SIGSTOP) costs a read at most the command timeout, and a write answers false', { timeout: 60_000 }, async () => {
    await tier.set(entry('hung'));
    const before = (await tier.stats()).extra!;
    await tier.delete('hung');
    const timedOut = (operation: string, from: number): Reported[] =>
      reported.slice(from).filter((e) => e.code === 'ERR_TIER_FAILED' && e.cause === 'ERR_TIMEOUT' && e.message.startsWith(`Redis tier ${operation} failed`));
    server.pause();
    try {
      const beforeRead = reported.length;
      assert.equal(await bounded(tier.get('never-cached'), 'a read of a hung Redis'), undefined);
      assert.equal(timedOut('get', beforeRead).length, 1, `the read ended on the command timeout: ${JSON.stringify(reported.slice(beforeRead))}`);
      const beforeWrite = reported.length;
      assert.equal(await bounded(tier.set(entry('w')), 'a write to a hung Redis'), false);
      assert.equal(timedOut('set', beforeWrite).length, 1, `the write ended on the command timeout: ${JSON.stringify(reported.slice(beforeWrite))}`);
    } finally {
      server.resume();
    }
    const afterHang = (await tier.stats()).extra!;
    assert.ok((afterHang.failures as number) >= (before.failures as number) + 2);
    assert.ok((afterHang.timeouts as number) >= (before.timeouts as number) + 2);
    await waitFor(async () => tier.isConnected && (await tier.set(entry('w', 2))), 'writes to work again', 10_000);
  });

  test('start fails with ERR_TIER_FAILED when Redis is not there, and the tier connects by itself once it is', { timeout: 60_000 }, async () => {
    const port = await sparePort();
    const late = new RedisTier<string>({ url: `redis://127.0.0.1:${port}`, maxBytes: 1_000, namespace: 'late', connectTimeoutMs: 300, reconnect: { minDelayMs: 20, maxDelayMs: 100 } });
    let lateServer: RedisServer | undefined;
    try {
      await assert.rejects(late.start(), (error: unknown) => isPrescientError(error, 'ERR_TIER_FAILED'));
      assert.equal(await bounded(late.get('x'), 'a read before Redis is there'), undefined);
      const offline = (await late.stats()).extra!;
      assert.equal(offline.offlineReads, 1, 'the read was answered as a miss at once, with no command sent');
      assert.equal(offline.timeouts, 0);
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
