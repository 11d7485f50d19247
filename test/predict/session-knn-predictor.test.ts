import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionKnnPredictor } from '../../src/predict/session-knn-predictor.ts';

describe('SessionKnnPredictor', () => {
  it('recommends what sessions sharing items with the live one contained', () => {
    const k = new SessionKnnPredictor({ neighbors: 10 });
    let at = 0;
    for (let s = 0; s < 10; s++) for (const key of ['shoe', 'sock', 'lace']) k.observe({ key, at: at++, ctx: { session: `a${s}` } });
    for (let s = 0; s < 10; s++) for (const key of ['pan', 'pot', 'lid']) k.observe({ key, at: at++, ctx: { session: `b${s}` } });
    k.observe({ key: 'sock', at: at++, ctx: { session: 'live' } });
    const keys = k.predict({ session: 'live' }, 3).map((p) => p.key);
    assert.deepEqual(new Set(keys), new Set(['shoe', 'sock', 'lace']));
    assert.deepEqual(k.predict({ session: 'unknown' }, 3), []);
  });

  it('stays within maxSessions as sessions keep arriving', () => {
    const k = new SessionKnnPredictor({ maxSessions: 16, maxItemSessions: 8 });
    for (let i = 0; i < 1000; i++) k.observe({ key: `k${i % 30}`, at: i, ctx: { session: `s${Math.floor(i / 3)}` } });
    assert.ok(k.stateCount <= 16 + 30);
    assert.ok(k.predict({ session: 's333' }, 5).length > 0);
  });

  it('keeps nothing of accesses without session or user, and predicts nothing for them', () => {
    const k = new SessionKnnPredictor();
    for (let i = 0; i < 500; i++) k.observe({ key: `block:${i}`, at: i, ctx: {} });
    assert.equal(k.stateCount, 0, 'no past session and no per-key ring for anonymous reads');
    assert.deepEqual(k.predict({}, 5), []);
    k.observe({ key: 'block:1', at: 501, ctx: { session: 's' } });
    k.observe({ key: 'block:2', at: 502, ctx: { session: 's' } });
    k.observe({ key: 'block:1', at: 503, ctx: { session: 't' } });
    assert.deepEqual(k.predict({ session: 't' }, 5).map((p) => p.key).sort(), ['block:1', 'block:2'], 'sessions still find each other');
  });

  it('with positionDecay, weighs the items of a neighbour by their distance from the item it shares with the live session', () => {
    const scores = (options: { positionDecay?: number }) => {
      const k = new SessionKnnPredictor(options);
      for (const [at, key] of ['first', 'shared', 'near', 'mid', 'far'].entries()) k.observe({ key, at, ctx: { session: 'past' } });
      k.observe({ key: 'shared', at: 10, ctx: { session: 'live' } });
      return new Map(k.predict({ session: 'live' }, 10).map((p) => [p.key, p.probability]));
    };
    const flat = scores({});
    assert.deepEqual(new Set(flat.values()).size, 1, 'V-SKNN: every item of the neighbour weighs alike');
    const near = scores({ positionDecay: 1 });
    assert.ok(near.get('shared')! > near.get('near')! && near.get('near')! > near.get('mid')! && near.get('mid')! > near.get('far')!);
    assert.ok(Math.abs(near.get('first')! - near.get('near')!) < 1e-12, 'one position before weighs as one after');
    assert.ok(Math.abs(near.get('near')! / near.get('mid')! - Math.E) < 1e-9, 'exp(-distance / positionDecay)');
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    for (const bad of [{ neighbors: 0 }, { sampleSize: -1 }, { maxSessionLength: 256 }, { maxSessions: 1.5 }, { positionDecay: -1 }, { positionDecay: 0 }, { keys: {} }]) {
      assert.throws(() => new SessionKnnPredictor(bad as never), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });

  it('rejects maxSessions x maxSessionLength past one typed array with ERR_INVALID_OPTION naming maxSessions and its value', () => {
    assert.throws(
      () => new SessionKnnPredictor({ maxSessions: 1e8, maxSessionLength: 255 }),
      (e: { code?: string; option?: string; value?: unknown }) => e.code === 'ERR_INVALID_OPTION' && e.option === 'maxSessions' && e.value === 1e8,
    );
    assert.throws(() => new SessionKnnPredictor({ maxSessions: Math.floor(2 ** 32 / 255) + 1, maxSessionLength: 255 }), { code: 'ERR_INVALID_OPTION' });
  });
});
