import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { Cache } from '../../src/cache/cache.ts';
import { VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { registerDashboard } from '../../src/server/dashboard.ts';

const keys = Array.from({ length: 10 }, (_, i) => `item:${i}`);

async function rig() {
  const clock = new VirtualClock(1_700_000_000_000);
  const cache = new Cache<unknown>({ origin: new MapOrigin<unknown>(keys.map((k) => [k, { k }])), clock, ttlMs: Infinity });
  const app = Fastify();
  const feed = registerDashboard(app, { cache }, { clock, intervalMs: 1000, historyLength: 5 });
  app.get('/v1/items/:key', async (request) => (await cache.get((request.params as { key: string }).key)).value ?? null);
  app.put('/v1/items/:key', async (request) => (await cache.set((request.params as { key: string }).key, request.body)).version);
  app.get('/v1/snapshot-of-latency', () => feed.current().latencyMs);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, cache, feed, url, port: Number(new URL(url).port) };
}

const until = async (check: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), what);
};

describe('dashboard event streams', () => {
  test('streams pipelined on one connection end when the client goes (the queued one has no socket of its own)', async () => {
    const r = await rig();
    try {
      for (let round = 0; round < 5; round++) {
        const socket = connect(r.port, '127.0.0.1');
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        const get = 'GET /v1/dashboard/events HTTP/1.1\r\nHost: x\r\n\r\n';
        socket.write(get + get);
        await until(() => received.includes('event: history'), 'the first stream started');
        socket.destroy();
      }
      await until(() => r.feed.listenerCount === 0, `no stream is left listening (${r.feed.listenerCount} are)`);
    } finally {
      await r.app.close();
      await r.cache.close();
    }
  });

  test('past the cap of open streams a new one is refused with 429, and one closing makes room', async () => {
    const r = await rig();
    const controllers: AbortController[] = [];
    try {
      let status = 200;
      while (status === 200 && controllers.length < 200) {
        const controller = new AbortController();
        const res = await fetch(`${r.url}/v1/dashboard/events`, { signal: controller.signal });
        status = res.status;
        if (status === 200) controllers.push(controller);
        else assert.equal(((await res.json()) as { code: string }).code, 'ERR_RATE_LIMITED');
      }
      assert.equal(status, 429);
      assert.equal(controllers.length, 64);
      controllers.pop()!.abort();
      await until(() => r.feed.listenerCount === 63, 'the aborted stream let go');
      const again = new AbortController();
      const res = await fetch(`${r.url}/v1/dashboard/events`, { signal: again.signal });
      assert.equal(res.status, 200);
      controllers.push(again);
    } finally {
      for (const c of controllers) c.abort();
      await r.app.close();
      await r.cache.close();
    }
  });

  test('read latency counts reads only: not writes, not deletes', async () => {
    const r = await rig();
    try {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${r.url}/v1/items/item:${i}`, { method: 'PUT', body: JSON.stringify({ i }), headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 200);
      }
      assert.equal(r.feed.current().latencyMs.count, 0, 'writes are not reads');
      assert.equal((await fetch(`${r.url}/v1/items/item:1`)).status, 200);
      assert.equal(r.feed.current().latencyMs.count, 1);
    } finally {
      await r.app.close();
      await r.cache.close();
    }
  });
});
