import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MemoryWriteBus } from '../../src/cache/write-bus.ts';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import type { Prediction, Predictor } from '../../src/predict/predictor.ts';
import { createServer } from '../../src/server/app.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { ScriptedPredictor } from '../doubles/scripted-predictor.ts';
import { gatedOrigin, rig, type Rig } from './server-rig.ts';

describe('item routes', () => {
  let r: Rig;
  before(async () => {
    r = await rig();
  });
  after(() => r.close());

  test('GET reads through the origin, then serves the cached copy', async () => {
    const first = await r.inject({ url: '/v1/items/b?session=s1&user=u1&segment=eu' });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { key: 'b', value: { name: 'bee' }, version: 1, served: 'miss', from: 'origin' });
    const second = await r.inject({ url: '/v1/items/b?session=s1' });
    assert.equal(second.body.served, 'hit');
    assert.equal(second.body.from, 'memory');
  });

  test('a key with a slash reads when percent-encoded', async () => {
    const res = await r.inject({ url: '/v1/items/user%3A1%2Forders' });
    assert.equal(res.status, 200);
    assert.equal(res.body.key, 'user:1/orders');
  });

  test('a key the origin lacks answers 404 ERR_NOT_FOUND', async () => {
    const res = await r.inject({ url: '/v1/items/missing' });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'ERR_NOT_FOUND');
  });

  test('batchGet answers aligned results, found or not', async () => {
    const res = await r.inject({ method: 'POST', url: '/v1/items:batchGet', payload: { keys: ['a', 'nope', 'c'], session: 's2' } });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.items.map((i: { key: string; found: boolean }) => [i.key, i.found]),
      [['a', true], ['nope', false], ['c', true]],
    );
    assert.deepEqual(res.body.items[2].value, [1, 2, 3]);
  });

  test('PUT answers the new version and the next read serves the new value; DELETE removes it', async () => {
    const put = await r.inject({ method: 'PUT', url: '/v1/items/fresh', payload: { value: { n: 1 } } });
    assert.equal(put.status, 200);
    assert.equal(put.body.key, 'fresh');
    assert.ok(Number.isSafeInteger(put.body.version) && put.body.version > 0);
    const read = await r.inject({ url: '/v1/items/fresh' });
    assert.deepEqual([read.body.value, read.body.version], [{ n: 1 }, put.body.version]);
    const put2 = await r.inject({ method: 'PUT', url: '/v1/items/fresh', payload: { value: 2 } });
    assert.ok(put2.body.version > put.body.version);
    const del = await r.inject({ method: 'DELETE', url: '/v1/items/fresh' });
    assert.equal(del.status, 200);
    assert.equal(del.body.deleted, true);
    assert.ok(del.body.version > put2.body.version);
    assert.equal((await r.inject({ url: '/v1/items/fresh' })).status, 404);
  });

  test('PUT accepts null and falsy values', async () => {
    for (const value of [null, 0, false, '']) {
      const res = await r.inject({ method: 'PUT', url: '/v1/items/falsy', payload: { value } });
      assert.equal(res.status, 200, JSON.stringify(value));
      assert.deepEqual((await r.inject({ url: '/v1/items/falsy' })).body.value, value);
    }
  });
});

// The same routes with the models on the request thread and on a worker thread (cache.modelThread).
for (const modelThread of ['main', 'worker'] as const) describe(`session routes, models on ${modelThread === 'main' ? 'the request thread' : 'a worker'}`, () => {
  let r: Rig;
  before(async () => {
    r = await rig({ config: { cache: { modelThread } } });
  });
  after(() => r.close());

  test('an action recorded in many sessions teaches what follows it; prefetch for the action predicts it', async () => {
    for (let i = 0; i < 30; i++) {
      const action = await r.inject({ method: 'POST', url: `/v1/sessions/train-${i}/actions`, payload: { action: 'checkout' } });
      assert.equal(action.status, 202);
      assert.deepEqual(action.body, { session: `train-${i}`, action: 'checkout', recorded: true });
      assert.equal((await r.inject({ url: `/v1/items/receipt?session=train-${i}` })).status, 200);
    }
    const res = await r.inject({ method: 'POST', url: '/v1/sessions/new-1/prefetch', payload: { action: 'checkout' } });
    assert.equal(res.status, 202);
    assert.equal(res.body.predicted[0].key, 'receipt');
    assert.ok(res.body.predicted.every((p: Prediction) => !p.key.startsWith('action:')), 'action keys are never prefetched');
  });

  test('prefetch of explicit keys fetches the ones not cached', async () => {
    const res = await r.inject({ method: 'POST', url: '/v1/sessions/p1/prefetch', payload: { keys: ['a', 'c'] } });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body.keys, ['a', 'c']);
    await r.clock.advanceAsync(0);
    const again = await r.inject({ method: 'POST', url: '/v1/sessions/p1/prefetch', payload: { keys: ['a', 'c'] } });
    assert.deepEqual(again.body.keys, []);
    assert.equal((await r.inject({ url: '/v1/items/a?session=p1' })).body.served, 'prefetched');
  });

  test('predictions list items and expected actions with probabilities', async () => {
    // Sessions that browse `a`, then check out, then read the receipt: `checkout` is the action that follows
    // browsing `a`, and `receipt` the item that follows `checkout`.
    for (let i = 0; i < 30; i++) {
      assert.equal((await r.inject({ method: 'POST', url: `/v1/sessions/flow-${i}/actions`, payload: { action: 'browse', key: 'a' } })).status, 202);
      assert.equal((await r.inject({ method: 'POST', url: `/v1/sessions/flow-${i}/actions`, payload: { action: 'checkout' } })).status, 202);
      assert.equal((await r.inject({ url: `/v1/items/receipt?session=flow-${i}` })).status, 200);
    }
    const valid = (body: { items: Prediction[]; actions: Prediction[] }): void => {
      assert.ok(Array.isArray(body.items) && body.items.length <= 3);
      assert.ok(Array.isArray(body.actions) && body.actions.length <= 3);
      for (const p of [...body.items, ...body.actions]) assert.ok(p.probability >= 0 && p.probability <= 1, JSON.stringify(p));
      assert.ok(body.actions.every((p) => !p.key.startsWith('action:')), 'actions are named without their key prefix');
      assert.ok(body.items.every((p) => !p.key.startsWith('action:')), 'action keys are never listed as items');
    };

    // A session that browsed `a`: the action expected next is `checkout`.
    assert.equal((await r.inject({ method: 'POST', url: '/v1/sessions/q1/actions', payload: { action: 'browse', key: 'a' } })).status, 202);
    const browsed = await r.inject({ url: '/v1/sessions/q1/predictions?limit=3' });
    assert.equal(browsed.status, 200);
    assert.equal(browsed.body.session, 'q1');
    valid(browsed.body);
    assert.equal(browsed.body.actions[0]?.key, 'checkout', JSON.stringify(browsed.body.actions));
    assert.ok(browsed.body.actions[0].probability > 0.5, JSON.stringify(browsed.body.actions));

    // A session that recorded `checkout`: the item expected next is `receipt`.
    assert.equal((await r.inject({ method: 'POST', url: '/v1/sessions/q2/actions', payload: { action: 'checkout' } })).status, 202);
    const checkedOut = await r.inject({ url: '/v1/sessions/q2/predictions?limit=3' });
    assert.equal(checkedOut.status, 200);
    assert.equal(checkedOut.body.session, 'q2');
    valid(checkedOut.body);
    assert.equal(checkedOut.body.items[0]?.key, 'receipt', JSON.stringify(checkedOut.body.items));
    assert.ok(checkedOut.body.items[0].probability > 0.5, JSON.stringify(checkedOut.body.items));
  });
});

describe('admin routes', () => {
  test('prescient_http_errors_total counts the dashboard routes\' refusals too', async () => {
    const r = await rig();
    try {
      const res = await r.inject({ url: '/v1/dashboard/snapshot?bogus=1' });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { error: { code: 'ERR_BAD_REQUEST', message: 'Unknown query parameter `bogus`' } });
      assert.equal((await r.inject({ url: '/v1/dashboard/events?session=a%20b' })).status, 400);
      assert.match((await r.inject({ url: '/metrics' })).text, /^prescient_http_errors_total\{code="ERR_BAD_REQUEST"\} 2$/m);
    } finally {
      await r.close();
    }
  });

  test('healthz, readyz, metrics and the shadow catalog', async () => {
    const predictor = new ScriptedPredictor({ a: [['b', 0.9], ['c', 0.8]] });
    const r = await rig({ predictor });
    try {
      assert.deepEqual((await r.inject({ url: '/healthz' })).body, { status: 'ok' });
      assert.deepEqual((await r.inject({ url: '/readyz' })).body, { status: 'ready' });
      await r.inject({ url: '/v1/items/a?session=s&user=alice' });
      await r.clock.advanceAsync(10);
      await r.clock.advanceAsync(10);
      const shadow = await r.inject({ url: '/v1/users/alice/shadow?limit=5' });
      assert.equal(shadow.status, 200);
      assert.deepEqual(shadow.body.items.map((i: { key: string }) => i.key).sort(), ['b', 'c']);
      assert.deepEqual((await r.inject({ url: '/v1/users/bob/shadow' })).body, { user: 'bob', items: [] });
      const metrics = await r.inject({ url: '/metrics' });
      assert.equal(metrics.status, 200);
      assert.match(String(metrics.headers['content-type']), /text\/plain/);
      assert.match(metrics.text, /^prescient_reads_total\{served="miss"\} 1$/m);
      assert.match(metrics.text, /^prescient_model_errors_total 0$/m);
      assert.match(metrics.text, /^prescient_prefetch_issued_total 2$/m);
      assert.match(metrics.text, /^prescient_origin_fetch_seconds_count\{purpose="demand",outcome="ok"\} 1$/m);
      assert.match(metrics.text, /^prescient_tier_entries\{tier="memory"\} 3$/m);
      assert.match(metrics.text, /^prescient_prefetch_queue_depth 0$/m);
      assert.match(metrics.text, /^prescient_prefetch_precision /m);
      assert.match(metrics.text, /^prescient_prefetch_coverage /m);
      // A second scrape advances counters by the difference only.
      await r.inject({ url: '/v1/items/b?session=s&user=alice' });
      assert.match((await r.inject({ url: '/metrics' })).text, /^prescient_reads_total\{served="prefetched"\} 1$/m);
      assert.match((await r.inject({ url: '/metrics' })).text, /^prescient_reads_total\{served="miss"\} 1$/m);
    } finally {
      await r.close();
    }
  });
});

describe('every error code', () => {
  test('input and routing errors', async () => {
    const r = await rig({ config: { limits: { bodyLimitBytes: 1024 } } });
    try {
      const cases: Array<[string, Parameters<Rig['inject']>[0], number, string]> = [
        ['bad JSON', { method: 'PUT', url: '/v1/items/k', payload: '{"value":', headers: { 'content-type': 'application/json' } }, 400, 'ERR_BAD_REQUEST'],
        ['empty JSON body', { method: 'PUT', url: '/v1/items/k', payload: '', headers: { 'content-type': 'application/json' } }, 400, 'ERR_BAD_REQUEST'],
        ['unknown body field', { method: 'PUT', url: '/v1/items/k', payload: { value: 1, extra: true } }, 400, 'ERR_BAD_REQUEST'],
        ['missing value', { method: 'PUT', url: '/v1/items/k', payload: {} }, 400, 'ERR_BAD_REQUEST'],
        ['unknown query field', { url: '/v1/items/a?sesion=x' }, 400, 'ERR_BAD_REQUEST'],
        ['repeated query field', { url: '/v1/items/a?session=x&session=y' }, 400, 'ERR_BAD_REQUEST'],
        ['bad session id', { url: '/v1/items/a?session=has%20space' }, 400, 'ERR_BAD_REQUEST'],
        ['bad limit', { url: '/v1/sessions/s/predictions?limit=1e3' }, 400, 'ERR_BAD_REQUEST'],
        ['negative limit', { url: '/v1/sessions/s/predictions?limit=-1' }, 400, 'ERR_BAD_REQUEST'],
        ['zero limit', { url: '/v1/sessions/s/predictions?limit=0' }, 400, 'ERR_BAD_REQUEST'],
        ['huge limit', { url: '/v1/users/u/shadow?limit=99999999999999999999' }, 400, 'ERR_BAD_REQUEST'],
        ['prefetch with nothing', { method: 'POST', url: '/v1/sessions/s/prefetch', payload: {} }, 400, 'ERR_BAD_REQUEST'],
        ['keys not an array', { method: 'POST', url: '/v1/items:batchGet', payload: { keys: 'a' } }, 400, 'ERR_BAD_REQUEST'],
        ['empty key list', { method: 'POST', url: '/v1/items:batchGet', payload: { keys: [] } }, 400, 'ERR_BAD_REQUEST'],
        ['too many keys', { method: 'POST', url: '/v1/items:batchGet', payload: { keys: Array.from({ length: 101 }, (_, i) => `k${i}`) } }, 400, 'ERR_BAD_REQUEST'],
        ['bad key in a batch', { method: 'POST', url: '/v1/items:batchGet', payload: { keys: ['a', 'b c'] } }, 400, 'ERR_INVALID_KEY'],
        ['key with a quote', { url: '/v1/items/a%22b' }, 400, 'ERR_INVALID_KEY'],
        ['key too long', { url: `/v1/items/${'k'.repeat(513)}` }, 400, 'ERR_INVALID_KEY'],
        ['reserved key', { method: 'PUT', url: '/v1/items/action:x', payload: { value: 1 } }, 400, 'ERR_INVALID_KEY'],
        ['a NUL character PostgreSQL jsonb cannot store', { method: 'PUT', url: '/v1/items/k', payload: '{"value":{"s":"a\\u0000b"}}', headers: { 'content-type': 'application/json' } }, 400, 'ERR_INVALID_VALUE'],
        ['a lone surrogate', { method: 'PUT', url: '/v1/items/k', payload: '{"value":["\\ud800"]}', headers: { 'content-type': 'application/json' } }, 400, 'ERR_INVALID_VALUE'],
        ['deep value', { method: 'PUT', url: '/v1/items/k', payload: `{"value":${'['.repeat(100)}${']'.repeat(100)}}`, headers: { 'content-type': 'application/json' } }, 400, 'ERR_INVALID_VALUE'],
        ['prototype poisoning', { method: 'PUT', url: '/v1/items/k', payload: '{"value":{"__proto__":{"x":1}}}', headers: { 'content-type': 'application/json' } }, 400, 'ERR_BAD_REQUEST'],
        ['body too large', { method: 'PUT', url: '/v1/items/k', payload: { value: 'x'.repeat(2000) } }, 413, 'ERR_PAYLOAD_TOO_LARGE'],
        ['unsupported media type', { method: 'PUT', url: '/v1/items/k', payload: '<v/>', headers: { 'content-type': 'application/xml' } }, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
        ['text body', { method: 'PUT', url: '/v1/items/k', payload: 'value', headers: { 'content-type': 'text/plain' } }, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
        ['unknown route', { url: '/v2/items/a' }, 404, 'ERR_NOT_FOUND'],
        ['wrong method', { method: 'PATCH', url: '/v1/items/a' }, 404, 'ERR_NOT_FOUND'],
      ];
      for (const [name, request, status, code] of cases) {
        const res = await r.inject(request);
        assert.equal(res.status, status, `${name}: ${res.text}`);
        assert.equal(res.body?.error?.code, code, `${name}: ${res.text}`);
        assert.equal(typeof res.body.error.message, 'string', name);
        assert.deepEqual(Object.keys(res.body), ['error'], name);
      }
    } finally {
      await r.close();
    }
  });

  test('ERR_ORIGIN_FAILED (502) and ERR_NOT_READY (503) when the origin fails', async () => {
    const origin = new FunctionOrigin<unknown>({ getMany: async () => Promise.reject(new Error('connection refused')), putMany: async () => {} });
    const r = await rig({ origin });
    try {
      const res = await r.inject({ url: '/v1/items/a' });
      assert.equal(res.status, 502);
      assert.equal(res.body.error.code, 'ERR_ORIGIN_FAILED');
      const ready = await r.inject({ url: '/readyz' });
      assert.equal(ready.status, 503);
      assert.equal(ready.body.error.code, 'ERR_NOT_READY');
      assert.equal((await r.inject({ url: '/healthz' })).status, 200);
    } finally {
      await r.close();
    }
  });

  test('ERR_NOT_READY (503) while the write bus does not listen: the node would miss the other nodes\' writes', async () => {
    const bus = new MemoryWriteBus();
    const r = await rig({ bus });
    try {
      await r.server.service.cache.whenSubscribed();
      assert.equal((await r.inject({ url: '/readyz' })).status, 200);
      bus.disconnect();
      const down = await r.inject({ url: '/readyz' });
      assert.deepEqual([down.status, down.body.error.code], [503, 'ERR_NOT_READY']);
      bus.interrupt(); // back, with a gap
      assert.equal((await r.inject({ url: '/readyz' })).status, 200);
    } finally {
      await r.close();
    }
  });

  test('ERR_OVERLOADED (503) when the origin fetches in flight reach the limit, ERR_TIMEOUT (504) past the request timeout', async () => {
    const gate = gatedOrigin();
    const r = await rig({ origin: gate.origin, config: { limits: { maxInflightFetches: 1, requestTimeoutMs: 50 } } });
    try {
      const slow = r.inject({ url: '/v1/items/first' });
      const over = await r.inject({ url: '/v1/items/second' });
      assert.equal(over.status, 503);
      assert.equal(over.body.error.code, 'ERR_OVERLOADED');
      const timedOut = await slow;
      assert.equal(timedOut.status, 504);
      assert.equal(timedOut.body.error.code, 'ERR_TIMEOUT');
      gate.release();
      await r.clock.advanceAsync(0);
      assert.equal((await r.inject({ url: '/v1/items/second' })).status, 200);
    } finally {
      gate.release();
      await r.close();
    }
  });

  test('ERR_ORIGIN_READ_ONLY (405) when the origin takes no writes', async () => {
    const origin = new FunctionOrigin<unknown>({ getMany: async (keys) => keys.map(() => undefined) });
    const r = await rig({ origin });
    try {
      const res = await r.inject({ method: 'PUT', url: '/v1/items/k', payload: { value: 1 } });
      assert.equal(res.status, 405);
      assert.equal(res.body.error.code, 'ERR_ORIGIN_READ_ONLY');
    } finally {
      await r.close();
    }
  });

  test('ERR_CLOSED (503) for writes once the service is shutting down', async () => {
    const r = await rig();
    try {
      await r.server.service.close();
      const res = await r.inject({ method: 'PUT', url: '/v1/items/k', payload: { value: 1 } });
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'ERR_CLOSED');
    } finally {
      await r.close();
    }
  });

  test('ERR_INTERNAL (500) hides the text of an unexpected failure', async () => {
    const broken: Predictor = {
      name: 'broken',
      observe: () => {},
      predict: () => {
        throw new TypeError('secret internals');
      },
    };
    const r = await rig({ predictor: broken });
    try {
      const res = await r.inject({ url: '/v1/sessions/s/predictions' });
      assert.equal(res.status, 500);
      assert.deepEqual(res.body, { error: { code: 'ERR_INTERNAL', message: 'Internal error' } });
      assert.equal((await r.inject({ url: '/healthz' })).status, 200);
    } finally {
      await r.close();
    }
  });
});

describe('logs', () => {
  test('one debug line per request, and refused or failed requests logged with their code', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const dir = mkdtempSync(join(tmpdir(), 'prescient-log-test-'));
    const server = await createServer(resolveConfig({ logLevel: 'debug', journalDir: dir, writeBack: { groupCommitMs: 0 } }, {}), {
      origin: new MapOrigin<unknown>([['a', 1]]),
      logDestination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    try {
      await server.app.inject({ url: '/v1/items/a' });
      await server.app.inject({ url: '/v1/items/bad%20key' });
      const requests = lines.filter((l) => l.msg === 'request');
      assert.deepEqual(
        requests.map((l) => [l.level, l.method, l.url, l.status]),
        [
          [20, 'GET', '/v1/items/a', 200],
          [20, 'GET', '/v1/items/bad%20key', 400],
        ],
      );
      const refused = lines.find((l) => l.msg === 'request refused');
      assert.equal(refused?.code, 'ERR_INVALID_KEY');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
