/**
 * Session-kNN numbers sessions in start order and records them in Int32 arrays by a tag that wraps. These tests start
 * the numbering next to the wrap (the `sessionNumbering` seam) instead of starting 2^31 sessions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionKnnPredictor, sessionNumbering } from '../../src/predict/session-knn-predictor.ts';

describe('SessionKnnPredictor session numbers across the wrap', () => {
  it('remembers exactly the maxSessions most recent sessions while the numbers pass 2^31', () => {
    const maxSessions = 10;
    const k = new SessionKnnPredictor({ maxSessions, neighbors: 50, [sessionNumbering]: { first: 2 ** 31 - 20 } });
    let at = 0;
    const sessions = 23;
    for (let i = 0; i < sessions; i++) {
      k.observe({ key: 'hub', at: ++at, ctx: { session: `s${i}` } });
      k.observe({ key: `k${i}`, at: ++at, ctx: { session: `s${i}` } });
    }
    k.observe({ key: 'hub', at: ++at, ctx: { session: 'probe' } });
    const named = k.predict({ session: 'probe' }, 100).map((p) => p.key).filter((key) => key !== 'hub').sort();
    // The probe holds one of the 10 slots; the 9 sessions before it are the ones remembered.
    const expected = Array.from({ length: maxSessions - 1 }, (_, j) => `k${sessions - maxSessions + 1 + j}`).sort();
    assert.deepEqual(named, expected);
    assert.equal(k.stateCount, maxSessions + 1 + sessions, 'past sessions held (all 10) plus one ring per key');
  });

  it('does not count a session gone long ago for the new session that gets its tag back', () => {
    // Tags wrap every 8 sessions here: session 8 gets the tag of session 0, who read 'rare'.
    const k = new SessionKnnPredictor({ maxSessions: 4, [sessionNumbering]: { tagSpace: 8 } });
    let at = 0;
    k.observe({ key: 'rare', at: ++at, ctx: { session: 'old' } });
    for (let i = 1; i < 8; i++) k.observe({ key: `k${i}`, at: ++at, ctx: { session: `s${i}` } });
    k.observe({ key: 'unrelated', at: ++at, ctx: { session: 'new' } });
    k.observe({ key: 'rare', at: ++at, ctx: { session: 'probe' } });
    assert.deepEqual(k.predict({ session: 'probe' }, 10).map((p) => p.key), [], 'no past session left read rare');
  });

  it('predicts as before across a sweep of the rings', () => {
    const run = (tagSpace: number | undefined) => {
      const k = new SessionKnnPredictor({ maxSessions: 8, [sessionNumbering]: { tagSpace } });
      const out: string[] = [];
      let at = 0;
      for (let i = 0; i < 400; i++) {
        const ctx = { session: `s${Math.floor(i / 3)}` };
        k.observe({ key: `k${(i * 31) % 17}`, at: ++at, ctx });
        out.push(k.predict(ctx, 5).map((p) => `${p.key}:${p.probability}`).join(' '));
      }
      return out;
    };
    // 134 sessions: tags of 16 wrap eight times, with a sweep every 8 sessions.
    assert.deepEqual(run(16), run(undefined));
  });

  it('rejects a tag range that is not a multiple of maxSessions of at least twice it', () => {
    for (const tagSpace of [12, 4, 0]) {
      assert.throws(() => new SessionKnnPredictor({ maxSessions: 8, [sessionNumbering]: { tagSpace } }), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION');
    }
  });
});
