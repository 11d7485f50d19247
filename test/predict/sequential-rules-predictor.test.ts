import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequentialRulesPredictor } from '../../src/predict/sequential-rules-predictor.ts';

describe('SequentialRulesPredictor', () => {
  it('counts what follows a key within the window, weighted 1 / distance, and predicts from the last key', () => {
    const sr = new SequentialRulesPredictor({ window: 3 });
    let at = 0;
    for (const key of ['a', 'b', 'c', 'd']) sr.observe({ key, at: at++, ctx: { session: 's1' } });
    sr.observe({ key: 'a', at: at++, ctx: { session: 'live' } });
    // a -> b (distance 1), c (2), d (3): weights 1, 1/2, 1/3 of a total 11/6.
    const got = sr.predict({ session: 'live' }, 5);
    assert.deepEqual(got.map((p) => p.key), ['b', 'c', 'd']);
    const total = 1 + 1 / 2 + 1 / 3;
    assert.ok(Math.abs(got[0].probability - 1 / total) < 1e-6);
    assert.ok(Math.abs(got[1].probability - 1 / 2 / total) < 1e-6);
    assert.ok(Math.abs(got[2].probability - 1 / 3 / total) < 1e-6);
    assert.equal(got[0].source, 'sequential-rules');
  });

  it('leaves out pairs further apart than the window', () => {
    const sr = new SequentialRulesPredictor({ window: 2 });
    for (const [at, key] of ['a', 'b', 'c', 'd'].entries()) sr.observe({ key, at, ctx: { session: 's' } });
    sr.observe({ key: 'a', at: 10, ctx: { session: 'live' } });
    assert.deepEqual(sr.predict({ session: 'live' }, 5).map((p) => p.key), ['b', 'c'], 'd is 3 steps after a');
  });

  it('learns a detour a first-order table misses: the key a session returns to after a side step', () => {
    const sr = new SequentialRulesPredictor();
    let at = 0;
    // Visitors look at the phone, then one of many accessories, then the case: 'case' never follows 'phone' directly.
    for (let s = 0; s < 20; s++) for (const key of ['phone', `acc${s}`, 'case']) sr.observe({ key, at: at++, ctx: { session: `v${s}` } });
    sr.observe({ key: 'phone', at: at++, ctx: { session: 'live' } });
    assert.equal(sr.predict({ session: 'live' }, 1)[0].key, 'case');
  });

  it('keeps sessions apart and ignores reads with no session and no user', () => {
    const sr = new SequentialRulesPredictor();
    sr.observe({ key: 'x', at: 0, ctx: { session: 'a' } });
    sr.observe({ key: 'y', at: 1, ctx: { session: 'b' } });
    assert.equal(sr.stateCount, 0, 'no pair spans two sessions');
    for (let i = 0; i < 100; i++) sr.observe({ key: `block:${i}`, at: 2 + i, ctx: {} });
    assert.equal(sr.stateCount, 0);
    assert.deepEqual(sr.predict({}, 5), []);
    assert.deepEqual(sr.predict({ session: 'unknown' }, 5), []);
    sr.observe({ key: 'z', at: 200, ctx: { user: 'u' } });
    sr.observe({ key: 'w', at: 201, ctx: { user: 'u' } });
    sr.observe({ key: 'z', at: 202, ctx: { user: 'v' } });
    assert.deepEqual(sr.predict({ user: 'v' }, 5).map((p) => p.key), ['w'], 'a user without a session is its own stream');
  });

  it('stays within maxStates and maxSuccessors', () => {
    const sr = new SequentialRulesPredictor({ maxStates: 50, maxSuccessors: 3 });
    for (let i = 0; i < 5000; i++) sr.observe({ key: `k${(i * 7919) % 997}`, at: i, ctx: { session: `s${i >> 4}` } });
    assert.ok(sr.stateCount <= 50);
    for (let s = 0; s < 10; s++) for (const key of ['hub', `x${s}`]) sr.observe({ key, at: 6000 + s, ctx: { session: `h${s}` } });
    sr.observe({ key: 'hub', at: 7000, ctx: { session: 'last' } });
    assert.equal(sr.predict({ session: 'last' }, 10).length, 3, 'ten successors seen, three kept');
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    for (const bad of [{ window: 0 }, { window: 17 }, { maxSuccessors: 256 }, { maxStates: 0 }, { sessionIdleMs: -1 }, { window: 2.5 }]) {
      assert.throws(() => new SequentialRulesPredictor(bad), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });
});
