/**
 * RedisWriteBus on the machine's Redis (127.0.0.1:6379): the WriteBus contract, and two caches sharing a Redis tier
 * namespace and a bus channel, where one node's write reaches the other's memory tier. Each test uses its own
 * channel and client name, and breaks only its own connections (CLIENT KILL ID).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { createClient } from 'redis';
import { Cache } from '../../src/cache/cache.ts';
import { RedisTier } from '../../src/cache/redis-tier.ts';
import { RedisWriteBus } from '../../src/cache/redis-write-bus.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { writeBusContract } from '../contracts/write-bus.contract.ts';
import { waitFor } from '../doubles/net-wait.ts';
import { RedisServer } from '../doubles/redis-server.ts';

const url = 'redis://127.0.0.1:6379';

/** Kills the connections named `name` that are subscribed to something: the bus's listening side. */
async function killSubscribers(name: string): Promise<number> {
  const admin = createClient({ url });
  await admin.connect();
  try {
    const list = String(await admin.sendCommand(['CLIENT', 'LIST']));
    const ids = list.split('\n').filter((line) => line.includes(` name=${name} `) && / sub=[1-9]/.test(line)).map((line) => /\bid=(\d+)/.exec(line)![1]);
    for (const id of ids) await admin.sendCommand(['CLIENT', 'KILL', 'ID', id]);
    return ids.length;
  } finally {
    await admin.close();
  }
}

writeBusContract('RedisWriteBus', async () => {
  const name = `bus-contract-${randomUUID().slice(0, 8)}`;
  const bus = new RedisWriteBus({ url, channel: `${name}:writes`, clientName: name, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
  return {
    bus,
    async interrupt() {
      assert.ok((await killSubscribers(name)) >= 1, 'a subscriber connection was there to kill');
    },
    close: () => bus.close(),
  };
});

describe('RedisWriteBus between two caches on one Redis tier namespace', () => {
  async function twoNodes() {
    const name = `bus-nodes-${randomUUID().slice(0, 8)}`;
    const origin = new MapOrigin<string>([['k', 'v1'], ['a:1', 'x'], ['b:1', 'y']]);
    const make = async () => {
      const l2 = await RedisTier.connect<string>({ url, maxBytes: 1e7, namespace: name });
      const bus = new RedisWriteBus({ url, channel: `${name}:writes`, clientName: name, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
      const cache = new Cache<string>({ origin, l2, bus, ttlMs: 60_000 });
      await cache.whenSubscribed();
      return { cache, l2, bus };
    };
    const a = await make();
    const b = await make();
    return {
      name,
      a: a.cache,
      b: b.cache,
      async close() {
        await a.cache.close();
        await b.cache.close();
        await Promise.all([a.bus.close(), b.bus.close()]);
        await a.l2.clear();
        await Promise.all([a.l2.close(), b.l2.close()]);
      },
    };
  }

  test("a set on A reaches B's memory tier: B's next read is the new version, from Redis", async () => {
    const n = await twoNodes();
    try {
      assert.equal((await n.b.get('k')).value, 'v1');
      const written = await n.a.set('k', 'v2'); // no version: one above what Redis holds
      await waitFor(() => n.b.peek('k') === undefined, "B dropped its copy");
      const read = await n.b.get('k');
      assert.deepEqual([read.value, read.version], ['v2', written.version]);
      assert.equal(n.a.peek('k')?.value, 'v2');
    } finally {
      await n.close();
    }
  });

  test("a tag invalidated on A goes from B's memory tier, though A never held it", async () => {
    const n = await twoNodes();
    try {
      await n.b.set('a:1', 'tagged', { tags: ['t'] });
      await n.b.get('b:1');
      await n.a.invalidate({ tag: 't' });
      await waitFor(() => n.b.peek('a:1') === undefined && n.b.stats().writeBus?.received === 2, 'B dropped the tagged entry');
      assert.equal(n.b.peek('b:1')?.value, 'y');
      // (two notices: the key A found through Redis's tag index, then the tag)
      assert.equal(n.b.stats().writeBus?.received, 2);
      // ...and its copy in Redis (B wrote it, A found it by the tag index): a read past the version floors' window
      // (a fresh node, with none) loads the origin's value, not the invalidated one.
      const l2 = await RedisTier.connect<string>({ url, maxBytes: 1e7, namespace: n.name });
      try {
        await waitFor(async () => (await l2.get('a:1')) === undefined, "A removed Redis's copy");
      } finally {
        await l2.close();
      }
      assert.equal((await n.a.get('a:1')).value, 'x');
    } finally {
      await n.close();
    }
  });

  test('invalidate({ tag }) reaches a copy in Redis that no node holds any more (the tag index)', async () => {
    const n = await twoNodes();
    try {
      await n.a.set('a:1', 'tagged', { tags: ['t'] });
      await n.a.close(); // A, the only node that held it, is gone; Redis keeps its copy
      const fresh = await RedisTier.connect<string>({ url, maxBytes: 1e7, namespace: n.name });
      try {
        const c = new Cache<string>({ origin: new MapOrigin<string>([['a:1', 'origin']]), l2: fresh, ttlMs: 60_000 });
        assert.equal(await c.invalidate({ tag: 't' }), 1, 'found through the index though C never held it');
        assert.equal(await fresh.get('a:1'), undefined);
        assert.equal((await c.get('a:1')).value, 'origin');
        await c.close();
      } finally {
        await fresh.close();
      }
    } finally {
      await n.close();
    }
  });

  test("when B's subscription drops, B forgets its local copies once it listens again (it cannot know what it missed)", async () => {
    const n = await twoNodes();
    try {
      await n.b.get('k');
      await n.a.get('b:1');
      const before = n.b.stats().writeBus?.forgotten ?? 0;
      assert.equal(await killSubscribers(n.name), 2); // A's and B's
      await waitFor(() => (n.b.stats().writeBus?.forgotten ?? 0) > before, 'B reported the gap');
      assert.equal(n.b.peek('k'), undefined);
      assert.equal(n.a.peek('b:1'), undefined);
    } finally {
      await n.close();
    }
  });

  test('a Redis that goes away: the bus says it does not listen, and once Redis is back it reports the gap', async () => {
    const server = await RedisServer.start();
    const bus = new RedisWriteBus({ url: server.url, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
    let gaps = 0;
    let downs = 0;
    try {
      await bus.subscribe({ notice: () => {}, gap: () => gaps++, down: () => downs++ });
      assert.equal(bus.isListening, true);
      await server.kill();
      await waitFor(() => !bus.isListening, 'the bus noticed');
      assert.equal(downs, 1);
      await assert.rejects(bus.publish({ from: 'n', all: true }), (e: unknown) => isPrescientError(e, 'ERR_TIER_FAILED'));
      await server.restart();
      await waitFor(() => bus.isListening, 'the bus listens again');
      assert.equal(gaps, 1);
      await bus.publish({ from: 'n', all: true });
    } finally {
      await bus.close();
      await server.stop();
    }
  });

  test('isListening: false while a subscription connects or is down, and unaffected by unsubscribing or closing (close tells live listeners down)', async () => {
    const server = await RedisServer.start();
    await server.kill();
    const bus = new RedisWriteBus({ url: server.url, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
    try {
      const first = bus.subscribe({ notice: () => {}, gap: () => {} });
      assert.equal(bus.isListening, false, 'connecting to a Redis that is not there yet');
      await server.restart();
      const stopFirst = await first;
      const downs: string[] = [];
      await bus.subscribe({ notice: () => {}, gap: () => {}, down: () => downs.push('second') });
      assert.equal(bus.isListening, true);
      await stopFirst();
      assert.deepEqual([bus.isListening, downs], [true, []], 'one subscription ending is not the other being down');
      await bus.close();
      // Closing the bus under a live subscription is a drop its listener hears (it will hear nothing more).
      assert.deepEqual([bus.isListening, downs], [true, ['second']]);
    } finally {
      await bus.close();
      await server.stop();
    }
  });

  test('close() ends while Redis hangs with a publish unanswered: after publishTimeoutMs it destroys the connections', async () => {
    const server = await RedisServer.start();
    const bus = new RedisWriteBus({ url: server.url, publishTimeoutMs: 200 });
    try {
      await bus.subscribe({ notice: () => {}, gap: () => {} });
      await bus.publish({ from: 'n', all: true });
      server.pause();
      await assert.rejects(bus.publish({ from: 'n', all: true }), (e: unknown) => isPrescientError(e, 'ERR_TIER_FAILED'));
      const started = performance.now();
      const bounded = new Promise<string>((resolve) => setTimeout(resolve, 3_000, 'still closing after 3 s').unref());
      assert.equal(await Promise.race([bus.close().then(() => 'closed'), bounded]), 'closed');
      assert.ok(performance.now() - started < 1_000, `closed within ${performance.now() - started} ms`);
    } finally {
      server.resume();
      await server.stop();
    }
  });

  test('bad options are refused at construction, naming the option', () => {
    const bad: Array<[object, string]> = [
      [{ url: 'http://x' }, 'url'],
      [{ url, channel: '' }, 'channel'],
      [{ url, publishTimeoutMs: 0 }, 'publishTimeoutMs'],
      [{ url, reconnect: { minDelayMs: 100, maxDelayMs: 10 } }, 'reconnect.maxDelayMs'],
      [{ url, clientName: 'has space' }, 'clientName'],
    ];
    for (const [options, option] of bad) {
      assert.throws(() => new RedisWriteBus(options as never), (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as unknown as { option: string }).option === option, option);
    }
  });

  test('an unreachable Redis: publishing rejects with ERR_TIER_FAILED within the deadline; a subscription waits until the bus closes', async () => {
    const bus = new RedisWriteBus({ url: 'redis://127.0.0.1:1', publishTimeoutMs: 100, connectTimeoutMs: 200, reconnect: { minDelayMs: 10, maxDelayMs: 20 } });
    await assert.rejects(bus.publish({ from: 'n', all: true }), (e: unknown) => isPrescientError(e, 'ERR_TIER_FAILED'));
    const subscribing = bus.subscribe({ notice: () => {}, gap: () => {} });
    await bus.close();
    await assert.rejects(subscribing, (e: unknown) => isPrescientError(e, 'ERR_CLOSED'));
    await assert.rejects(bus.publish({ from: 'n', all: true }), (e: unknown) => isPrescientError(e, 'ERR_CLOSED'));
  });
});
