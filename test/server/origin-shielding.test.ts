import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OriginError, PrescientError } from '../../src/errors.ts';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import { createServer } from '../../src/server/app.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { toHttpError } from '../../src/server/http-errors.ts';
import { readinessReuseMs } from '../../src/server/readiness-probe.ts';
import { gatedOrigin, rig } from './server-rig.ts';
import { ScriptedPredictor } from '../doubles/scripted-predictor.ts';

test('prefetch is held to maxInflightFetches as reads are: 503 ERR_OVERLOADED and nothing fetched', async () => {
  const gate = gatedOrigin();
  const r = await rig({ origin: gate.origin, config: { limits: { maxInflightFetches: 3 } } });
  try {
    const first = await r.inject({ method: 'POST', url: '/v1/sessions/s1/prefetch', payload: { keys: ['p1', 'p2'] } });
    assert.equal(first.status, 202);
    assert.equal(first.body.issued, 2);
    const over = await r.inject({ method: 'POST', url: '/v1/sessions/s2/prefetch', payload: { keys: ['p3', 'p4'] } });
    assert.equal(over.status, 503);
    assert.equal(over.body.error.code, 'ERR_OVERLOADED');
    assert.equal(r.server.service.cache.pendingFetches, 2);
    const again = await r.inject({ method: 'POST', url: '/v1/sessions/s2/prefetch', payload: { keys: ['p1', 'p2'] } });
    assert.deepEqual([again.status, again.body.issued], [202, 0], 'keys already in flight add nothing and count nothing');
    const fits = await r.inject({ method: 'POST', url: '/v1/sessions/s3/prefetch', payload: { keys: ['p3'] } });
    assert.deepEqual([fits.status, fits.body.issued], [202, 1]);
    assert.equal((await r.inject({ url: '/v1/items/demand' })).body.error.code, 'ERR_OVERLOADED');
    await r.clock.advanceAsync(0);
    assert.equal(gate.keys, 3, 'the refused prefetch put no key in flight');
    gate.release();
    await r.clock.advanceAsync(0);
    assert.equal(r.server.service.cache.pendingFetches, 0);
    const after = await r.inject({ method: 'POST', url: '/v1/sessions/s2/prefetch', payload: { keys: ['p4', 'p5'] } });
    assert.deepEqual([after.status, after.body.issued], [202, 2]);
  } finally {
    gate.release();
    await r.close();
  }
});

test('a request that alone needs more fetches than maxInflightFetches is 400, never a 503 to retry; a key asked twice counts once', async () => {
  const gate = gatedOrigin();
  const r = await rig({ origin: gate.origin, config: { limits: { maxInflightFetches: 3 } } });
  try {
    const never = await r.inject({ method: 'POST', url: '/v1/sessions/s1/prefetch', payload: { keys: ['a', 'b', 'c', 'd'] } });
    assert.equal(never.status, 400);
    assert.equal(never.body.error.code, 'ERR_BAD_REQUEST');
    assert.match(never.body.error.message, /4 origin fetches at once; the server allows 3/);
    const batch = await r.inject({ method: 'POST', url: '/v1/items:batchGet', payload: { keys: ['a', 'b', 'c', 'd'] } });
    assert.equal(batch.status, 400);
    const query = await r.inject({ method: 'POST', url: '/v1/items:batchGet?session=x', payload: { keys: ['a'] } });
    assert.equal(query.status, 400, 'a context in the query would be ignored');
    const repeated = r.inject({ method: 'POST', url: '/v1/items:batchGet', payload: { keys: ['a', 'a', 'a', 'b'] } });
    await r.clock.advanceAsync(0);
    assert.equal(r.server.service.cache.pendingFetches, 2);
    gate.release();
    const answer = await repeated;
    assert.equal(answer.status, 200);
    assert.equal(answer.body.items.length, 4);
  } finally {
    gate.release();
    await r.close();
  }
});

test('an action\'s prefetch fetches the models\' keys up to the room maxInflightFetches leaves, never 503', async () => {
  const gate = gatedOrigin();
  const script: Record<string, Array<[string, number]>> = { 'action:buy': [['x1', 0.9], ['x2', 0.8], ['x3', 0.7], ['x4', 0.6], ['x5', 0.5]] };
  const r = await rig({ origin: gate.origin, predictor: new ScriptedPredictor(script), config: { limits: { maxInflightFetches: 3 } } });
  try {
    const first = await r.inject({ method: 'POST', url: '/v1/sessions/s1/prefetch', payload: { action: 'buy' } });
    assert.equal(first.status, 202);
    assert.equal(first.body.issued, 3);
    assert.equal(r.server.service.cache.pendingFetches, 3);
    const full = await r.inject({ method: 'POST', url: '/v1/sessions/s2/prefetch', payload: { action: 'buy' } });
    assert.deepEqual([full.status, full.body.issued], [202, 0]);
  } finally {
    gate.release();
    await r.close();
  }
});

test('a flood of /readyz shares one origin probe, and its answer is reused for a second', async () => {
  const gate = gatedOrigin();
  const r = await rig({ origin: gate.origin });
  try {
    const flood = Array.from({ length: 50 }, () => r.inject({ url: '/readyz' }));
    await r.clock.advanceAsync(0);
    gate.release();
    const answers = await Promise.all(flood);
    assert.ok(answers.every((a) => a.status === 200));
    assert.equal(gate.calls, 1, 'concurrent calls share the probe in flight');
    for (let i = 0; i < 50; i++) assert.equal((await r.inject({ url: '/readyz' })).status, 200);
    r.clock.advance(readinessReuseMs - 1);
    assert.equal((await r.inject({ url: '/readyz' })).status, 200);
    assert.equal(gate.calls, 1, 'answers are reused within the window');
    r.clock.advance(1);
    assert.equal((await r.inject({ url: '/readyz' })).status, 200);
    assert.equal(gate.calls, 2, 'a fresh probe once the window passed');
  } finally {
    gate.release();
    await r.close();
  }
});

test('a failing origin is probed once a second too, and /readyz recovers once the window passes', async () => {
  let calls = 0;
  let isDown = true;
  const origin = new FunctionOrigin<unknown>({
    getMany: async (keys) => {
      calls++;
      if (isDown) throw new Error('connection refused');
      return keys.map(() => undefined);
    },
    putMany: async () => {},
  });
  const r = await rig({ origin });
  try {
    for (let i = 0; i < 20; i++) assert.equal((await r.inject({ url: '/readyz' })).body.error.code, 'ERR_NOT_READY');
    assert.equal(calls, 1);
    isDown = false;
    assert.equal((await r.inject({ url: '/readyz' })).status, 503, 'the failure is reused within the window');
    r.clock.advance(readinessReuseMs);
    assert.equal((await r.inject({ url: '/readyz' })).status, 200);
    assert.equal(calls, 2);
  } finally {
    await r.close();
  }
});

test('origin failures reach clients as a generic message naming the keys; the cause is logged at error level', async () => {
  const lines: Array<Record<string, any>> = [];
  const dir = mkdtempSync(join(tmpdir(), 'prescient-origin-error-test-'));
  const origin = new FunctionOrigin<unknown>({ getMany: async () => Promise.reject(new Error('db exploded: password=hunter2')), putMany: async () => {} });
  const server = await createServer(resolveConfig({ logLevel: 'error', journalDir: dir, writeBack: { groupCommitMs: 0 } }, {}), {
    origin,
    logDestination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  try {
    const one = await server.app.inject({ url: '/v1/items/k1' });
    assert.equal(one.statusCode, 502);
    assert.deepEqual(one.json(), { error: { code: 'ERR_ORIGIN_FAILED', message: 'The origin failed for "k1"' } });
    const many = await server.app.inject({ method: 'POST', url: '/v1/items:batchGet', payload: { keys: ['b1', 'b2'] } });
    assert.equal(many.statusCode, 502);
    assert.match(many.json().error.message, /^The origin failed for "b[12]"/);
    assert.doesNotMatch(`${one.body}${many.body}`, /hunter2|exploded/);
    const logged = lines.filter((l) => l.msg === 'request failed');
    assert.equal(logged.length, 2);
    for (const l of logged) {
      assert.equal(l.level, 50);
      assert.equal(l.code, 'ERR_ORIGIN_FAILED');
      assert.match(l.err.message, /db exploded: password=hunter2/);
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('origin timeouts and origin errors without keys get generic messages too; other codes keep theirs', () => {
  const timeout = toHttpError(new OriginError(['a', 'b', 'c', 'd', 'e'], new Error('statement timeout on db.internal:5432'), 'ERR_ORIGIN_TIMEOUT'));
  assert.equal(timeout.status, 504);
  assert.deepEqual(timeout.body, { error: { code: 'ERR_ORIGIN_TIMEOUT', message: 'The origin did not answer in time for "a", "b", "c" and 2 more' } });
  assert.deepEqual(toHttpError(new PrescientError('ERR_ORIGIN_TIMEOUT', 'Statement exceeded its deadline on db.internal')).body.error.message, 'The origin did not answer in time');
  assert.deepEqual(toHttpError(new PrescientError('ERR_ORIGIN_FAILED', 'Version of key "k" is not ...')).body.error.message, 'The origin failed');
  assert.equal(toHttpError(new PrescientError('ERR_OVERLOADED', 'Too many origin fetches in flight')).body.error.message, 'Too many origin fetches in flight');
});

test('the stores\' failures reach clients as a generic message: no Redis host, file path or driver text', () => {
  for (const [code, text] of [
    ['ERR_TIER_FAILED', 'Redis tier get failed: connect ECONNREFUSED 10.0.0.5:6379'],
    ['ERR_WRITE_FAILED', 'Origin sql failed to write 3 records: password authentication failed for user "app"'],
    ['ERR_JOURNAL_FAILED', 'Journal append failed: ENOSPC /var/lib/prescient/journal/0001.log'],
    ['ERR_JOURNAL_CORRUPT', 'Journal is corrupt: bad frame at /var/lib/prescient/journal/0001.log:4096'],
    ['ERR_CHANGE_FEED_FAILED', 'Change feed on items: listen failed: ECONNRESET db.internal'],
  ] as const) {
    const answer = toHttpError(new PrescientError(code, text));
    assert.equal(answer.body.error.code, code);
    assert.ok(!/10\.0\.0\.5|password|\/var\/lib|db\.internal/.test(answer.body.error.message), answer.body.error.message);
    assert.ok(answer.status >= 500);
  }
});

test('cache.absentTtlMs: repeated reads of a key the origin lacks are 404s the origin is asked for once; a PUT makes it found', async () => {
  const origin = new MapOrigin<unknown>([['present', { n: 1 }]]);
  const r = await rig({ origin, config: { cache: { absentTtlMs: 60_000 } } });
  try {
    for (let i = 0; i < 5; i++) assert.equal((await r.inject({ url: '/v1/items/nope' })).status, 404);
    assert.equal(origin.keysFetched, 1);
    const metrics = (await r.inject({ url: '/metrics' })).text;
    assert.match(metrics, /^prescient_absent_keys 1$/m);
    assert.match(metrics, /^prescient_absent_hits_total 4$/m);
    assert.equal((await r.inject({ method: 'PUT', url: '/v1/items/nope', payload: { value: { n: 2 } } })).status, 200);
    const found = await r.inject({ url: '/v1/items/nope' });
    assert.deepEqual([found.status, found.body.value], [200, { n: 2 }]);
  } finally {
    await r.close();
  }
});
