import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Cache } from '../../src/cache/cache.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';
import { DashboardFeed, LatencyHistogram } from '../../src/server/dashboard-feed.ts';
import { createServer } from '../../src/server/app.ts';
import { registerDashboard, type DashboardSnapshot } from '../../src/server/dashboard.ts';
import { resolveConfig } from '../../src/server/config.ts';

import type { DashboardPoint } from '../../src/server/dashboard-feed.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

type Rig = { app: FastifyInstance; cache: Cache<unknown>; clock: VirtualClock; feed: DashboardFeed };

const keys = Array.from({ length: 50 }, (_, i) => `item:${i}`);

async function rig(options: { auth?: boolean } = {}): Promise<Rig> {
  const clock = new VirtualClock(1_700_000_000_000);
  const origin = new MapOrigin<unknown>(keys.map((k) => [k, { k }]));
  const cache = new Cache<unknown>({ origin, clock, predictor: new EnsemblePredictor(), ttlMs: Infinity });
  const app = Fastify();
  if (options.auth === true) {
    // Stands in for the server's guard: a hook appended to every route as it is registered, so it runs after the
    // route's own hooks (the dashboard's ?token= copy), as in createServer.
    const guard = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
      if (request.headers.authorization === 'Bearer s3cret') done();
      else void reply.code(401).send({ error: { code: 'ERR_UNAUTHORIZED', message: 'no' } });
    };
    app.addHook('onRoute', (route) => {
      const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
      if (!hooks.includes(guard)) route.onRequest = [...hooks, guard];
    });
  }
  const feed = registerDashboard(app, { cache }, { clock, intervalMs: 1000, historyLength: 5 });
  app.get('/v1/items/:key', async (request) => {
    const r = await cache.get((request.params as { key: string }).key, { session: (request.query as { session?: string }).session ?? 'anon' });
    return { value: r.value, status: r.status };
  });
  app.get('/other', async () => ({ ok: true }));
  await app.ready();
  return { app, cache, clock, feed };
}

async function read(cache: Cache<unknown>, key: string, session = 's'): Promise<void> {
  await cache.get(key, { session });
  await flushMicrotasks();
}

describe('LatencyHistogram', () => {
  test('percentiles are within 2% of the exact ones', () => {
    const h = new LatencyHistogram();
    const random = seededRandom(7);
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = 0.05 + 20 * random() ** 3;
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    const s = h.summary();
    assert.equal(s.count, 20_000);
    for (const [q, got] of [[0.5, s.p50], [0.9, s.p90], [0.99, s.p99]] as const) {
      const exact = values[Math.ceil(q * values.length) - 1];
      assert.ok(got !== null && Math.abs(got - exact) / exact < 0.02, `p${q * 100}: ${got} vs ${exact}`);
    }
    assert.equal(s.max, values.at(-1));
    h.reset();
    assert.deepEqual(h.summary(), { count: 0, p50: null, p90: null, p99: null, max: null });
  });

  test('ignores negative and non-finite latencies', () => {
    const h = new LatencyHistogram();
    for (const v of [-1, NaN, Infinity]) h.record(v);
    h.record(0);
    assert.equal(h.summary().count, 1);
    assert.equal(h.summary().p99, 0);
  });
});

describe('DashboardFeed', () => {
  test('samples per-interval reads, hit ratio and origin load on its clock, keeping historyLength points', async () => {
    const clock = new VirtualClock(0);
    const origin = new MapOrigin<unknown>(keys.map((k) => [k, 1]));
    const cache = new Cache<unknown>({ origin, clock, ttlMs: Infinity });
    const feed = new DashboardFeed({ cache, clock, intervalMs: 500, historyLength: 3 });
    const seen: DashboardPoint[] = [];
    feed.subscribe((p) => seen.push(p));
    feed.start();
    for (const k of keys.slice(0, 4)) await read(cache, k);
    for (const k of keys.slice(0, 4)) await read(cache, k);
    clock.advance(500);
    assert.equal(seen.length, 1);
    const [p] = seen;
    assert.deepEqual(p.reads, { hit: 4, miss: 4, stale: 0, prefetched: 0 });
    assert.equal(p.hitRatio, 0.5);
    assert.equal(p.origin.demandKeys, 4);
    assert.equal(p.intervalMs, 500);
    assert.equal(p.memory.entries, 4);
    clock.advance(500);
    assert.equal(seen[1].hitRatio, null, 'no reads in the second interval');
    assert.deepEqual(seen[1].readsTotal, { hit: 4, miss: 4, stale: 0, prefetched: 0 });
    assert.equal(seen[1].hitRatioTotal, 0.5);
    clock.advance(2000);
    assert.equal(seen.length, 6);
    assert.equal(feed.history().length, 3);
    assert.equal(feed.history()[2], seen[5]);
    feed.close();
    clock.advance(5000);
    assert.equal(seen.length, 6, 'no sample after close');
  });

  test('rejects bad options with ERR_INVALID_OPTION naming the option', () => {
    const cache = { stats: () => ({}) } as never;
    assert.throws(() => new DashboardFeed({ cache, intervalMs: 0 }), { code: 'ERR_INVALID_OPTION', option: 'intervalMs' });
    assert.throws(() => new DashboardFeed({ cache, historyLength: 1.5 }), { code: 'ERR_INVALID_OPTION', option: 'historyLength' });
    assert.throws(() => new DashboardFeed({ cache: {} as never }), { code: 'ERR_INVALID_OPTION', option: 'cache' });
  });
});

describe('registerDashboard', () => {
  let r: Rig;
  before(async () => {
    r = await rig();
  });
  after(async () => {
    await r.app.close();
    await r.cache.close();
  });

  test('GET / serves the page: self-contained HTML that talks only to its own server', async () => {
    const res = await r.app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(String(res.headers['content-security-policy']), /connect-src 'self'/);
    assert.match(res.body, /^<!doctype html>/);
    assert.match(res.body, /new EventSource\('\/v1\/dashboard\/events'/);
    for (const id of ['hit-ratio', 'reads-total', 'latency', 'precision', 'coverage', 'origin-rate', 'queue', 'session', 'predictions']) {
      assert.ok(res.body.includes(`id="${id}"`), id);
    }
    // The only absolute URL is the SVG namespace name, which is never fetched.
    assert.doesNotMatch(res.body, /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg')/);
  });

  test('snapshot reports reads by how served and the latency of item requests', async () => {
    for (const k of keys.slice(0, 5)) assert.equal((await r.app.inject({ method: 'GET', url: `/v1/items/${k}` })).statusCode, 200);
    for (const k of keys.slice(0, 5)) await r.app.inject({ method: 'GET', url: `/v1/items/${k}` });
    await r.app.inject({ method: 'GET', url: '/other' });
    r.clock.advance(1000);
    const res = await r.app.inject({ method: 'GET', url: '/v1/dashboard/snapshot' });
    assert.equal(res.statusCode, 200);
    const snap = res.json() as DashboardSnapshot;
    assert.equal(snap.intervalMs, 1000);
    assert.equal(snap.points.length, 1);
    assert.deepEqual(snap.latest.reads, { hit: 5, miss: 5, stale: 0, prefetched: 0 });
    assert.equal(snap.latest.latencyMs.count, 10, 'only /v1/items requests are timed');
    assert.ok(snap.latest.latencyMs.p99 !== null && snap.latest.latencyMs.p99 > 0);
    assert.equal(snap.predictions, undefined);
  });

  test('?session= adds the top predicted keys for that session', async () => {
    // Sessions that all walk item:10 -> item:11 -> item:12: after item:10, item:11 is the likely next key.
    for (let s = 0; s < 30; s++) for (const k of ['item:10', 'item:11', 'item:12']) await read(r.cache, k, `walk-${s}`);
    await read(r.cache, 'item:10', 'probe');
    const res = await r.app.inject({ method: 'GET', url: '/v1/dashboard/snapshot?session=probe' });
    assert.equal(res.statusCode, 200);
    const snap = res.json() as DashboardSnapshot;
    assert.equal(snap.session, 'probe');
    assert.ok(snap.predictions !== undefined && snap.predictions.length > 0);
    assert.equal(snap.predictions[0].key, 'item:11');
    assert.ok(snap.predictions[0].probability > 0 && snap.predictions[0].probability <= 1);
  });

  test('bad query parameters get 400 ERR_BAD_REQUEST, thrown to the app\'s error handler', async () => {
    for (const url of [
      '/v1/dashboard/snapshot?nope=1',
      `/v1/dashboard/snapshot?session=${'x'.repeat(257)}`,
      '/v1/dashboard/snapshot?session=a&session=b',
      '/v1/dashboard/snapshot?session=a%20b',
      '/v1/dashboard/snapshot?session=a%23b',
      '/v1/dashboard/events?bogus=',
    ]) {
      const res = await r.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 400, url);
      // Used alone, the dashboard leaves the error's rendering to the app: here Fastify's default handler.
      assert.equal((res.json() as { code: string }).code, 'ERR_BAD_REQUEST', url);
    }
  });
});

describe('dashboard event stream', () => {
  test('sends the history first, then each new point, and ends when the app closes', async () => {
    const r = await rig();
    const url = await r.app.listen({ port: 0, host: '127.0.0.1' });
    r.clock.advance(1000);
    const res = await fetch(`${url}/v1/dashboard/events?session=s`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const until = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(text)) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += chunk.value;
      }
    };
    await until(/event: history\ndata: .*\n\n/);
    const history = JSON.parse(/event: history\ndata: (.*)\n/.exec(text)![1]) as DashboardSnapshot;
    assert.equal(history.points.length, 1);
    assert.deepEqual(history.predictions, []);
    await read(r.cache, 'item:1');
    await read(r.cache, 'item:1');
    r.clock.advance(1000);
    await until(/\n\ndata: .*\n\n/);
    const point = JSON.parse(/\n\ndata: (.*)\n/.exec(text)![1]) as DashboardPoint & DashboardSnapshot;
    assert.deepEqual(point.reads, { hit: 1, miss: 1, stale: 0, prefetched: 0 });
    assert.equal(point.session, 's');
    await r.app.close();
    const rest = await reader.read().catch(() => ({ done: true }));
    assert.equal(rest.done, true, 'the stream ends when the server closes');
    await r.cache.close();
  });
});

describe('dashboard behind bearer auth', () => {
  let r: Rig;
  before(async () => {
    r = await rig({ auth: true });
  });
  after(async () => {
    await r.app.close();
    await r.cache.close();
  });

  test('?token= stands in for the Authorization header on the dashboard routes only', async () => {
    assert.equal((await r.app.inject({ method: 'GET', url: '/v1/dashboard/snapshot' })).statusCode, 401);
    assert.equal((await r.app.inject({ method: 'GET', url: '/v1/dashboard/snapshot?token=wrong' })).statusCode, 401);
    assert.equal((await r.app.inject({ method: 'GET', url: '/v1/dashboard/snapshot?token=s3cret' })).statusCode, 200);
    assert.equal((await r.app.inject({ method: 'GET', url: '/?token=s3cret' })).statusCode, 200);
    assert.equal((await r.app.inject({ method: 'GET', url: '/other?token=s3cret' })).statusCode, 401);
    const header = await r.app.inject({ method: 'GET', url: '/v1/dashboard/snapshot', headers: { authorization: 'Bearer s3cret' } });
    assert.equal(header.statusCode, 200);
  });
});

describe('dashboard in createServer', () => {
  test('an open event stream does not hold up a graceful close, and the stream counts reads made through the API', async () => {
    const journalDir = mkdtempSync(join(tmpdir(), 'prescient-dashboard-close-'));
    const origin = new MapOrigin<unknown>(keys.map((k) => [k, { k }]));
    const server = await createServer(resolveConfig({ port: 0, logLevel: 'silent', journalDir }, {}), { origin });
    try {
      const url = await server.listen();
      const res = await fetch(`${url}/v1/dashboard/events`);
      assert.equal(res.status, 200);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      const first = await reader.read();
      assert.match(String(first.value), /^retry: \d+\nevent: history\n/);
      for (const k of ['item:1', 'item:1', 'item:2']) assert.equal((await fetch(`${url}/v1/items/${k}?session=s`)).status, 200);
      const snap = (await (await fetch(`${url}/v1/dashboard/snapshot`)).json()) as DashboardSnapshot;
      assert.deepEqual(snap.now.readsTotal, { hit: 1, miss: 2, stale: 0, prefetched: 0 });
      assert.equal(snap.now.latencyMs.count, 3, 'the API reads are timed');
      assert.equal(typeof snap.service?.writeBackPending, 'number', "the service's own gauges ride along");
      const closing = server.close();
      const rest = await reader.read().catch(() => ({ done: true }));
      assert.equal(rest.done, true, 'the stream ends on close');
      await closing;
    } finally {
      await server.close();
      rmSync(journalDir, { recursive: true, force: true });
    }
  });
});
