import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadContext } from '../../src/context.ts';
import type { Access, Prediction, Predictor } from '../../src/predict/predictor.ts';
import { defaultPredictorSet, evaluatePredictors, EmptyCutError, type EvaluationRequest } from '../../src/sim/evaluate.ts';

/** Predicts what most often followed the session's last key, and records the order of its calls. */
class LastKeyPredictor implements Predictor {
  readonly name = 'last-key';
  readonly calls: string[] = [];
  readonly #last = new Map<string, string>();
  readonly #next = new Map<string, Map<string, number>>();
  observe(access: Access): void {
    const session = access.ctx.session ?? '';
    this.calls.push(`observe ${session}:${access.key}`);
    const last = this.#last.get(session);
    if (last !== undefined) {
      const counts = this.#next.get(last) ?? new Map<string, number>();
      counts.set(access.key, (counts.get(access.key) ?? 0) + 1);
      this.#next.set(last, counts);
    }
    this.#last.set(session, access.key);
  }
  predict(ctx: ReadContext, limit: number): Prediction[] {
    this.calls.push(`predict ${ctx.session ?? ''}`);
    const last = this.#last.get(ctx.session ?? '');
    const counts = last === undefined ? undefined : this.#next.get(last);
    if (counts === undefined) return [];
    return [...counts].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([key, n]) => ({ key, probability: n / 10 }));
  }
}

const one = (made: { p?: LastKeyPredictor }) => [{ name: 'last-key', make: () => (made.p = new LastKeyPredictor()) }];

/** s1 trains x -> y; the test sessions s2 and s3 both read a -> b (a reviewer's repro of --no-online). */
const frozen: EvaluationRequest[] = [
  { session: 's1', key: 'x', time: 1000 },
  { session: 's1', key: 'y', time: 1001 },
  { session: 's2', key: 'a', time: 2000 },
  { session: 's2', key: 'b', time: 2001 },
  { session: 's3', key: 'a', time: 2002 },
  { session: 's3', key: 'b', time: 2003 },
];

describe('evaluatePredictors without learnOnline', () => {
  it('scores each test click after all training and still teaches the models with it (nothing is frozen)', () => {
    const made: { p?: LastKeyPredictor } = {};
    const result = evaluatePredictors(frozen, { trainUntil: 2000, ks: [1], learnOnline: false, predictors: one(made) });
    // s2's a -> b is unknown when s2 is scored; s3's is known only because s2 taught it.
    assert.equal(result.testPositions, 2);
    assert.equal(result.predictors[0].recall['1'], 1 / 2);
    assert.deepEqual(made.p!.calls, ['observe s1:x', 'observe s1:y', 'observe s2:a', 'predict s2', 'observe s2:b', 'observe s3:a', 'predict s3', 'observe s3:b']);
  });

  it('reads the source a third time instead of holding the test requests', () => {
    let passes = 0;
    const source = {
      *[Symbol.iterator]() {
        passes++;
        yield* frozen;
      },
    };
    evaluatePredictors(source, { trainUntil: 2000, ks: [1], learnOnline: false, predictors: one({}) });
    assert.equal(passes, 3, 'session starts, training, test');
    passes = 0;
    evaluatePredictors(source, { trainUntil: 2000, ks: [1], learnOnline: true, predictors: one({}) });
    assert.equal(passes, 2);
  });

  it('gives the same figures over a source that reuses one request object per step', () => {
    // A streaming source may hand out one object and overwrite it: nothing may keep it past its step.
    const reused = {
      *[Symbol.iterator]() {
        const slot = { session: '', key: '', time: 0 };
        for (const q of frozen) {
          Object.assign(slot, q);
          yield slot;
        }
      },
    };
    const options = { trainUntil: 2000, ks: [1, 2], learnOnline: false, predictors: one({}) };
    assert.deepEqual(evaluatePredictors(reused, options), evaluatePredictors(frozen, options));
  });
});

describe('evaluatePredictors refuses a cut that measures nothing', () => {
  const predictors = one({});
  const untimed = frozen.map(({ session, key }) => ({ session, key }));

  it('takes trainFraction strictly between 0 and 1', () => {
    for (const trainFraction of [0, 1, -0.1, Number.NaN]) {
      assert.throws(
        () => evaluatePredictors(frozen, { trainFraction, ks: [1], learnOnline: true, predictors }),
        (e: { code?: string; option?: string }) => e.code === 'ERR_INVALID_OPTION' && e.option === 'trainFraction',
        String(trainFraction),
      );
    }
    assert.equal(evaluatePredictors(frozen, { trainFraction: 0.5, ks: [1], learnOnline: true, predictors }).testSessions, 2);
  });

  it('refuses trainUntil when no request has a time (every session would silently train)', () => {
    assert.throws(
      () => evaluatePredictors(untimed, { trainUntil: 5, ks: [1], learnOnline: true, predictors }),
      (e: { code?: string; option?: string }) => e.code === 'ERR_INVALID_OPTION' && e.option === 'trainUntil',
    );
  });

  it('throws EmptyCutError, before any model is made, when no test session has a second request', () => {
    let made = 0;
    const counting = [{ name: 'last-key', make: () => (made++, new LastKeyPredictor()) }];
    const singles = [...frozen.slice(0, 2), { session: 's2', key: 'a', time: 2000 }, { session: 's3', key: 'a', time: 2001 }];
    for (const cut of [{ trainUntil: 2000 }, { trainUntil: 9999 }, { trainFraction: 0.5 }]) {
      assert.throws(
        () => evaluatePredictors(singles, { ...cut, ks: [1], learnOnline: true, predictors: counting }),
        (e: unknown) => e instanceof EmptyCutError && e.code === 'ERR_INVALID_OPTION',
        JSON.stringify(cut),
      );
    }
    assert.equal(made, 0);
    assert.throws(
      () => evaluatePredictors(singles, { trainUntil: 2000, ks: [1], learnOnline: true, predictors }),
      (e: EmptyCutError) => {
        assert.deepEqual([e.option, e.trainRequests, e.testRequests, e.testSessions], ['trainUntil', 2, 2, 2]);
        return true;
      },
    );
    // A cut before every request leaves nothing to train on: refused before any model is made, too.
    assert.throws(
      () => evaluatePredictors(frozen, { trainUntil: 0, ks: [1], learnOnline: true, predictors: counting }),
      (e: unknown) => e instanceof EmptyCutError && e.trainRequests === 0 && /Nothing to train on/.test(e.message),
    );
    assert.equal(made, 0);
  });
});

describe('defaultPredictorSet(maxK)', () => {
  /** 80 training sessions `a -> n<i>`, so `a` has 80 distinct successors; then a live session that read `a`. */
  function afterA(): { observe: (p: Predictor) => void } {
    return {
      observe: (p) => {
        let at = 0;
        for (let i = 0; i < 80; i++) {
          for (let r = 0; r <= i % 3; r++) {
            p.observe({ key: 'a', at: at++, ctx: { session: `t${i}-${r}` } });
            p.observe({ key: `n${i}`, at: at++, ctx: { session: `t${i}-${r}` } });
          }
        }
        p.observe({ key: 'a', at: at++, ctx: { session: 'live' } });
      },
    };
  }

  it('lengthens each list that an option caps to the largest k asked', () => {
    const lengths = (maxK: number) =>
      Object.fromEntries(
        defaultPredictorSet(maxK)
          .filter((f) => ['markov-1', 'markov', 'sequential-rules', 'ensemble'].includes(f.name))
          .map((f) => {
            const p = f.make();
            afterA().observe(p);
            return [f.name, p.predict({ session: 'live' }, 100).length];
          }),
      );
    assert.deepEqual(lengths(50), { 'markov-1': 50, markov: 50, 'sequential-rules': 50, ensemble: 50 });
    // Never below the defaults (Markov 12, sequential rules 20, ensemble 20): a k of 20 or less changes only Markov.
    assert.deepEqual(lengths(20), { 'markov-1': 20, markov: 20, 'sequential-rules': 20, ensemble: 20 });
    assert.deepEqual(lengths(5), { 'markov-1': 12, markov: 12, 'sequential-rules': 20, ensemble: 20 });
  });

  it('names the lists no option lengthens', () => {
    const caps = Object.fromEntries(defaultPredictorSet(1000).map((f) => [f.name, f.maxListLength]));
    assert.deepEqual(caps, {
      'markov-1': 255,
      'markov-2': 255,
      'markov-3': 255,
      markov: 510,
      delta: 64,
      popularity: 64,
      'session-knn': undefined,
      'sequential-rules': 255,
      ensemble: undefined,
    });
  });

  it('gives Recall@50 above Recall@20 when the true successor ranks between them', () => {
    const rows: EvaluationRequest[] = [];
    let time = 0;
    for (let i = 0; i < 40; i++) for (let r = 0; r <= i; r++) rows.push({ session: `t${i}-${r}`, key: 'a', time: time++ }, { session: `t${i}-${r}`, key: `n${i}`, time: time++ });
    // Test: a followed by the rarest successors, which rank 21st to 40th.
    for (let i = 0; i < 20; i++) rows.push({ session: `q${i}`, key: 'a', time: time++ }, { session: `q${i}`, key: `n${i}`, time: time++ });
    const result = evaluatePredictors(rows, { trainUntil: rows[rows.length - 40].time, ks: [20, 50], learnOnline: false, predictors: defaultPredictorSet(50).filter((f) => f.name === 'markov-1') });
    assert.equal(result.predictors[0].recall['20'], 0);
    assert.equal(result.predictors[0].recall['50'], 1);
  });

  it('refuses a maxK outside 1..1000', () => {
    for (const maxK of [0, 1001, 2.5]) assert.throws(() => defaultPredictorSet(maxK), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', String(maxK));
  });
});
