import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';

describe('EnsemblePredictor', () => {
  it('shifts weight to the source that is right on the stream (delta) away from one that is wrong (popularity)', () => {
    const e = new EnsemblePredictor({ knn: false, accuracyHalfLife: 50 });
    let at = 0;
    for (let s = 0; s < 60; s++) {
      const base = 10_000 + s * 100;
      for (let i = 0; i < 6; i++) e.observe({ key: String(base + i), at: at++, ctx: { session: `s${s}` } });
    }
    const acc = e.accuracy();
    assert.ok(acc.delta > 0.6, `delta accuracy ${acc.delta}`);
    assert.ok(acc.popularity < 0.1, `popularity accuracy ${acc.popularity}`);
    e.observe({ key: '50000', at: at++, ctx: { session: 'live' } });
    e.observe({ key: '50001', at: at++, ctx: { session: 'live' } });
    const [top] = e.predict({ session: 'live' }, 3);
    assert.equal(top.key, '50002');
    assert.equal(top.source, 'delta');
    assert.ok(top.probability > 0 && top.probability <= 1);
  });

  it('follows the per-user model once the user has history, the global one before', () => {
    const e = new EnsemblePredictor({ knn: false, delta: false, popularity: false, userConfidence: 3 });
    let at = 0;
    for (let s = 0; s < 40; s++) for (const key of ['home', 'news']) e.observe({ key, at: at++, ctx: { session: `g${s}`, user: `u${s}` } });
    e.observe({ key: 'home', at: at++, ctx: { session: 'first', user: 'ann' } });
    assert.equal(e.predict({ session: 'first', user: 'ann' }, 1)[0].key, 'news');
    for (let s = 0; s < 20; s++) for (const key of ['home', 'mail']) e.observe({ key, at: at++, ctx: { session: `ann${s}`, user: 'ann' } });
    e.observe({ key: 'home', at: at++, ctx: { session: 'later', user: 'ann' } });
    assert.equal(e.predict({ session: 'later', user: 'ann' }, 1)[0].key, 'mail');
  });

  it('answers an unknown session from wider models without throwing', () => {
    const e = new EnsemblePredictor();
    for (let i = 0; i < 50; i++) e.observe({ key: `k${i % 5}`, at: i, ctx: { session: `s${i % 7}` } });
    const out = e.predict({ session: 'never-seen' }, 5);
    assert.ok(Array.isArray(out));
    assert.ok(out.length > 0, 'popularity answers for a newcomer');
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    for (const bad of [{ candidates: 0 }, { hitDepth: -1 }, { accuracyHalfLife: 0 }, { sharpness: -1 }, { delta: 'yes' }, { markov: { maxOrder: 9 } }]) {
      assert.throws(() => new EnsemblePredictor(bad as never), (err: { code?: string }) => err.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });
});
