import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveCacheOptions } from '../../src/cache/cache-options.ts';
import { PredictionBudget, resolvePredictionBudget } from '../../src/cache/prediction-budget.ts';
import { PredictionLoop } from '../../src/cache/prediction-loop.ts';
import { VirtualClock, type Clock, type TimerHandle } from '../../src/clock.ts';
import type { ReadContext } from '../../src/context.ts';
import { PrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { Access, Prediction, Predictor } from '../../src/predict/predictor.ts';

/** Fake real time: the fake predictor's work moves it, nothing else does. */
function fakeTime() {
  const t = { ms: 0 };
  return { t, now: () => t.ms };
}

/** A predictor whose observe and predict cost fixed amounts of fake time and log what they saw. */
function costlyPredictor(t: { ms: number }, observeMs: number, predictMs: number) {
  const observed: string[] = [];
  const predicted: string[] = [];
  const predictor: Predictor = {
    name: 'costly',
    observe(access: Access) {
      t.ms += observeMs;
      observed.push(access.key);
    },
    predict(ctx: ReadContext): Prediction[] {
      t.ms += predictMs;
      predicted.push(ctx.session ?? '');
      return [];
    },
  };
  return { predictor, observed, predicted };
}

function makeLoop(predictor: Predictor, budget: Record<string, unknown> | undefined) {
  const clock = new VirtualClock();
  const loop = new PredictionLoop({
    predictor,
    clock,
    bufferSize: 8192,
    predictLimit: 4,
    prefetch: budget === undefined ? {} : { budget },
    target: { isPresent: () => true, fetch: async () => ({ failed: [] }) },
    onEvent: () => {},
  });
  return { clock, loop };
}

function record(loop: PredictionLoop, n: number, sessions: number): void {
  for (let i = 0; i < n; i++) loop.record(`k${i}`, { session: `s${i % sessions}` }, 0, 'hit');
}

describe('PredictionBudget', () => {
  test('spend over the window allowance is owed into the next windows', () => {
    const budget = new PredictionBudget(resolvePredictionBudget('b', { maxShare: 0.25, windowMs: 100, now: () => 0 })!);
    assert.equal(budget.isSpent(0), false);
    budget.charge(0, 20);
    assert.equal(budget.isSpent(20), false);
    assert.equal(budget.waitMs(20), 0);
    budget.charge(20, 60); // 60 ms spent against 25 allowed: 35 owed, so two more windows
    assert.equal(budget.isSpent(60), true);
    assert.equal(budget.waitMs(60), 140);
    assert.equal(budget.isSpent(199), true);
    assert.equal(budget.isSpent(200), false);
    assert.equal(budget.stats().spentMs, 60);
  });

  test('adaptive: the next window\'s share follows the reads the models could change, floored, full when idle', () => {
    const reads = { hit: 0, miss: 0, stale: 0, prefetched: 0 };
    const options = resolvePredictionBudget('b', { maxShare: 0.2, windowMs: 100, now: () => 0 })!;
    const budget = new PredictionBudget(options, reads);
    budget.isSpent(0); // the first window starts
    assert.ok(Math.abs(budget.share - 0.2) < 1e-12);
    reads.hit += 10_000; // a window of hits only: the floor, a tenth of maxShare
    budget.isSpent(100);
    assert.ok(Math.abs(budget.share - 0.02) < 1e-12, `share ${budget.share}`);
    budget.charge(100, 103); // 3 ms against 2 allowed
    assert.equal(budget.isSpent(103), true);
    assert.equal(budget.waitMs(103), 97, 'owed: the rest of this window');
    reads.hit += 9_900;
    reads.miss += 100; // 1% of reads miss: a fifth of the full share (full from 5%)
    budget.isSpent(200);
    assert.ok(Math.abs(budget.share - 0.04) < 1e-12, `share ${budget.share}`);
    assert.equal(budget.waitMs(200), 0, 'the debt (1 ms over a 2 ms allowance) was repaid by the window that passed');
    budget.charge(200, 220); // 20 ms against 4 allowed: 16 owed, four windows at this share
    reads.hit += 10_000; // then a window of hits only: the share falls to the floor, the debt in windows stays
    // At 300 one window repaid 4 of the 20 ms: 16 ms are owed, four windows at 4 ms; at the floor's 1.5 ms still four.
    assert.equal(budget.waitMs(300), 400, 'the same wait as at the share the debt was run up at, not 16 / 1.5 windows');
    reads.hit += 9_000;
    reads.miss += 500;
    reads.prefetched += 500; // 10% could change: all of it
    budget.isSpent(400);
    assert.ok(Math.abs(budget.share - 0.2) < 1e-12);
    reads.hit += 20; // an idle window (under 64 reads): full share, whatever they were
    budget.isSpent(500);
    assert.ok(Math.abs(budget.share - 0.2) < 1e-12);
    assert.equal(budget.stats().share, budget.share);

    const fixed = new PredictionBudget(resolvePredictionBudget('b', { maxShare: 0.2, windowMs: 100, adaptive: false, now: () => 0 })!, reads);
    fixed.isSpent(0);
    reads.hit += 10_000;
    fixed.isSpent(100);
    assert.ok(Math.abs(fixed.share - 0.2) < 1e-12, 'adaptive: false keeps maxShare');
  });

  test('bad options are ERR_INVALID_OPTION naming the field; false and undefined mean no budget', () => {
    assert.equal(resolvePredictionBudget('b', undefined), undefined);
    assert.equal(resolvePredictionBudget('b', false), undefined);
    for (const [value, name] of [
      [{ maxShare: 0 }, 'b.maxShare'],
      [{ maxShare: 1.5 }, 'b.maxShare'],
      [{ windowMs: 0 }, 'b.windowMs'],
      [{ maxSliceMs: -1 }, 'b.maxSliceMs'],
      [{ now: 5 }, 'b.now'],
      [{ adaptive: 'yes' }, 'b.adaptive'],
      [7, 'b'],
    ] as const) {
      assert.throws(
        () => resolvePredictionBudget('b', value),
        (e: unknown) => e instanceof PrescientError && e.code === 'ERR_INVALID_OPTION' && e.message.includes(name),
      );
    }
    const o = resolveCacheOptions({ origin: new MapOrigin([]), prefetch: { budget: { maxShare: 0.5 } } });
    assert.ok(o.prefetch !== false && o.prefetch.budget !== false && o.prefetch.budget?.maxShare === 0.5);
    assert.throws(() => resolveCacheOptions({ origin: new MapOrigin([]), prefetch: { budget: { maxShare: 2 } } }), /prefetch\.budget\.maxShare/);
  });
});

describe('PredictionLoop with a budget', () => {
  test('without a budget a turn observes 1,024 accesses and predicts each context once (unchanged)', () => {
    const { t } = fakeTime();
    const p = costlyPredictor(t, 1, 1);
    const { clock, loop } = makeLoop(p.predictor, undefined);
    record(loop, 2000, 10);
    clock.step();
    assert.equal(p.observed.length, 1024);
    assert.equal(p.predicted.length, 10);
    clock.step();
    assert.equal(p.observed.length, 2000);
    assert.equal(loop.stats().budget, undefined);
  });

  test('a slice stops observing soon after maxSliceMs and yields to the event loop', () => {
    const { t, now } = fakeTime();
    const p = costlyPredictor(t, 0.1, 0.1);
    const { clock, loop } = makeLoop(p.predictor, { maxShare: 1, maxSliceMs: 4, now });
    record(loop, 1000, 5);
    const before = t.ms;
    clock.step();
    const slice = t.ms - before;
    // Time is read every 16 observes: a slice overruns by at most one stride of observes plus one prediction.
    assert.ok(slice >= 4 && slice <= 4 + 16 * 0.1 + 0.1 + 1e-9, `slice took ${slice} ms`);
    assert.ok(p.observed.length < 1000 && p.observed.length >= 40, `observed ${p.observed.length}`);
    while (clock.step());
    assert.equal(p.observed.length, 1000);
    assert.deepEqual(new Set(p.predicted), new Set(['s0', 's1', 's2', 's3', 's4']));
    assert.ok(loop.stats().budget!.slices > 1);
  });

  test('a spent window defers predictions and paces the next slice; they resume when the budget is back', () => {
    const { t, now } = fakeTime();
    const p = costlyPredictor(t, 1, 1);
    const { clock, loop } = makeLoop(p.predictor, { maxShare: 0.1, windowMs: 100, maxSliceMs: 40, now });
    record(loop, 32, 4); // 32 ms of observes: over the 10 ms allowance of the window
    clock.step();
    assert.equal(p.observed.length, 32);
    assert.equal(p.predicted.length, 0, 'no prediction while the window is spent');
    const due = clock.nextTimerAt();
    assert.ok(due !== undefined && due > clock.now(), 'the next slice waits for budget');
    // Real time moves on with the virtual clock (the fake stands for it); the waiting contexts are predicted.
    t.ms = 1000;
    clock.advanceTo(due);
    assert.deepEqual(p.predicted.sort(), ['s0', 's1', 's2', 's3']);
    assert.equal(clock.pendingTimers, 0);
  });

  test('flush still feeds and predicts everything at once (explicit predictions are outside the budget)', () => {
    const { t, now } = fakeTime();
    const p = costlyPredictor(t, 1, 1);
    const { loop } = makeLoop(p.predictor, { maxShare: 0.01, maxSliceMs: 1, now });
    record(loop, 3000, 3);
    loop.flush();
    assert.equal(p.observed.length, 3000);
    assert.equal(p.predicted.length, 3);
  });

  test('drains on the clock\'s defer when the budget lets it work now, on a timer when it must wait; flush and close cancel', () => {
    const { t, now } = fakeTime();
    const p = costlyPredictor(t, 1, 1);
    const inner = new VirtualClock();
    const calls: string[] = [];
    const cleared: TimerHandle[] = [];
    const clock: Clock = {
      now: () => inner.now(),
      setTimer: (ms, fn) => (calls.push(`timer ${ms}`), inner.setTimer(ms, fn)),
      clearTimer: (handle) => (cleared.push(handle), inner.clearTimer(handle)),
      defer: (fn) => (calls.push('defer'), inner.setTimer(0, fn)),
    };
    const loop = new PredictionLoop({
      predictor: p.predictor,
      clock,
      bufferSize: 64,
      predictLimit: 4,
      prefetch: { budget: { maxShare: 0.1, windowMs: 100, maxSliceMs: 40, now } },
      target: { isPresent: () => true, fetch: async () => ({ failed: [] }) },
      onEvent: () => {},
    });
    record(loop, 32, 4);
    assert.deepEqual(calls, ['defer'], 'one drain scheduled for all 32 reads, deferred');
    inner.step(); // 32 ms of work against a 10 ms allowance: the next slice waits for the window
    assert.equal(calls.length, 2);
    assert.match(calls[1], /^timer [1-9]/);
    loop.flush();
    assert.equal(cleared.length, 1);
    assert.equal(inner.pendingTimers, 0);
    t.ms = 1000;
    record(loop, 1, 1);
    assert.equal(calls.at(-1), 'defer');
    loop.close();
    assert.equal(cleared.length, 2);
    assert.equal(inner.pendingTimers, 0);
  });
});

describe('PredictionLoop with a predictor that predicts elsewhere (onFresh)', () => {
  test('it predicts for the contexts the predictor announces, not after each observe', () => {
    const observed: string[] = [];
    const asked: string[] = [];
    let announce: ((ctx: ReadContext) => void) | undefined;
    const predictor: Predictor = {
      name: 'remote',
      observe: (a: Access) => void observed.push(a.key),
      predict: (ctx: ReadContext): Prediction[] => (asked.push(ctx.session ?? ''), [{ key: `next-${ctx.session}`, probability: 0.9 }]),
      onFresh: (listener) => {
        announce = listener;
      },
    };
    const offered: string[] = [];
    const clock = new VirtualClock();
    const loop = new PredictionLoop({
      predictor,
      clock,
      bufferSize: 64,
      predictLimit: 4,
      prefetch: false,
      target: { isPresent: () => true, fetch: async () => ({ failed: [] }) },
      onEvent: () => {},
      onPredicted: (ctx, predictions) => offered.push(`${ctx.user}:${predictions[0]?.key}`),
    });
    assert.ok(announce !== undefined, 'the loop listens');
    loop.record('a', { session: 's1', user: 'u' }, 0, 'hit');
    loop.record('b', { session: 's2', user: 'u' }, 0, 'hit');
    while (clock.step());
    assert.deepEqual(observed, ['a', 'b']);
    assert.deepEqual(asked, [], 'no prediction right after observing');
    announce({ session: 's2', user: 'u' });
    while (clock.step());
    assert.deepEqual(asked, ['s2']);
    assert.deepEqual(offered, ['u:next-s2']);
  });
});
