import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeltaPredictor } from '../../src/predict/delta-predictor.ts';

describe('DeltaPredictor', () => {
  it('predicts the next keys of a +1 scan, several ahead with falling probability and an ETA', () => {
    const d = new DeltaPredictor({ lookahead: 3 });
    for (let i = 100; i < 110; i++) d.observe({ key: String(i), at: i * 5, ctx: { session: 'scan' } });
    const out = d.predict({ session: 'scan' }, 3);
    assert.deepEqual(out.map((p) => p.key), ['110', '111', '112']);
    assert.ok(out[0].probability > out[1].probability && out[1].probability > out[2].probability);
    assert.equal(out[0].etaMs, 5);
    assert.equal(out[2].etaMs, 15);
  });

  it('learns a stride of 8', () => {
    const d = new DeltaPredictor();
    for (let i = 0; i < 12; i++) d.observe({ key: String(1000 + 8 * i), at: i, ctx: { session: 's' } });
    assert.equal(d.predict({ session: 's' }, 1)[0].key, String(1000 + 8 * 12));
  });

  it('predicts from the global delta table for a new session, and from the global stream without a session', () => {
    const d = new DeltaPredictor();
    for (let s = 0; s < 5; s++) for (let i = 0; i < 5; i++) d.observe({ key: String(i * 4), at: i, ctx: { session: `s${s}` } });
    d.observe({ key: '40', at: 0, ctx: { session: 'fresh' } });
    assert.equal(d.predict({ session: 'fresh' }, 1)[0].key, '44');
    const g = new DeltaPredictor();
    for (let i = 0; i < 6; i++) g.observe({ key: String(-10 + 2 * i), at: i, ctx: {} });
    assert.equal(g.predict({}, 1)[0].key, '2');
  });

  it('ignores non-numeric and out-of-range keys without throwing', () => {
    const d = new DeltaPredictor();
    for (const key of ['users/1', 'abc', '1.5', '99999999999999999999', '', '-']) d.observe({ key, at: 0, ctx: { session: 's' } });
    assert.deepEqual(d.predict({ session: 's' }, 5), []);
    d.observe({ key: '7', at: 1, ctx: { session: 's' } });
    d.observe({ key: 'page-x', at: 2, ctx: { session: 's' } });
    d.observe({ key: '8', at: 3, ctx: { session: 's' } });
    assert.equal(d.predict({ session: 's' }, 1)[0].key, '9');
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    for (const bad of [{ historyLength: 0 }, { historyLength: 65 }, { lookahead: -1 }, { halfLifeAccesses: 0 }, { maxDeltas: 1.5 }, { globalWeight: -1 }]) {
      assert.throws(() => new DeltaPredictor(bad), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });

  it('offers each key once: a delta naming a key of the run is folded into that step, the larger probability kept', () => {
    const d = new DeltaPredictor();
    let at = 0;
    for (const k of [10, 12, 13, 14, 15]) d.observe({ key: String(k), at: (at += 10), ctx: { session: 's' } });
    const out = d.predict({ session: 's' }, 20);
    const keys = out.map((p) => p.key);
    assert.deepEqual([...new Set(keys)], keys, `keys ${keys}`);
    // Run of +1 (3 repeats) and one +2 among the last deltas: 17 is both step 2 of the run and last + 2.
    const run = out.find((p) => p.key === '16')!.probability;
    const seventeen = out.find((p) => p.key === '17')!;
    // The run's step 2 (0.41) is likelier than the +2 delta's route (0.21): 17 keeps it, and the run's ETA (2 × 10 ms).
    assert.ok(Math.abs(seventeen.probability - run ** 2) < 1e-12, `17 at ${seventeen.probability}, the run's step 2 ${run ** 2}`);
    assert.equal(seventeen.etaMs, 20);
    for (let i = 1; i < out.length; i++) assert.ok(out[i - 1].probability >= out[i].probability, 'sorted');
  });
});

describe('DeltaPredictor near offsets', () => {
  it('learns that the next blocks of interleaved scans are read soon, though consecutive deltas are random', () => {
    const d = new DeltaPredictor();
    // Three scans interleaved round-robin: consecutive deltas jump between far-apart regions.
    const cursors = [1000, 50_000, 900_000];
    for (let step = 0; step < 300; step++) {
      const scan = step % 3;
      d.observe({ key: String(cursors[scan]++), at: step, ctx: {} });
    }
    const out = d.predict({}, 4);
    const last = cursors[2] - 1;
    assert.equal(out[0].key, String(last + 1), 'the next block of the scan just read');
    assert.ok(out[0].probability > 0.5, `probability ${out[0].probability}`);
  });
});

describe('DeltaPredictor near classes', () => {
  it('tells a stride-2 scan from lone reads when nearClasses is on', () => {
    // A stride-2 scan interleaved with random far reads: after k, k + 2 follows soon; k + 1 never does.
    const feed = (d: DeltaPredictor) => {
      let cursor = 10_000;
      let x = 7;
      for (let step = 0; step < 600; step++) {
        if (step % 2 === 0) {
          d.observe({ key: String(cursor), at: step, ctx: {} });
          cursor += 2;
        } else {
          x = (x * 7919 + 13) % 100_003;
          d.observe({ key: String(500_000 + x * 10), at: step, ctx: {} });
        }
      }
      return cursor - 2;
    };
    const on = new DeltaPredictor({ nearClasses: true });
    feed(on);
    // The last key read is a lone far read; ask after one more scan step instead.
    on.observe({ key: String(10_000 + 600), at: 600, ctx: {} });
    const out = on.predict({}, 6);
    const p2 = out.find((p) => p.key === String(10_602))?.probability ?? 0;
    const p1 = out.find((p) => p.key === String(10_601))?.probability ?? 0;
    assert.ok(p2 > 0.6, `k + 2 probability ${p2}`);
    assert.ok(p2 > p1 + 0.3, `k + 2 ${p2} against k + 1 ${p1}`);
  });

  it("by default ('anonymous') classes the anonymous stream's keys and not sessions'", () => {
    // The stride-2 scan with lone reads, once as the anonymous stream and once as a session.
    const feed = (d: DeltaPredictor, ctx: { session?: string }) => {
      let x = 7;
      for (let step = 0; step < 600; step++) {
        x = (x * 7919 + 13) % 100_003;
        d.observe({ key: String(step % 2 === 0 ? 10_000 + step : 500_000 + x * 10), at: step, ctx });
      }
      d.observe({ key: String(10_600), at: 600, ctx });
      return d.predict(ctx, 6);
    };
    const session = { session: 's' };
    assert.deepEqual(feed(new DeltaPredictor(), {}), feed(new DeltaPredictor({ nearClasses: true }), {}));
    assert.deepEqual(feed(new DeltaPredictor(), session), feed(new DeltaPredictor({ nearClasses: false }), session));
    assert.notDeepEqual(feed(new DeltaPredictor({ nearClasses: true }), session), feed(new DeltaPredictor({ nearClasses: false }), session));
  });

  it('rejects a nearClasses that is neither a boolean nor anonymous', () => {
    assert.throws(() => new DeltaPredictor({ nearClasses: 1 as never }), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION');
    assert.throws(() => new DeltaPredictor({ nearClasses: 'sessions' as never }), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION');
  });
});

describe('DeltaPredictor limits', () => {
  it('a fractional limit gives at most its whole part', () => {
    const p = new DeltaPredictor();
    const ctx = { session: 's' };
    for (const [i, k] of ['10', '12', '13', '17', '18', '20', '21'].entries()) p.observe({ key: k, at: i * 10, ctx });
    assert.ok(p.predict(ctx, 10).length >= 3, 'enough deltas learnt to tell');
    for (const limit of [1.5, 2.5]) assert.equal(p.predict(ctx, limit).length, Math.floor(limit), String(limit));
  });
});

describe('DeltaPredictor global counts rescaled', () => {
  it('re-ranks its cached top deltas when the counts are rescaled (they read 1e12 times too large until the next re-rank)', () => {
    // halfLifeAccesses 1 doubles the weight of each counted delta, so counts are rescaled about every 40 deltas.
    const p = new DeltaPredictor({ halfLifeAccesses: 1, historyLength: 1 });
    let highest = 0;
    for (let t = 0; t < 200; t++) {
      p.observe({ key: String(1000 + t), at: t, ctx: { session: 'scan' } }); // +1 dominates the global table
      p.observe({ key: String(((t * 7919) % 1000) * 1000), at: t, ctx: { session: 'random' } });
      const predictions = p.predict({ session: 'random' }, 3);
      if (t >= 10) for (const q of predictions) highest = Math.max(highest, q.probability);
    }
    assert.ok(highest > 0.3, `the global +1 delta is offered (highest ${highest})`);
    assert.ok(highest < 0.9, `a session of random keys is never near certain of a global delta (highest ${highest})`);
  });
});
