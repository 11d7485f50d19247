import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { Feedback } from '../../src/prefetch/feedback.ts';
import { PrefetchScheduler, type PrefetchRequest, type PrefetchTarget } from '../../src/prefetch/prefetch-scheduler.ts';

/** A target that records batches and settles them when told. */
class RecordingTarget implements PrefetchTarget {
  readonly present = new Set<string>();
  touch?: (key: string) => void;
  readonly batches: PrefetchRequest[][] = [];
  failNext = 0;
  readonly #pending: Array<() => void> = [];

  isPresent(key: string): boolean {
    return this.present.has(key);
  }

  fetch(batch: readonly PrefetchRequest[]): Promise<{ failed: readonly PrefetchRequest[] }> {
    this.batches.push([...batch]);
    const shouldFail = this.failNext > 0;
    if (shouldFail) this.failNext--;
    return new Promise((resolve) => this.#pending.push(() => resolve({ failed: shouldFail ? batch : [] })));
  }

  settleAll(): void {
    for (const settle of this.#pending.splice(0)) settle();
  }

  keys(): string[] {
    return this.batches.flat().map((r) => r.key);
  }
}

function make(options: Partial<ConstructorParameters<typeof PrefetchScheduler>[0]> = {}) {
  const clock = new VirtualClock();
  const target = new RecordingTarget();
  const feedback = new Feedback();
  const scheduler = new PrefetchScheduler({ target, clock, feedback, targetPrecision: 0, ...options });
  return { clock, target, feedback, scheduler };
}

describe('PrefetchScheduler', () => {
  test('sends the most beneficial candidates first, in one batch', () => {
    const { target, scheduler } = make({ maxBurst: 2, minProbability: 0 });
    scheduler.offer({ session: 's' }, [
      { key: 'low', probability: 0.1 },
      { key: 'high', probability: 0.9 },
      { key: 'mid', probability: 0.5 },
    ]);
    assert.deepEqual(target.keys(), ['high', 'mid']);
    assert.equal(target.batches.length, 1);
  });

  test('refreshes every predicted cached key by default, and those under touchProbability not', () => {
    const touched: string[] = [];
    const { target, scheduler } = make({ minProbability: 0.05 });
    target.present.add('cached-unlikely');
    target.present.add('cached-likely');
    target.present.add('cached-at-floor');
    target.touch = (key) => touched.push(key);
    scheduler.offer({ session: 's' }, [
      { key: 'cached-likely', probability: 0.9 },
      { key: 'cached-at-floor', probability: 0.05 },
      { key: 'cached-unlikely', probability: 0.01 },
    ]);
    assert.deepEqual(touched, ['cached-likely', 'cached-at-floor', 'cached-unlikely']);
    assert.deepEqual(target.keys(), []);
    const strict = make({ touchProbability: 0.5 });
    const strictTouched: string[] = [];
    strict.target.present.add('likely');
    strict.target.present.add('unlikely');
    strict.target.touch = (key) => strictTouched.push(key);
    strict.scheduler.offer({ session: 's' }, [
      { key: 'likely', probability: 0.9 },
      { key: 'unlikely', probability: 0.3 },
    ]);
    assert.deepEqual(strictTouched, ['likely']);
  });

  test('weighs benefit by miss cost over size and discounts distant needs', () => {
    const costs: Record<string, number> = { cheap: 1, dear: 100, soon: 20, later: 20 };
    const { target, scheduler } = make({ maxBurst: 1, minProbability: 0, missCostMs: (k) => costs[k], horizonMs: 100 });
    scheduler.offer({ session: 's' }, [
      { key: 'cheap', probability: 0.9 },
      { key: 'dear', probability: 0.2 },
    ]);
    assert.deepEqual(target.keys(), ['dear']);
    const second = make({ maxBurst: 1, minProbability: 0, horizonMs: 100 });
    second.scheduler.offer({ session: 's' }, [
      { key: 'later', probability: 0.6, etaMs: 1000 },
      { key: 'soon', probability: 0.5, etaMs: 0 },
    ]);
    assert.deepEqual(second.target.keys(), ['soon']);
  });

  test('keeps prefetches within maxExtraLoad of the demand load', async () => {
    const { target, scheduler } = make({ maxBurst: 1, maxExtraLoad: 0.25, minProbability: 0 });
    let n = 0;
    for (let miss = 0; miss < 100; miss++) {
      scheduler.onDemandFetch(1);
      scheduler.offer({ session: `s${miss}` }, [{ key: `k${n++}`, probability: 0.9 }]);
      target.settleAll();
      await flushMicrotasks();
    }
    // One token at start plus 0.25 per demand fetch; none of these prefetches was used.
    assert.ok(target.keys().length <= 1 + 25, `sent ${target.keys().length}`);
    assert.ok(target.keys().length >= 24, `sent ${target.keys().length}`);
  });

  test('a used prefetch gives its token back and counts as a demand fetch it replaced', () => {
    const { target, scheduler } = make({ maxBurst: 4, maxExtraLoad: 0.5, minProbability: 0 });
    scheduler.offer({ session: 's' }, ['a', 'b', 'c', 'd', 'e'].map((key) => ({ key, probability: 0.5 })));
    assert.equal(target.keys().length, 4, 'the burst is spent');
    assert.equal(scheduler.stats().tokens, 0);
    scheduler.onUsed();
    assert.equal(scheduler.stats().tokens, 0.5, 'one token back plus 0.5 for the fetch it replaced, one spent');
    assert.deepEqual([...target.keys()].sort(), ['a', 'b', 'c', 'd', 'e'], 'the fifth candidate went out on the refund');
  });

  test('a displaced miss takes back the budget its demand fetch adds', () => {
    const { target, scheduler } = make({ maxBurst: 4, maxExtraLoad: 0.5, minProbability: 0 });
    scheduler.offer({ session: 's' }, ['a', 'b', 'c', 'd'].map((key) => ({ key, probability: 0.5 })));
    assert.equal(scheduler.stats().tokens, 0, 'the burst is spent');
    scheduler.onDisplacedMiss();
    scheduler.onDemandFetch(1);
    assert.equal(scheduler.stats().tokens, 0, 'a miss the prefetch region caused earns nothing');
    scheduler.onDemandFetch(1);
    scheduler.onDemandFetch(1);
    assert.equal(scheduler.stats().tokens, 1, 'other demand fetches earn maxExtraLoad each');
    scheduler.offer({ session: 's' }, [{ key: 'e', probability: 0.5 }]);
    assert.deepEqual([...target.keys()].sort(), ['a', 'b', 'c', 'd', 'e'], 'the token the two fetches earned went out');
  });

  test('saves up to 28 tokens for a burst by default', () => {
    const { target, scheduler } = make({ minProbability: 0, maxConcurrent: 1000 });
    scheduler.offer({ session: 's' }, Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, probability: 0.5 })));
    assert.equal(target.keys().length, 28);
    assert.equal(scheduler.stats().tokens, 0);
  });

  test('caps the batches in flight', () => {
    const { target, scheduler } = make({ maxBurst: 100, maxConcurrent: 2, maxBatch: 1, minProbability: 0 });
    scheduler.offer({ session: 's' }, ['a', 'b', 'c', 'd'].map((key) => ({ key, probability: 0.5 })));
    assert.equal(target.batches.length, 2);
    assert.equal(scheduler.stats().inflightBatches, 2);
  });

  test('skips what is cached or in flight and what falls below the threshold', () => {
    const { target, scheduler } = make({ minProbability: 0.3 });
    target.present.add('cached');
    scheduler.offer({ session: 's' }, [
      { key: 'cached', probability: 0.9 },
      { key: 'unlikely', probability: 0.1 },
      { key: 'wanted', probability: 0.6 },
    ]);
    assert.deepEqual(target.keys(), ['wanted']);
    const stats = scheduler.stats();
    assert.equal(stats.skippedPresent, 1);
    assert.equal(stats.belowThreshold, 1);
  });

  test('drops candidates that went stale when their session moved on', () => {
    const { target, scheduler } = make({ maxBurst: 1, maxExtraLoad: 1, minProbability: 0 });
    scheduler.offer({ session: 's' }, [{ key: 'first', probability: 0.9 }]);
    scheduler.offer({ session: 's' }, [{ key: 'a-old', probability: 0.8 }]);
    scheduler.offer({ session: 's' }, [{ key: 'b-new', probability: 0.7 }]);
    target.settleAll();
    scheduler.onDemandFetch(1);
    assert.deepEqual(target.keys(), ['first', 'b-new']);
    assert.ok(scheduler.stats().droppedStale >= 1);
  });

  test('retries a failed batch with backoff on the clock', async () => {
    const { clock, target, scheduler } = make({ retries: 1, retryBackoffMs: 100, minProbability: 0 });
    target.failNext = 1;
    scheduler.offer({ session: 's' }, [{ key: 'x', probability: 0.9 }]);
    target.settleAll();
    await flushMicrotasks();
    assert.equal(target.batches.length, 1);
    clock.advance(99);
    assert.equal(target.batches.length, 1);
    clock.advance(1);
    assert.equal(target.batches.length, 2);
    assert.equal(scheduler.stats().retried, 1);
  });

  test('raises the threshold while precision is poor and lowers it when precision recovers', () => {
    const { scheduler, feedback } = make({ targetPrecision: 0.5, minProbability: 0.01, maxProbability: 0.9 });
    const start = scheduler.threshold;
    for (let i = 0; i < 2000; i++) {
      feedback.wasted(`w${i}`, 1);
      if (i % 32 === 0) scheduler.offer({ session: 's' }, []);
    }
    const raised = scheduler.threshold;
    assert.ok(raised > start * 2, `threshold ${raised} after poor precision`);
    for (let i = 0; i < 4000; i++) {
      feedback.used(`u${i}`);
      if (i % 32 === 0) scheduler.offer({ session: 's' }, []);
    }
    assert.ok(scheduler.threshold < raised, `threshold ${scheduler.threshold} after good precision`);
  });

  test("holds each source to its own precision: one source's waste does not shut out another's guesses", () => {
    const { target, scheduler, feedback } = make({ targetPrecision: 0.5, minProbability: 0.01, maxProbability: 0.9, maxExtraLoad: 100, maxBurst: 1000 });
    for (let i = 0; i < 2000; i++) {
      feedback.wasted(`w${i}`, 1, 'junk');
      feedback.wasted(`v${i}`, 1, 'junk');
      feedback.used(`u${i}`, 'sharp');
      if (i % 16 === 0) {
        scheduler.offer({ session: 'other' }, []);
        scheduler.thresholdFor('junk');
        scheduler.thresholdFor('sharp');
      }
    }
    assert.ok(scheduler.thresholdFor('junk') > 0.3, `junk bar ${scheduler.thresholdFor('junk')}`);
    assert.equal(scheduler.thresholdFor('sharp'), 0.01);
    assert.ok(scheduler.threshold > 0.01, 'the bar over all sources would have risen too (two thirds of the outcomes wasted)');
    scheduler.offer({ session: 's' }, [
      { key: 'from-junk', probability: 0.2, source: 'junk' },
      { key: 'from-sharp', probability: 0.2, source: 'sharp' },
    ]);
    assert.deepEqual(target.keys(), ['from-sharp']);
    assert.deepEqual(Object.keys(scheduler.stats().thresholds).sort(), ['junk', 'sharp']);
  });

  test('narrows each offer to its most probable candidates while candidates wait for tokens', () => {
    const { target, scheduler } = make({ maxBurst: 4, maxExtraLoad: 0, minProbability: 0, maxConcurrent: 1000, rationTokens: false });
    const offer = (round: number) =>
      scheduler.offer({ session: 's' }, [0.9, 0.5, 0.3, 0.2, 0.1, 0.05].map((probability, i) => ({ key: `r${round}-${i}`, probability })));
    offer(0);
    assert.equal(target.keys().length, 4, 'the burst is spent');
    const wide = scheduler.offerLimit;
    for (let round = 1; round < 200; round++) {
      offer(round);
      scheduler.onUsed();
    }
    assert.ok(scheduler.offerLimit < wide, `limit ${scheduler.offerLimit} after starved pumps (from ${wide})`);
    assert.equal(scheduler.offerLimit, 1, 'one token a round: one candidate an offer');
    const before = target.keys().length;
    offer(200);
    scheduler.onUsed();
    assert.deepEqual(target.keys().slice(before), ['r200-0'], 'the token of the round went to its most probable candidate');
  });

  test('widens the offer limit again while tokens go unspent', () => {
    const { scheduler } = make({ maxBurst: 4, maxExtraLoad: 0, minProbability: 0, maxConcurrent: 1000 });
    for (let round = 0; round < 200; round++) {
      scheduler.offer({ session: 's' }, [0.9, 0.5, 0.3].map((probability, i) => ({ key: `r${round}-${i}`, probability })));
    }
    const narrow = scheduler.offerLimit;
    assert.equal(narrow, 1);
    for (let i = 0; i < 4; i++) scheduler.onUsed();
    for (let round = 0; round < 100; round++) scheduler.offer({ session: 't' }, []);
    assert.ok(scheduler.offerLimit > 10, `limit ${scheduler.offerLimit} with a full bucket`);
  });

  test('queues every candidate above the threshold when paceOffers is false; paced, settles at what a round affords', () => {
    const run = (paceOffers: boolean) => {
      const { target, scheduler } = make({ maxBurst: 2, maxExtraLoad: 0, minProbability: 0, maxConcurrent: 1000, paceOffers, rationTokens: false });
      for (let round = 0; round < 200; round++) {
        scheduler.offer({ session: 's' }, [0.9, 0.5, 0.3].map((probability, i) => ({ key: `r${round}-${i}`, probability })));
        scheduler.onUsed();
        scheduler.onUsed();
      }
      return { limit: scheduler.offerLimit, keys: target.keys() };
    };
    const unpaced = run(false);
    assert.equal(unpaced.limit, 1024);
    assert.ok(unpaced.keys.includes('r199-1'), 'the second guess of a round went out on the second token');
    const paced = run(true);
    assert.equal(paced.limit, 2, 'two tokens a round: two candidates an offer');
    assert.ok(paced.keys.includes('r199-1') && !paced.keys.includes('r199-2'));
  });

  test('rejects bad options with a code naming the option', () => {
    const base = { target: new RecordingTarget(), clock: new VirtualClock(), feedback: new Feedback() };
    for (const [bad, option] of [
      [{ maxExtraLoad: -1 }, 'maxExtraLoad'],
      [{ maxConcurrent: 0 }, 'maxConcurrent'],
      [{ minProbability: 2 }, 'minProbability'],
      [{ minProbability: 0.6, maxProbability: 0.5 }, 'minProbability'],
      [{ target: {} }, 'target'],
      [{ paceOffers: 'yes' }, 'paceOffers'],
    ] as const) {
      assert.throws(() => new PrefetchScheduler({ ...base, ...bad } as never), (e: { code?: string; option?: string }) => e.code === 'ERR_INVALID_OPTION' && e.option === option);
    }
  });

  test('a context forgotten by the generation map does not revive its superseded candidates when it offers again', async () => {
    // maxQueue 2: the map remembers 8 contexts, and both of A's candidates fit the queue (no trim decides for us).
    const { target, scheduler } = make({ maxQueue: 2, maxBurst: 1, maxExtraLoad: 1, paceOffers: false, minProbability: 0 });
    scheduler.offer({ session: 'warm' }, [{ key: 'w', probability: 0.9 }]); // spends the only token
    scheduler.offer({ session: 'A' }, [{ key: 'A-old-guess', probability: 0.99 }]);
    for (const s of 'BCDEFGHI') scheduler.offer({ session: s }, []); // A drops out of the 8-context map
    scheduler.offer({ session: 'A' }, [{ key: 'A-new-guess', probability: 0.5 }]); // A moved on
    target.settleAll();
    await flushMicrotasks();
    scheduler.onDemandFetch(1);
    assert.deepEqual(target.keys(), ['w', 'A-new-guess']);
  });

  test('over maxQueue the stale candidates go before the least beneficial: a superseded guess does not push out a fresh one', async () => {
    const { target, scheduler } = make({ maxQueue: 1, maxBurst: 1, maxExtraLoad: 1, paceOffers: false, minProbability: 0 });
    scheduler.offer({ session: 'warm' }, [{ key: 'w', probability: 0.9 }]); // spends the only token
    scheduler.offer({ session: 'A' }, [{ key: 'A-old-guess', probability: 0.99 }]);
    scheduler.offer({ session: 'A' }, [{ key: 'A-new-guess', probability: 0.5 }]); // A moved on: the old one is stale
    target.settleAll();
    await flushMicrotasks();
    scheduler.onDemandFetch(1);
    assert.deepEqual(target.keys(), ['w', 'A-new-guess']);
  });

  test('counts a retried prefetch issued once, its retries apart, so precision is not understated', async () => {
    const { clock, target, feedback, scheduler } = make({ retries: 2, retryBackoffMs: 10, minProbability: 0 });
    target.failNext = 1;
    scheduler.offer({ session: 's' }, [{ key: 'x', probability: 0.9, source: 'markov' }]);
    target.settleAll();
    await flushMicrotasks();
    clock.advance(10);
    target.settleAll();
    await flushMicrotasks();
    assert.deepEqual(target.keys(), ['x', 'x'], 'fetched twice: the first attempt failed');
    feedback.used('x', 'markov', 0.9);
    const s = feedback.stats();
    assert.equal(s.issued, 1);
    assert.equal(s.precision, 1);
    assert.deepEqual(s.bySource.markov, { issued: 1, used: 1, precision: 1 });
    assert.equal(scheduler.stats().issued, 1);
    assert.equal(scheduler.stats().retried, 1);
  });
});

describe('PrefetchScheduler ranking by source record and token rationing', () => {
  test("ranks a source whose prefetches are used more often than its probabilities say above one that is used less", () => {
    const { target, feedback, scheduler } = make({ maxBurst: 1, minProbability: 0, rationTokens: false, rankBySourceRecord: true });
    // 'modest' predicts 0.3 and is used 90% of the time; 'boastful' predicts 0.6 and is used 10% of the time.
    for (let i = 0; i < 1000; i++) {
      if (i % 10 === 0) feedback.wasted(`m${i}`, 1, 'modest', 0.3);
      else feedback.used(`m${i}`, 'modest', 0.3);
      if (i % 10 === 0) feedback.used(`b${i}`, 'boastful', 0.6);
      else feedback.wasted(`b${i}`, 1, 'boastful', 0.6);
    }
    assert.ok(feedback.sourceOutcomes('modest').recentProbability < 0.35, 'the mean issued probability is tracked');
    scheduler.offer({ session: 's' }, [
      { key: 'from-boastful', probability: 0.6, source: 'boastful' },
      { key: 'from-modest', probability: 0.3, source: 'modest' },
    ]);
    assert.deepEqual(target.keys(), ['from-modest']);
    const plain = make({ maxBurst: 1, minProbability: 0, rationTokens: false, rankBySourceRecord: false });
    for (let i = 0; i < 200; i++) plain.feedback.wasted(`b${i}`, 1, 'boastful', 0.6);
    plain.scheduler.offer({ session: 's' }, [
      { key: 'from-boastful', probability: 0.6, source: 'boastful' },
      { key: 'from-modest', probability: 0.3, source: 'modest' },
    ]);
    assert.deepEqual(plain.target.keys(), ['from-boastful'], 'with the record off, the raw probability ranks');
  });

  test('raises a score bar while offers find no token, so weak candidates stop taking tokens from strong ones', () => {
    const { target, scheduler } = make({ maxBurst: 1, maxExtraLoad: 0, minProbability: 0, rationTokens: true, paceOffers: false });
    scheduler.offer({ session: 'a' }, [{ key: 'first', probability: 0.9 }]);
    assert.deepEqual(target.keys(), ['first']);
    assert.equal(scheduler.stats().scoreBar, 0);
    // The bucket is empty from here on: each offer raises the bar.
    for (let i = 0; i < 100; i++) scheduler.offer({ session: `s${i}` }, [{ key: `weak${i}`, probability: 0.05 }]);
    const bar = scheduler.stats().scoreBar;
    assert.ok(bar > 0.05, `bar ${bar}`);
    const below = scheduler.stats().belowThreshold;
    scheduler.offer({ session: 'late' }, [{ key: 'weak-late', probability: 0.05 }]);
    assert.equal(scheduler.stats().belowThreshold, below + 1, 'a candidate under the bar is refused');
    const off = make({ maxBurst: 1, maxExtraLoad: 0, minProbability: 0, rationTokens: false, paceOffers: false });
    for (let i = 0; i < 100; i++) off.scheduler.offer({ session: `s${i}` }, [{ key: `weak${i}`, probability: 0.05 }]);
    assert.equal(off.scheduler.stats().scoreBar, 0, 'no bar when rationing is off');
  });

  test("by default ('anonymous') rations and ranks the candidates of anonymous reads only", () => {
    const { target, feedback, scheduler } = make({ maxBurst: 1, maxExtraLoad: 0, minProbability: 0, paceOffers: false });
    for (let i = 0; i < 200; i++) feedback.wasted(`b${i}`, 1, 'boastful', 0.6);
    // Session offers that find no token leave the bar alone.
    scheduler.offer({ session: 'a' }, [{ key: 'first', probability: 0.9 }]);
    for (let i = 0; i < 50; i++) scheduler.offer({ session: `s${i}` }, [{ key: `weak${i}`, probability: 0.05 }]);
    assert.equal(scheduler.stats().scoreBar, 0, 'session offers do not move the bar');
    // Anonymous offers that find no token raise it; session candidates still pass under it.
    for (let i = 0; i < 50; i++) scheduler.offer({}, [{ key: `anon${i}`, probability: 0.05 }]);
    const bar = scheduler.stats().scoreBar;
    assert.ok(bar > 0.05, `bar ${bar}`);
    let below = scheduler.stats().belowThreshold;
    scheduler.offer({ session: 'late' }, [{ key: 'session-weak', probability: 0.05 }]);
    assert.equal(scheduler.stats().belowThreshold, below, 'a session candidate faces no bar');
    below = scheduler.stats().belowThreshold;
    // The boastful source's record (precision 0) scales its anonymous candidate to 1/8 of 0.6, under the bar ...
    scheduler.offer({}, [{ key: 'anon-boastful', probability: 0.6, source: 'boastful' }]);
    assert.equal(scheduler.stats().belowThreshold, below + 1, 'the anonymous candidate is scaled by its record and refused');
    // ... while a session candidate of the same source keeps its probability.
    scheduler.offer({ session: 'late2' }, [{ key: 'session-boastful', probability: 0.6, source: 'boastful' }]);
    assert.equal(scheduler.stats().belowThreshold, below + 1);
    target.settleAll();
  });

  test('holds anonymous reads\' candidates to anonymousMinProbability, and session reads to their threshold alone', () => {
    const { target, scheduler } = make({ minProbability: 0.02, maxConcurrent: 1000 });
    scheduler.offer({}, [{ key: 'anon-weak', probability: 0.03 }, { key: 'anon-ok', probability: 0.05 }]);
    scheduler.offer({ session: 's' }, [{ key: 'session-weak', probability: 0.03 }]);
    assert.deepEqual(target.keys().sort(), ['anon-ok', 'session-weak']);
    const open = make({ minProbability: 0.02, maxConcurrent: 1000, anonymousMinProbability: 0 });
    open.scheduler.offer({}, [{ key: 'anon-weak', probability: 0.03 }]);
    assert.deepEqual(open.target.keys(), ['anon-weak'], 'a floor of 0 leaves the source threshold alone');
    assert.throws(() => make({ anonymousMinProbability: 1.5 }), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION');
  });

  test('rejects a rationTokens or rankBySourceRecord that is neither a boolean nor anonymous', () => {
    for (const bad of [{ rationTokens: 1 }, { rankBySourceRecord: 'yes' }, { rationTokens: 'sessions' }]) {
      assert.throws(() => make(bad as never), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });
});

describe('Feedback', () => {
  test('makes no event for a type nobody listens to, and counts it all the same', () => {
    const events: string[] = [];
    const feedback = new Feedback({ onEvent: (e) => events.push(e.type), isListened: (type) => type === 'prefetch:used' });
    feedback.issued('a', 0.9, 'markov');
    feedback.used('a', 'markov');
    feedback.wasted('b', 10, 'markov');
    assert.deepEqual(events, ['prefetch:used']);
    assert.equal(feedback.stats().issued, 1);
  });

  test('computes precision, coverage, waste and per-source accuracy', () => {
    const events: string[] = [];
    const feedback = new Feedback({ onEvent: (e) => events.push(e.type) });
    feedback.issued('a', 0.9, 'markov');
    feedback.issued('b', 0.5, 'markov');
    feedback.issued('c', 0.4, 'popularity');
    feedback.used('a', 'markov');
    feedback.wasted('b', 100, 'markov');
    feedback.demandMiss();
    feedback.demandMiss();
    feedback.demandMiss();
    const s = feedback.stats();
    assert.equal(s.precision, 1 / 3);
    assert.equal(s.coverage, 1 / 4);
    assert.equal(s.wastedBytes, 100);
    assert.deepEqual(s.bySource.markov, { issued: 2, used: 1, precision: 0.5 });
    assert.deepEqual(s.bySource.popularity, { issued: 1, used: 0, precision: 0 });
    assert.deepEqual(events, ['prefetch:issued', 'prefetch:issued', 'prefetch:issued', 'prefetch:used', 'prefetch:wasted']);
  });
});
