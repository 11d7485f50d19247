import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScriptedPredictor } from '../doubles/scripted-predictor.ts';
import { rig, type Rig } from './server-rig.ts';

const tokens = {
  alice: 'alice-token-0123456789',
  bob: 'bob-token-0123456789ab',
  reader: 'reader-token-012345678',
  writer: 'writer-token-012345678',
  admin: 'admin-token-0123456789',
};

describe('bearer tokens, scopes and per-user isolation', () => {
  let r: Rig;
  before(async () => {
    r = await rig({
      predictor: new ScriptedPredictor({ a: [['b', 0.9]], c: [['receipt', 0.9]] }),
      config: {
        tokens: [
          { token: tokens.alice, scopes: ['read', 'write'], user: 'alice', name: 'alice' },
          { token: tokens.bob, scopes: ['read'], user: 'bob', name: 'bob' },
          { token: tokens.reader, scopes: ['read'], name: 'reader' },
          { token: tokens.writer, scopes: ['write'], name: 'writer' },
          { token: tokens.admin, scopes: ['admin'], name: 'admin' },
        ],
      },
    });
  });
  after(() => r.close());

  test('no token or an unknown one answers 401 ERR_UNAUTHORIZED; health and readiness stay public', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer not-a-token-at-all' }, { authorization: 'Basic abc' }, { authorization: `Bearer ${tokens.alice}x` }]) {
      const res = await r.inject({ url: '/v1/items/a', headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.body.error.code, 'ERR_UNAUTHORIZED');
    }
    assert.equal((await r.inject({ url: '/healthz' })).status, 200);
    assert.equal((await r.inject({ url: '/readyz' })).status, 200);
  });

  test('scopes: read cannot write, write cannot read, only admin scrapes metrics', async () => {
    assert.equal((await r.inject({ url: '/v1/items/a', token: tokens.reader })).status, 200);
    const put = await r.inject({ method: 'PUT', url: '/v1/items/k', payload: { value: 1 }, token: tokens.reader });
    assert.equal(put.status, 403);
    assert.equal(put.body.error.code, 'ERR_FORBIDDEN');
    assert.equal((await r.inject({ url: '/v1/items/a', token: tokens.writer })).status, 403);
    assert.equal((await r.inject({ method: 'PUT', url: '/v1/items/k', payload: { value: 1 }, token: tokens.writer })).status, 200);
    assert.equal((await r.inject({ url: '/metrics', token: tokens.reader })).status, 403);
    assert.equal((await r.inject({ url: '/metrics', token: tokens.admin })).status, 200);
    assert.equal((await r.inject({ url: '/v1/items/a', token: tokens.admin })).status, 200, 'admin holds every scope');
  });

  test('the dashboard needs the read scope; its ?token= stands in for the header', async () => {
    assert.equal((await r.inject({ url: '/' })).status, 401);
    assert.equal((await r.inject({ url: `/?token=${tokens.reader}` })).status, 200);
    assert.equal((await r.inject({ url: '/v1/dashboard/snapshot', token: tokens.reader })).status, 200);
    assert.equal((await r.inject({ url: `/v1/dashboard/snapshot?token=${tokens.writer}` })).status, 403);
  });

  test('a bound token acts for its user only', async () => {
    const own = await r.inject({ url: '/v1/items/a?session=alice-s1', token: tokens.alice });
    assert.equal(own.status, 200);
    const other = await r.inject({ url: '/v1/items/a?user=bob', token: tokens.alice });
    assert.equal(other.status, 403);
    assert.equal(other.body.error.code, 'ERR_FORBIDDEN');
    const otherBatch = await r.inject({ method: 'POST', url: '/v1/items:batchGet', payload: { keys: ['a'], user: 'bob' }, token: tokens.alice });
    assert.equal(otherBatch.status, 403);
  });

  test("sessions belong to their first user: another user's token cannot use or read them", async () => {
    await r.inject({ url: '/v1/items/c?session=alice-s2', token: tokens.alice });
    const predictions = await r.inject({ url: '/v1/sessions/alice-s2/predictions', token: tokens.alice });
    assert.equal(predictions.status, 200);
    assert.equal(predictions.body.user, 'alice');
    assert.deepEqual(predictions.body.items.map((p: { key: string }) => p.key), ['receipt']);
    for (const request of [
      { url: '/v1/sessions/alice-s2/predictions' },
      { url: '/v1/items/a?session=alice-s2' },
      { method: 'POST' as const, url: '/v1/sessions/alice-s2/actions', payload: { action: 'peek' } },
      { method: 'POST' as const, url: '/v1/sessions/alice-s2/prefetch', payload: { keys: ['a'] } },
      { url: '/v1/dashboard/snapshot?session=alice-s2' },
      { url: `/v1/dashboard/snapshot?session=alice-s2&token=${tokens.bob}` },
      { url: `/v1/dashboard/events?session=alice-s2&token=${tokens.bob}` },
    ]) {
      const res = await r.inject({ ...request, token: tokens.bob });
      assert.equal(res.status, 403, request.url);
      assert.equal(res.body.error.code, 'ERR_FORBIDDEN');
    }
    const own = await r.inject({ url: '/v1/dashboard/snapshot?session=alice-s2', token: tokens.alice });
    assert.deepEqual(own.body.predictions.map((p: { key: string }) => p.key), ['receipt']);
    assert.equal(own.body.session, 'alice-s2', 'the session id the client sent, not the model\'s internal one');
    // An unbound token may read any session; its reads are attributed to the session's owner.
    assert.equal((await r.inject({ url: '/v1/sessions/alice-s2/predictions', token: tokens.reader })).body.user, 'alice');
    assert.equal((await r.inject({ url: '/v1/items/a?session=alice-s2&user=bob', token: tokens.reader })).status, 403);
  });

  test("shadow catalogs: a bound token reads its own, never another user's", async () => {
    await r.inject({ url: '/v1/items/a?session=alice-s3', token: tokens.alice });
    await r.clock.advanceAsync(10);
    await r.clock.advanceAsync(10);
    const mine = await r.inject({ url: '/v1/users/alice/shadow', token: tokens.alice });
    assert.equal(mine.status, 200);
    assert.ok(mine.body.items.some((i: { key: string }) => i.key === 'b'), JSON.stringify(mine.body));
    const theirs = await r.inject({ url: '/v1/users/alice/shadow', token: tokens.bob });
    assert.equal(theirs.status, 403);
    assert.equal(theirs.body.error.code, 'ERR_FORBIDDEN');
    assert.deepEqual((await r.inject({ url: '/v1/users/bob/shadow', token: tokens.bob })).body, { user: 'bob', items: [] });
    assert.equal((await r.inject({ url: '/v1/users/alice/shadow', token: tokens.admin })).status, 200);
  });
});

describe('rate limit', () => {
  test('a token past its bucket gets 429 ERR_RATE_LIMITED with Retry-After; other tokens are unaffected; it refills', async () => {
    const r = await rig({
      config: {
        tokens: [
          { token: tokens.alice, scopes: ['read'], name: 'alice' },
          { token: tokens.bob, scopes: ['read'], name: 'bob' },
        ],
        limits: { rateLimit: { perSecond: 10, burst: 5 } },
      },
    });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await r.inject({ url: '/v1/items/a', token: tokens.alice })).status, 200);
      const limited = await r.inject({ url: '/v1/items/a', token: tokens.alice });
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'ERR_RATE_LIMITED');
      assert.equal(limited.headers['retry-after'], '1');
      assert.equal((await r.inject({ url: '/v1/items/a', token: tokens.bob })).status, 200);
      r.clock.advance(100);
      assert.equal((await r.inject({ url: '/v1/items/a', token: tokens.alice })).status, 200);
      assert.equal((await r.inject({ url: '/v1/items/a', token: tokens.alice })).status, 429);
    } finally {
      await r.close();
    }
  });
});

describe('refused credentials', () => {
  test('are rate limited per client address: 401 until its bucket is spent, then 429 with Retry-After; good tokens pass', async () => {
    const r = await rig({
      config: { tokens: [{ token: tokens.alice, scopes: ['read'], name: 'alice' }], limits: { rateLimit: { perSecond: 10, burst: 5 } } },
    });
    try {
      const wrong = 'x'.repeat(40);
      for (let i = 0; i < 5; i++) assert.equal((await r.inject({ url: '/v1/items/a', token: wrong })).status, 401);
      const limited = await r.inject({ url: '/v1/items/a', token: wrong });
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'ERR_RATE_LIMITED');
      assert.equal(limited.headers['retry-after'], '1');
      assert.equal((await r.inject({ url: '/v1/items/a' })).status, 429, 'no credential at all counts as refused too');
      assert.equal((await r.inject({ url: '/v1/items/a', token: tokens.alice })).status, 200, 'a valid token has its own bucket');
      r.clock.advance(200);
      assert.equal((await r.inject({ url: '/v1/items/a', token: wrong })).status, 401);
    } finally {
      await r.close();
    }
  });
});

describe('a forgotten session claimed again', () => {
  test("starts with no history: a bound token that pushes another user's session out learns nothing from it", async () => {
    const r = await rig({
      config: {
        limits: { maxSessions: 4 },
        tokens: [
          { token: tokens.alice, scopes: ['read'], user: 'alice', name: 'alice' },
          { token: tokens.bob, scopes: ['read'], user: 'bob', name: 'bob' },
        ],
      },
    });
    try {
      // Alice's sessions teach that receipt follows c; her session `victim` ends on c.
      for (let i = 0; i < 10; i++) {
        for (const key of ['a', 'c', 'receipt']) assert.equal((await r.inject({ url: `/v1/items/${key}?session=alice-${i}`, token: tokens.alice })).status, 200);
      }
      await r.inject({ url: '/v1/items/c?session=victim', token: tokens.alice });
      const before = await r.inject({ url: '/v1/sessions/victim/predictions?limit=3', token: tokens.alice });
      assert.equal(before.body.items[0]?.key, 'receipt', 'the models know where victim is');
      // Bob's sessions push victim out of the owners' map (bounded at 4), then bob claims it.
      for (let i = 0; i < 8; i++) await r.inject({ url: `/v1/items/a?session=bob-${i}`, token: tokens.bob });
      const reclaimed = await r.inject({ url: '/v1/sessions/victim/predictions?limit=3', token: tokens.bob });
      assert.equal(reclaimed.status, 200);
      assert.equal(reclaimed.body.user, 'bob');
      const fresh = await r.inject({ url: '/v1/sessions/never-seen/predictions?limit=3', token: tokens.bob });
      assert.deepEqual(reclaimed.body.items, fresh.body.items, 'what any new session of bob would get, nothing of alice\'s session');
    } finally {
      await r.close();
    }
  });
});
