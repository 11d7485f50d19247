import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';

describe('EnsemblePredictor', () => {
  it('shifts weight to the source that is right on the stream (delta) away from one that is wrong (popularity)', () => {
    const e = new EnsemblePredictor({ knn: false, accuracyHalfLife: 50 });
    let at = 0;
    for (let s = 0; s < 60; s++) {
      const base = 10_000 + s * 100;
      for (let i = 0; i < 6; i++) {
        e.observe({ key: String(base + i), at: at++, ctx: { session: `s${s}` } });
        e.predict({ session: `s${s}` }, 5);
      }
    }
    const acc = e.accuracy();
    assert.ok(acc.delta > 0.6, `delta accuracy ${acc.delta}`);
    assert.ok(acc.popularity < 0.1, `popularity accuracy ${acc.popularity}`);
    const w = e.weights();
    assert.ok(w.delta > 0.8, `delta weight ${w.delta}`);
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

  it('gives the weight to delta on an anonymous sequential block scan', () => {
    const e = new EnsemblePredictor();
    let at = 0;
    for (let run = 0; run < 50; run++) {
      for (let k = 0; k < 40; k++) {
        e.observe({ key: String(1000 * run + k), at: at++, ctx: {} });
        e.predict({}, 5);
      }
    }
    const w = e.weights();
    for (const [name, weight] of Object.entries(w)) if (name !== 'delta') assert.ok(w.delta > 4 * weight, `delta ${w.delta} vs ${name} ${weight}`);
    const [top] = e.predict({}, 1);
    assert.equal(top.key, '49040');
    assert.equal(top.source, 'delta');
  });

  it('names each session the blocks after its own when two scans offer keys 256 apart (one memo entry)', () => {
    const e = new EnsemblePredictor({ knn: false });
    let at = 0;
    for (let i = 0; i < 300; i++) {
      for (const [session, start] of [['a', 1_000_000], ['b', 1_000_256]] as const) {
        const last = start + 3 * i;
        e.observe({ key: String(last), at: at++, ctx: { session } });
        const predicted = e.predict({ session }, 4).filter((p) => p.source === 'delta');
        if (i < 250) continue;
        assert.ok(predicted.length > 0, `step ${i} of ${session}`);
        for (const p of predicted) assert.ok([1, 2, 3, 4].some((k) => p.key === String(last + 3 * k)), `${p.key} after ${last}`);
      }
    }
  });

  it('trusts the global Markov source over kNN and popularity on an anonymous stream it predicts', () => {
    const e = new EnsemblePredictor();
    let seed = 42;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const chains = [['a', 'b', 'c', 'd'], ['p', 'q', 'r'], ['x', 'y', 'z', 'w', 'v']];
    for (let i = 0; i < 1500; i++) {
      for (const key of chains[Math.floor(rand() * chains.length)]) {
        e.observe({ key: `obj/${key}`, at: i, ctx: {} });
        e.predict({}, 5);
      }
    }
    const w = e.weights();
    assert.ok(w['markov:global'] > 0.8, `markov:global weight ${w['markov:global']}`);
    e.observe({ key: 'obj/x', at: 2000, ctx: {} });
    const [top] = e.predict({}, 1);
    assert.equal(top.key, 'obj/y');
    assert.ok(top.probability > 0.8, `probability ${top.probability}`);
  });

  it('leaves popularity out of anonymous reads unless anonymousPopularity, and keeps it for sessions', () => {
    const feed = (e: EnsemblePredictor) => {
      // A hot key read between one-off keys: only popularity can name it after a key never seen before.
      for (let i = 0; i < 400; i++) {
        e.observe({ key: 'hot', at: 2 * i, ctx: {} });
        e.observe({ key: `cold${i}`, at: 2 * i + 1, ctx: {} });
        e.predict({}, 5);
      }
      e.observe({ key: 'fresh', at: 1000, ctx: {} });
    };
    const quiet = new EnsemblePredictor({ knn: false });
    feed(quiet);
    for (let i = 0; i < 16; i++) assert.ok(quiet.predict({}, 20).every((p) => p.source !== 'popularity'), `prediction ${i}`);
    assert.equal(quiet.weights().popularity, 0, 'never scored in the anonymous kind');
    assert.equal(quiet.predict({ session: 'newcomer' }, 5)[0]?.key, 'hot', 'a session still gets popularity');
    const asking = new EnsemblePredictor({ knn: false, anonymousPopularity: true });
    feed(asking);
    assert.equal(asking.predict({}, 5)[0]?.key, 'hot');
    assert.equal(asking.predict({}, 5)[0]?.source, 'popularity');
  });

  it('any limit answers at most what the models have: fractional, huge or infinite limits neither throw nor allocate', () => {
    const e = new EnsemblePredictor({ rules: {} });
    for (let i = 0; i < 30; i++) e.observe({ key: `k${i % 7}`, at: i, ctx: { session: `s${i % 3}` } });
    for (const limit of [2.5, 1e9, Infinity]) {
      const out = e.predict({ session: 's1' }, limit);
      assert.ok(out.length <= 20 && out.length > 0, `limit ${limit}: ${out.length}`);
      assert.equal(new Set(out.map((p) => p.key)).size, out.length);
    }
    assert.equal(e.predict({ session: 's1' }, 2.5).length, 2);
  });

  it('answers an unknown session from wider models without throwing', () => {
    const e = new EnsemblePredictor();
    for (let i = 0; i < 50; i++) e.observe({ key: `k${i % 5}`, at: i, ctx: { session: `s${i % 7}` } });
    const out = e.predict({ session: 'never-seen' }, 5);
    assert.ok(Array.isArray(out));
    assert.ok(out.length > 0, 'popularity answers for a newcomer');
  });

  it('knows at most maxKeys keys however many distinct keys clients read, and still predicts the live pattern', () => {
    const e = new EnsemblePredictor({ maxKeys: 200, rules: {} });
    let at = 0;
    for (let i = 0; i < 20_000; i++) {
      e.observe({ key: `junk:${i}`, at: at++, ctx: { session: `x${i % 50}` } });
      if (i % 10 === 0) for (const key of ['home', 'cart', 'pay']) e.observe({ key, at: at++, ctx: { session: `buyer${i}` } });
    }
    assert.equal(e.keyCount, 200);
    e.observe({ key: 'home', at: at++, ctx: { session: 'live' } });
    e.observe({ key: 'cart', at: at++, ctx: { session: 'live' } });
    for (const p of e.predict({ session: 'live' }, 20)) assert.equal(typeof p.key, 'string');
    assert.equal(e.predict({ session: 'live' }, 1)[0]?.key, 'pay');
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    assert.doesNotThrow(() => new EnsemblePredictor({ candidates: 5 }), 'hitDepth defaults to at most candidates');
    for (const bad of [{ maxKeys: 0 }, { markov: 'x' }, { rules: { window: 0 } }, { candidates: 5, hitDepth: 10 }, { candidates: 0 }, { hitDepth: -1 }, { accuracyHalfLife: 0 }, { sharpness: -1 }, { muteShare: 1 }, { anonymousPopularity: 'no' }, { delta: 'yes' }, { markov: { maxOrder: 9 } }]) {
      assert.throws(() => new EnsemblePredictor(bad as never), (err: { code?: string }) => err.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });

  it('offers a delta key never read once, not once per route that names it', () => {
    const e = new EnsemblePredictor();
    let at = 0;
    for (let r = 0; r < 3; r++) for (const k of [10, 12, 13, 14, 15]) e.observe({ key: String(1000 * r + k), at: (at += 10), ctx: {} });
    const keys = e.predict({}, 20).map((p) => p.key);
    assert.ok(keys.includes('2017'), `keys ${keys}`);
    assert.deepEqual([...new Set(keys)], keys, `keys ${keys}`);
  });
});

describe('EnsemblePredictor anonymousHorizon', () => {
  it('calibrates an interleaved scan\'s next block as likely within the horizon, where the next-access rule calls it a guess', () => {
    const run = (anonymousHorizon: number) => {
      const e = new EnsemblePredictor({ anonymousHorizon });
      // Four scans read in a seeded random order (a round robin would let the deltas between scans name the next
      // access exactly); the last one read was scan `last`.
      const cursors = [1000, 50_000, 900_000, 2_000_000];
      let x = 12345;
      let last = 0;
      for (let step = 0; step < 4000; step++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        last = (x >>> 16) % 4;
        if (step > 0) e.predict({}, 20);
        e.observe({ key: String(cursors[last]++), at: step * 10, ctx: {} });
      }
      const next = String(cursors[last]);
      return e.predict({}, 20).find((p) => p.key === next)?.probability ?? 0;
    };
    const next = run(1);
    const horizon = run(8);
    assert.ok(horizon > 0.6, `horizon 8: ${horizon}`);
    assert.ok(horizon > next + 0.2, `horizon 8 ${horizon} against next-access ${next}`);
  });

  it('credits only the first candidate read: in one clean scan k + 2 stays unlikely, as it is prefetched in time a step later', () => {
    const e = new EnsemblePredictor({ anonymousHorizon: 8 });
    for (let step = 0; step < 3000; step++) {
      if (step > 0) e.predict({}, 20);
      e.observe({ key: String(10_000 + step), at: step * 10, ctx: {} });
    }
    const out = e.predict({}, 20);
    const p1 = out.find((p) => p.key === String(13_000))?.probability ?? 0;
    const p2 = out.find((p) => p.key === String(13_001))?.probability ?? 0;
    assert.ok(p1 > 0.8, `k + 1: ${p1}`);
    assert.ok(p2 < 0.3, `k + 2: ${p2}`);
  });

  it('rejects an anonymousHorizon outside 1..64', () => {
    for (const bad of [0, 65, 1.5]) {
      assert.throws(() => new EnsemblePredictor({ anonymousHorizon: bad }), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', String(bad));
    }
  });
});
