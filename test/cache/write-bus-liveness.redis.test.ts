/**
 * RedisWriteBus's liveness check, on the machine's Redis (127.0.0.1:6379): a subscription whose connection stops
 * delivering without closing (a proxy in between that goes silent, as a partition or a middlebox dropping the flow
 * would) is dropped once idle for idleTimeoutMs (node-redis PINGs every pingIntervalMs, so a healthy one never is),
 * the node forgets its local copies, and it subscribes again on a new connection once the path is back. Short real
 * intervals; each test uses its own channel and namespace.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { RedisTier } from '../../src/cache/redis-tier.ts';
import { RedisWriteBus } from '../../src/cache/redis-write-bus.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { waitFor } from '../doubles/net-wait.ts';

const url = 'redis://127.0.0.1:6379';

/** A TCP proxy to the Redis on 6379 that can go silent: while frozen, bytes either way are dropped and sockets stay open. */
class SilentProxy {
  isFrozen = false;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor() {
    this.#server = createServer((client) => {
      const upstream = connect(6379, '127.0.0.1');
      this.#sockets.add(client).add(upstream);
      client.on('data', (chunk) => void (this.isFrozen || upstream.write(chunk)));
      upstream.on('data', (chunk) => void (this.isFrozen || client.write(chunk)));
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      for (const socket of [client, upstream]) socket.on('close', end).on('error', end);
    });
  }

  static async start(): Promise<SilentProxy> {
    const proxy = new SilentProxy();
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe('RedisWriteBus liveness (PING and idle timeout)', () => {
  test('pingIntervalMs and idleTimeoutMs are checked, with coded errors', () => {
    const invalid = (option: string) => (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION') && new RegExp(`\`${option}\``).test((e as Error).message);
    for (const pingIntervalMs of [0, -5, 1.5, '100', Number.NaN, 99, 3_600_001]) {
      assert.throws(() => new RedisWriteBus({ url, pingIntervalMs: pingIntervalMs as number }), invalid('pingIntervalMs'), String(pingIntervalMs));
    }
    for (const idleTimeoutMs of [0, 1.5, 'x', 2_000, 3_999, 2 ** 31]) {
      assert.throws(() => new RedisWriteBus({ url, pingIntervalMs: 2_000, idleTimeoutMs: idleTimeoutMs as number }), invalid('idleTimeoutMs'), String(idleTimeoutMs));
    }
    assert.doesNotThrow(() => new RedisWriteBus({ url, pingIntervalMs: 100, idleTimeoutMs: 200 }));
    assert.doesNotThrow(() => new RedisWriteBus({ url, pingIntervalMs: 10_000 })); // the idle timeout follows: 30 s
  });

  test('a subscription that goes silent is reported down, the node forgets its copies, and it listens again once the path is back', { timeout: 30_000 }, async () => {
    const name = `bus-heartbeat-${randomUUID().slice(0, 8)}`;
    const proxy = await SilentProxy.start();
    const origin = new MapOrigin<string>([['k', 'v1']]);
    const errors: unknown[] = [];
    const make = async (busUrl: string) => {
      const l2 = await RedisTier.connect<string>({ url, maxBytes: 1e7, namespace: name, clientSideCache: false });
      const bus = new RedisWriteBus({ url: busUrl, channel: `${name}:writes`, clientName: name, pingIntervalMs: 100, idleTimeoutMs: 1_000, reconnect: { minDelayMs: 10, maxDelayMs: 50 }, onError: (e) => errors.push(e) });
      const cache = new Cache<string>({ origin, l2, bus, ttlMs: 600_000 });
      await cache.whenSubscribed();
      return { cache, l2, bus };
    };
    const a = await make(url);
    const b = await make(proxy.url); // B's bus goes through the proxy; its shared tier does not
    try {
      assert.equal((await b.cache.get('k')).value, 'v1');
      await a.cache.set('k', 'v2');
      await waitFor(() => b.cache.peek('k') === undefined, "B heard A's write");
      assert.equal((await b.cache.get('k')).value, 'v2');
      // Healthy: PINGs go on (several idle timeouts) without B or A forgetting anything or counting anything.
      const before = { a: a.cache.stats().writeBus!, b: b.cache.stats().writeBus! };
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      for (const [node, was] of [[a, before.a], [b, before.b]] as const) {
        const now = node.cache.stats().writeBus!;
        assert.deepEqual([now.forgotten, now.invalid, now.received, now.isSubscribed], [was.forgotten, 0, was.received, true], `PINGs keep a healthy connection (${errors.map(String).join('; ')})`);
      }
      assert.equal(b.cache.peek('k')?.value, 'v2');

      proxy.isFrozen = true; // B's connections stay open and deliver nothing
      await a.cache.set('k', 'v3');
      await waitFor(() => !b.bus.isListening && b.cache.stats().writeBus?.isSubscribed === false, 'B reports its subscription down', 5_000);
      assert.equal(b.cache.stats().writeBus!.forgotten, before.b.forgotten + 1, 'B forgot its copies: notices went missing unnoticed');
      assert.equal(b.cache.peek('k'), undefined);
      assert.equal((await b.cache.get('k')).value, 'v3', "B reads A's write from the shared tier");
      assert.ok(errors.some((e) => /timeout/i.test(String(e))), 'the silent connection was reported to onError');

      proxy.isFrozen = false; // new connections through the proxy work again
      await waitFor(() => b.bus.isListening && b.cache.stats().writeBus?.isSubscribed === true, 'B subscribes again on a new connection', 10_000);
      await a.cache.set('k', 'v4');
      await waitFor(() => b.cache.peek('k') === undefined, "B hears A's writes again", 5_000);
      assert.equal((await b.cache.get('k')).value, 'v4');
      assert.equal(a.cache.stats().writeBus!.invalid, 0);
    } finally {
      await a.cache.close();
      await b.cache.close();
      await Promise.all([a.bus.close(), b.bus.close()]);
      await a.l2.clear();
      await Promise.all([a.l2.close(), b.l2.close()]);
      await proxy.close();
    }
  });
});
