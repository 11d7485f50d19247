/**
 * Regression tests for the reviewed predictor bugs: calibration against another session's recycled kept list,
 * 32-bit user/segment hashing in Markov, one key space for session and user ids, stale cached mixed lists after
 * interner id reuse, the ensemble's sessionIdleMs not reaching its inner models, and nested options accepted silently.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadContext } from '../../src/context.ts';
import { InvalidOptionError } from '../../src/errors.ts';
import { hashString } from '../../src/predict/context-hash.ts';
import { DeltaPredictor } from '../../src/predict/delta-predictor.ts';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';
import { MarkovPredictor } from '../../src/predict/markov-predictor.ts';
import { PopularityPredictor } from '../../src/predict/popularity-predictor.ts';
import type { Predictor } from '../../src/predict/predictor.ts';
import { SequentialRulesPredictor } from '../../src/predict/sequential-rules-predictor.ts';
import { SessionKnnPredictor } from '../../src/predict/session-knn-predictor.ts';

describe('EnsemblePredictor calibration with more live sessions than kept-list buffers', () => {
  it('keeps the top prediction calibrated when 1,100 sessions interleave (the ring holds 1,024)', () => {
    const p = new EnsemblePredictor();
    const sessions = 1100;
    const pos = new Array<number>(sessions).fill(0);
    const next = (s: number, i: number) => `page${((s * 37) % 200 + i) % 200}`;
    let at = 0;
    let right = 0;
    let n = 0;
    let probability = 0;
    for (let step = 0; step < 50; step++) {
      for (let s = 0; s < sessions; s++) {
        const ctx = { session: `s${s}` };
        p.observe({ key: next(s, pos[s]++), at: ++at, ctx });
        const top = p.predict(ctx, 5)[0];
        if (step < 35 || top === undefined) continue;
        n++;
        probability += top.probability;
        if (top.key === next(s, pos[s])) right++;
      }
    }
    assert.ok(n > 0);
    assert.ok(right / n > 0.95, `top-1 right ${right} / ${n}`);
    assert.ok(probability / n > 0.5, `mean probability of the top prediction ${probability / n}`);
  });
});

describe('MarkovPredictor user and segment scopes', () => {
  // Ids whose 32-bit FNV-1a hashes are equal: each scope id must still get its own model.
  const alice = 'user-129599';
  const mallory = 'user-732382';

  it('does not share a model between users whose ids collide under a 32-bit hash', () => {
    assert.equal(hashString(alice), hashString(mallory), 'precondition: the ids collide in 32 bits');
    const m = new MarkovPredictor();
    let at = 0;
    const obs = (ctx: ReadContext, key: string) => m.observe({ key, at: ++at, ctx });
    for (let i = 0; i < 1000; i++) {
      obs({ user: `other${i % 500}` }, 'home');
      obs({ user: `other${i % 500}` }, 'catalog');
    }
    for (let i = 0; i < 30; i++) {
      obs({ user: alice }, 'home');
      obs({ user: alice }, 'private/alice');
    }
    obs({ user: alice }, 'home');
    for (let i = 0; i < 20; i++) obs({ user: mallory }, `news/${i}`);
    obs({ user: mallory }, 'home');
    const got = m.predict({ user: mallory }, 3);
    assert.equal(got[0]?.key, 'catalog');
    assert.ok(!got.some((q) => q.source === 'markov:user'), JSON.stringify(got));
    assert.ok(m.predictScope('user', { user: mallory }, 5).every((q) => q.key !== 'private/alice'));
    // Alice's own model still answers for her.
    assert.equal(m.predictScope('user', { user: alice }, 1)[0]?.key, 'private/alice');
  });

  it('does not share a model between segments whose ids collide under a 32-bit hash', () => {
    const m = new MarkovPredictor();
    let at = 0;
    for (let i = 0; i < 30; i++) {
      m.observe({ key: 'home', at: ++at, ctx: { session: `a${i}`, segment: alice } });
      m.observe({ key: 'segment-a-page', at: ++at, ctx: { session: `a${i}`, segment: alice } });
    }
    m.observe({ key: 'home', at: ++at, ctx: { session: 'b', segment: mallory } });
    m.observe({ key: 'home', at: ++at, ctx: { session: 'a-probe', segment: alice } });
    assert.deepEqual(m.predictScope('segment', { session: 'b', segment: mallory }, 5), []);
    assert.equal(m.predictScope('segment', { session: 'a-probe', segment: alice }, 1)[0]?.key, 'segment-a-page');
  });
});

describe('session and user ids are separate key spaces', () => {
  /**
   * Feeds the same stream to two models, the second with session "7" renamed: if the session's reads reach user
   * "7"'s state, the answers for user "7" differ.
   */
  function userSeesSession(make: () => Predictor): { same: unknown[]; renamed: unknown[] } {
    const run = (sessionId: string) => {
      const m = make();
      let at = 0;
      const obs = (ctx: ReadContext, key: string) => m.observe({ key, at: ++at, ctx });
      for (let s = 0; s < 20; s++) for (const key of ['100', '101', '102', '103']) obs({ session: `t${s}` }, key);
      for (let s = 0; s < 20; s++) for (const key of ['900', '555', '556']) obs({ session: `u${s}` }, key);
      obs({ user: '7' }, '100');
      obs({ user: '7' }, '101');
      obs({ session: sessionId }, '900');
      obs({ session: sessionId }, '901');
      return m.predict({ user: '7' }, 5).map((q) => `${q.key}:${q.probability}`);
    };
    return { same: run('7'), renamed: run('elsewhere') };
  }

  for (const [name, make] of [
    ['DeltaPredictor', () => new DeltaPredictor()],
    ['SessionKnnPredictor', () => new SessionKnnPredictor()],
    ['SequentialRulesPredictor', () => new SequentialRulesPredictor()],
    ['EnsemblePredictor', () => new EnsemblePredictor()],
  ] as const) {
    it(`${name}: session "7" does not share state with user "7"`, () => {
      const { same, renamed } = userSeesSession(make);
      assert.ok(renamed.length > 0, 'user 7 gets predictions');
      assert.deepEqual(same, renamed);
    });
  }

  it('EnsemblePredictor: a session named like the anonymous stream\'s key is not the anonymous stream', () => {
    const run = (sessionId: string) => {
      const e = new EnsemblePredictor({ popularity: false, knn: false });
      let at = 0;
      for (let i = 0; i < 20; i++) e.observe({ key: String(5000 + i), at: ++at, ctx: {} });
      e.observe({ key: 'x', at: ++at, ctx: { session: sessionId } });
      return e.predict({}, 3).map((q) => q.key);
    };
    const renamed = run('elsewhere');
    assert.equal(renamed[0], '5020');
    assert.deepEqual(run('\u0000'), renamed);
    assert.deepEqual(run('\u0000anonymous'), renamed);
  });
});

describe('EnsemblePredictor cached mixed lists and interner id reuse', () => {
  it('returns no duplicate after other sessions\' reads give the cached ids to other keys', () => {
    const p = new EnsemblePredictor({ maxKeys: 6, popularity: false, knn: false });
    let at = 0;
    const obs = (session: string, key: string) => p.observe({ key, at: ++at, ctx: { session } });
    obs('B', '12');
    obs('B', 'x');
    for (const key of ['10', '11', '12']) obs('A', key);
    const first = p.predict({ session: 'A' }, 8).map((q) => q.key);
    assert.deepEqual(first.slice(0, 2), ['x', '13']);
    for (const key of ['n0', 'n1', '13']) obs('C', key);
    const again = p.predict({ session: 'A' }, 8).map((q) => q.key);
    assert.equal(new Set(again).size, again.length, `duplicates in ${again.join(' ')}`);
    // The answer is what the models give now: the same as a list computed afresh (a deeper ask recomputes).
    const fresh = p.predict({ session: 'A' }, 10).map((q) => q.key);
    assert.deepEqual(again, fresh.slice(0, again.length));
  });

  it('still answers from the cache while no id was reused (the second predict matches the first)', () => {
    const p = new EnsemblePredictor({ popularity: false, knn: false });
    let at = 0;
    for (const key of ['10', '11', '12']) p.observe({ key, at: ++at, ctx: { session: 'A' } });
    const first = p.predict({ session: 'A' }, 4);
    p.observe({ key: 'other', at: ++at, ctx: { session: 'B' } });
    assert.deepEqual(p.predict({ session: 'A' }, 4), first);
  });
});

describe('EnsemblePredictor sessionIdleMs reaches the inner models', () => {
  it('does not learn transitions across the ensemble\'s idle gap (Markov, kNN, rules)', () => {
    const e = new EnsemblePredictor({ sessionIdleMs: 1000, popularity: false, delta: false, rules: {} });
    let t = 0;
    for (let i = 0; i < 20; i++) {
      e.observe({ key: 'checkout', at: (t += 10), ctx: { session: `v${i}` } });
      e.observe({ key: 'home', at: (t += 60_000), ctx: { session: `v${i}` } });
    }
    e.observe({ key: 'checkout', at: (t += 10), ctx: { session: 'probe' } });
    const got = e.predict({ session: 'probe' }, 5).map((q) => `${q.key}(${q.source})`);
    assert.ok(!got.some((k) => k.startsWith('home(')), got.join(' '));
  });

  it('does not learn a delta across the ensemble\'s idle gap', () => {
    const run = (sessionIdleMs: number | undefined) => {
      const e = new EnsemblePredictor({ sessionIdleMs, popularity: false, knn: false, markov: { scopes: ['global'] } });
      let t = 0;
      for (let i = 0; i < 20; i++) {
        e.observe({ key: String(1000 * i), at: (t += 10), ctx: { session: `v${i}` } });
        e.observe({ key: String(1000 * i + 500), at: (t += 60_000), ctx: { session: `v${i}` } });
      }
      e.observe({ key: '90000', at: (t += 10), ctx: { session: 'probe' } });
      return e.predict({ session: 'probe' }, 8).map((q) => q.key);
    };
    assert.ok(run(undefined).includes('90500'), 'control: with the 30-minute default the +500 step is one visit');
    assert.ok(!run(1000).includes('90500'), run(1000).join(' '));
  });

  it('lets an inner model\'s own sessionIdleMs win', () => {
    const e = new EnsemblePredictor({ sessionIdleMs: 1000, popularity: false, delta: false, knn: false, markov: { sessionIdleMs: 3_600_000 } });
    let t = 0;
    for (let i = 0; i < 20; i++) {
      e.observe({ key: 'checkout', at: (t += 10), ctx: { session: `v${i}` } });
      e.observe({ key: 'home', at: (t += 60_000), ctx: { session: `v${i}` } });
    }
    e.observe({ key: 'checkout', at: (t += 10), ctx: { session: 'probe' } });
    assert.equal(e.predict({ session: 'probe' }, 1)[0]?.key, 'home');
  });
});

describe('EnsemblePredictor nested options', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['markov.scopes null', { markov: { scopes: null } }, 'markov.scopes'],
    ['rules null', { rules: null }, 'rules'],
    ['markov array', { markov: [] }, 'markov'],
    ['delta array', { delta: [] }, 'delta'],
    ['knn array', { knn: [] }, 'knn'],
    ['markov.keys', { markov: { keys: 5 } }, 'markov.keys'],
    ['markov.name', { markov: { name: 'm2' } }, 'markov.name'],
    ['knn.name', { knn: { name: 'k' } }, 'knn.name'],
    ['popularity.keys', { popularity: { keys: {} } }, 'popularity.keys'],
  ];
  for (const [label, options, option] of cases) {
    it(`rejects ${label} with InvalidOptionError naming \`${option}\``, () => {
      assert.throws(
        () => new EnsemblePredictor(options as never),
        (e: unknown) => e instanceof InvalidOptionError && e.code === 'ERR_INVALID_OPTION' && e.option === option && e.message.includes(`\`${option}\``),
      );
    });
  }

  it('MarkovPredictor rejects scopes: null', () => {
    assert.throws(() => new MarkovPredictor({ scopes: null as never }), (e: unknown) => e instanceof InvalidOptionError && e.option === 'scopes');
  });

  it('still accepts undefined nested options, false sources and undefined name / keys', () => {
    const e = new EnsemblePredictor({ markov: { name: undefined, keys: undefined }, delta: undefined, rules: false, knn: false });
    assert.deepEqual(e.sources, ['markov:user', 'markov:segment', 'markov:global', 'delta', 'popularity']);
  });
});

describe('memory reserved at construction is bounded', () => {
  it('SessionKnnPredictor refuses a past-session slab over 2^28 ids (1 GiB) and maxSessions over 10,000,000', () => {
    const refuses = (options: Record<string, number>) =>
      assert.throws(() => new SessionKnnPredictor(options), (e: unknown) => e instanceof InvalidOptionError && e.option === 'maxSessions');
    refuses({ maxSessions: 10_000_000, maxSessionLength: 100 });
    refuses({ maxSessions: 20_000_000, maxSessionLength: 1 });
    assert.equal(new SessionKnnPredictor({ maxSessions: 1_000_000 }).stateCount, 0);
  });

  it('PopularityPredictor refuses capacity over 1,000,000', () => {
    assert.throws(() => new PopularityPredictor({ capacity: 2_000_000 }), (e: unknown) => e instanceof InvalidOptionError && e.option === 'capacity');
    assert.equal(new PopularityPredictor({ capacity: 1_000_000 }).name, 'popularity');
  });
});
