import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadContext } from '../../src/context.ts';
import { MarkovPredictor } from '../../src/predict/markov-predictor.ts';

function feed(m: MarkovPredictor, keys: string[], ctx: ReadContext, start = 0): number {
  let at = start;
  for (const key of keys) m.observe({ key, at: at++, ctx });
  return at;
}

describe('MarkovPredictor', () => {
  it('learns a deterministic cycle and predicts the next key with probability near 1', () => {
    const m = new MarkovPredictor({ maxOrder: 2 });
    const cycle: string[] = [];
    for (let i = 0; i < 50; i++) cycle.push('a', 'b', 'c');
    feed(m, cycle, { session: 's1' });
    const [top] = m.predict({ session: 's1' }, 3);
    assert.equal(top.key, 'a');
    assert.ok(top.probability > 0.95, `probability ${top.probability}`);
  });

  it('uses a second-order context to tell (x,a)->b from (y,a)->c where first order cannot', () => {
    const order1 = new MarkovPredictor({ maxOrder: 1, mode: 'fixed' });
    const order2 = new MarkovPredictor({ maxOrder: 2 });
    let at = 0;
    for (let i = 0; i < 40; i++) {
      for (const m of [order1, order2]) {
        feed(m, ['x', 'a', 'b'], { session: `x${i}` }, at);
        feed(m, ['y', 'a', 'c'], { session: `y${i}` }, at);
      }
      at += 10;
    }
    for (const m of [order1, order2]) {
      feed(m, ['x', 'a'], { session: 'qx' }, at);
      feed(m, ['y', 'a'], { session: 'qy' }, at);
    }
    const x2 = order2.predict({ session: 'qx' }, 2);
    const y2 = order2.predict({ session: 'qy' }, 2);
    assert.equal(x2[0].key, 'b');
    assert.equal(y2[0].key, 'c');
    assert.ok(x2[0].probability > 0.9);
    const x1 = order1.predict({ session: 'qx' }, 2);
    assert.ok(Math.abs(x1[0].probability - 0.5) < 0.05, 'first order splits the mass evenly');
  });

  it('holds back predictions until a context has minObservations', () => {
    const m = new MarkovPredictor({ maxOrder: 1, minObservations: 3 });
    feed(m, ['a', 'b'], { session: 's1' });
    feed(m, ['a', 'b'], { session: 's2' });
    feed(m, ['a'], { session: 'q' });
    assert.deepEqual(m.predict({ session: 'q' }, 5), []);
    feed(m, ['a', 'b'], { session: 's3' });
    assert.equal(m.predict({ session: 'q' }, 5)[0].key, 'b');
  });

  it('never holds more states than maxStates', () => {
    const m = new MarkovPredictor({ maxOrder: 3, maxStates: 64, scopes: ['global'] });
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 5000; i++) {
      m.observe({ key: `k${Math.floor(rand() * 500)}`, at: i, ctx: { session: `s${Math.floor(i / 7)}` } });
      assert.ok(m.stateCount <= 64, `stateCount ${m.stateCount}`);
    }
    assert.ok(m.stateCount > 0);
  });

  it('answers an unknown session from the user history, and [] when nothing is known', () => {
    const m = new MarkovPredictor({ maxOrder: 1 });
    for (let i = 0; i < 10; i++) feed(m, ['b', 'c'], { session: `s${i}` }, i * 10);
    feed(m, ['a', 'b'], { session: 'old', user: 'u1' }, 200);
    assert.equal(m.predict({ session: 'new', user: 'u1' }, 1)[0]?.key, 'c');
    assert.deepEqual(m.predict({ session: 'nobody' }, 5), []);
  });

  it('falls back to the global model for a session with an unseen user', () => {
    const m = new MarkovPredictor({ maxOrder: 1 });
    for (let i = 0; i < 10; i++) feed(m, ['a', 'b'], { session: `s${i}` }, i * 10);
    feed(m, ['a'], { session: 'fresh', user: 'stranger' }, 500);
    const [top] = m.predict({ session: 'fresh', user: 'stranger' }, 1);
    assert.equal(top.key, 'b');
  });

  it('lets the per-user model dominate once the user has history', () => {
    const m = new MarkovPredictor({ maxOrder: 1, userConfidence: 5 });
    let at = 0;
    for (let i = 0; i < 30; i++) at = feed(m, ['a', 'b'], { session: `g${i}`, user: `other${i}` }, at);
    for (let i = 0; i < 15; i++) at = feed(m, ['a', 'c'], { session: `u${i}`, user: 'alice' }, at);
    at = feed(m, ['a'], { session: 'alice-now', user: 'alice' }, at);
    feed(m, ['a'], { session: 'bob-now', user: 'bob' }, at);
    assert.equal(m.predict({ session: 'alice-now', user: 'alice' }, 1)[0].key, 'c');
    assert.equal(m.predict({ session: 'bob-now', user: 'bob' }, 1)[0].key, 'b');
  });

  it('returns probabilities in [0, 1], highest first', () => {
    const m = new MarkovPredictor({ maxOrder: 3 });
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 3000; i++) m.observe({ key: `k${Math.floor(rand() * 20)}`, at: i, ctx: { session: `s${Math.floor(i / 5)}` } });
    const out = m.predict({ session: 's599' }, 10);
    assert.ok(out.length > 0);
    for (let i = 0; i < out.length; i++) {
      assert.ok(out[i].probability >= 0 && out[i].probability <= 1);
      if (i > 0) assert.ok(out[i].probability <= out[i - 1].probability);
    }
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    for (const bad of [{ maxOrder: 0 }, { maxOrder: 1.5 }, { maxSuccessors: 0 }, { maxSuccessors: 300 }, { maxStates: -1 }, { halfLifeAccesses: 0 }, { mode: 'ppm' }, { exclude: 'all' }, { scopes: ['planet'] }, { sessionIdleMs: -5 }, { growOrders: 'never' }, { scopeStates: 'half' }]) {
      assert.throws(() => new MarkovPredictor(bad as never), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });

  it("with growOrders 'ambiguous', gives a longer context a state only once the shorter one has two successors", () => {
    const lazy = new MarkovPredictor({ maxOrder: 2, scopes: ['global'], growOrders: 'ambiguous' });
    const eager = new MarkovPredictor({ maxOrder: 2, scopes: ['global'], growOrders: 'always' });
    const roomy = new MarkovPredictor({ maxOrder: 2, scopes: ['global'] });
    // a always leads to b, b to c, c to a: three first-order contexts, each settled on one successor.
    const cycle: string[] = [];
    for (let i = 0; i < 20; i++) cycle.push('a', 'b', 'c');
    for (const m of [lazy, eager, roomy]) feed(m, cycle, {});
    assert.equal(lazy.stateCount, 3);
    assert.equal(eager.stateCount, 6);
    // The default, 'when-full', grows every context while the table has room.
    assert.equal(roomy.stateCount, 6);
    // Now (x, a) -> d makes 'a' ambiguous: the next pass through a grows its second-order context.
    feed(lazy, ['x', 'a', 'd', 'x', 'a', 'd', 'x', 'a'], {}, 100);
    const [top] = lazy.predict({}, 1);
    assert.equal(top.key, 'd');
    assert.ok(lazy.stateCount > 6, `stateCount ${lazy.stateCount}`);
  });

  it("with growOrders 'when-full', stops growing settled longer contexts once the table is full", () => {
    const m = new MarkovPredictor({ maxOrder: 2, scopes: ['global'], maxStates: 8 });
    feed(m, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], {});
    assert.equal(m.stateCount, 8);
    // Full now: the settled cycle p, q, r, s needs only its four first-order states, and still predicts.
    const seq: string[] = [];
    for (let i = 0; i < 30; i++) seq.push('p', 'q', 'r', 's');
    feed(m, seq, {}, 100);
    assert.equal(m.predict({}, 1)[0]?.key, 'p');
    assert.equal(m.stateCount, 8);
  });

  it("with scopeStates 'shared', an anonymous stream may use every state, and all scopes stay within maxStates", () => {
    const shared = new MarkovPredictor({ maxOrder: 1, maxStates: 100 });
    const split = new MarkovPredictor({ maxOrder: 1, maxStates: 100, scopeStates: 'split' });
    for (const m of [shared, split]) for (let i = 0; i < 300; i++) m.observe({ key: `k${i}`, at: i, ctx: {} });
    assert.equal(shared.stateCount, 100);
    assert.equal(split.stateCount, 50);
    for (let i = 0; i < 3000; i++) shared.observe({ key: `k${i % 97}`, at: 300 + i, ctx: { session: `s${i % 5}`, user: `u${i % 7}`, segment: `g${i % 3}` } });
    assert.ok(shared.stateCount <= 100, `stateCount ${shared.stateCount}`);
  });
});
