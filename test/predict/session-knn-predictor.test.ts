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

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    for (const bad of [{ neighbors: 0 }, { sampleSize: -1 }, { maxSessionLength: 256 }, { maxSessions: 1.5 }]) {
      assert.throws(() => new SessionKnnPredictor(bad), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });
});
