import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadContext } from '../../src/context.ts';
import type { Access, Prediction, Predictor } from '../../src/predict/predictor.ts';
import { defaultPredictorSet, evaluatePredictors } from '../../src/sim/evaluate.ts';

/** Always predicts x, y, z in that order and records what it was shown. */
class FixedPredictor implements Predictor {
  readonly name = 'fixed';
  observed: string[] = [];
  asked: string[] = [];
  observe(access: Access): void {
    this.observed.push(`${access.ctx.session}:${access.key}`);
  }
  predict(ctx: ReadContext, limit: number): Prediction[] {
    this.asked.push(ctx.session ?? '');
    return ['x', 'y', 'z'].slice(0, limit).map((key, i) => ({ key, probability: 0.5 - i * 0.1 }));
  }
}

const requests = [
  { session: 's1', key: 'a', time: 1 },
  { session: 's1', key: 'b', time: 2 },
  { session: 's2', key: 'a', time: 3 },
  { session: 's2', key: 'y', time: 4 },
  { session: 's1', key: 'c', time: 5 },
  { session: 's2', key: 'x', time: 6 },
  { session: 's2', key: 'q', time: 7 },
];

describe('evaluatePredictors', () => {
  it('computes Recall@k and MRR@k exactly on a hand example', () => {
    let made: FixedPredictor | undefined;
    const result = evaluatePredictors(requests, {
      trainFraction: 0.5,
      ks: [1, 2, 3],
      learnOnline: true,
      predictors: [{ name: 'fixed', make: () => (made = new FixedPredictor()) }],
    });
    assert.equal(result.trainSessions, 1);
    assert.equal(result.testSessions, 1);
    assert.equal(result.trainRequests, 3);
    assert.equal(result.testRequests, 4);
    assert.equal(result.testPositions, 3);
    const [p] = result.predictors;
    assert.equal(p.recall['1'], 1 / 3);
    assert.equal(p.recall['2'], 2 / 3);
    assert.equal(p.recall['3'], 2 / 3);
    assert.equal(p.mrr['1'], 1 / 3);
    assert.equal(p.mrr['2'], (1 + 1 / 2) / 3);
    assert.deepEqual(made!.asked, ['s2', 's2', 's2']);
    assert.deepEqual(made!.observed, ['s1:a', 's1:b', 's2:a', 's2:y', 's1:c', 's2:x', 's2:q']);
  });

  it('cuts at trainUntil by session start time, and with learnOnline false replays tests after training', () => {
    let made: FixedPredictor | undefined;
    const result = evaluatePredictors(requests, {
      trainUntil: 3,
      ks: [1],
      learnOnline: false,
      predictors: [{ name: 'fixed', make: () => (made = new FixedPredictor()) }],
    });
    assert.equal(result.trainSessions, 1);
    assert.equal(result.testSessions, 1);
    assert.deepEqual(made!.observed, ['s1:a', 's1:b', 's1:c', 's2:a', 's2:y', 's2:x', 's2:q']);
  });

  it('accepts a one-shot iterator', () => {
    function* gen() {
      yield* requests;
    }
    const result = evaluatePredictors(gen(), { trainFraction: 0.5, ks: [2], learnOnline: true, predictors: [{ name: 'fixed', make: () => new FixedPredictor() }] });
    assert.equal(result.predictors[0].recall['2'], 2 / 3);
  });

  it('runs the default predictor set on a small seeded stream', () => {
    let seed = 99;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const rows = [];
    for (let s = 0; s < 200; s++) {
      let k = Math.floor(rand() * 10);
      for (let i = 0; i < 4; i++) {
        rows.push({ session: `s${s}`, key: String(k), time: s * 10 + i });
        k = (k + 1 + Math.floor(rand() * 2)) % 10;
      }
    }
    const result = evaluatePredictors(rows, { trainFraction: 0.8, ks: [1, 5], learnOnline: true, predictors: defaultPredictorSet() });
    assert.deepEqual(result.predictors.map((p) => p.name), ['markov-1', 'markov-2', 'markov-3', 'markov', 'delta', 'popularity', 'session-knn', 'sequential-rules', 'ensemble']);
    const markov1 = result.predictors[0];
    assert.ok(markov1.recall['5'] > 0.9, `markov-1 recall@5 ${markov1.recall['5']}`);
  });

  it('rejects bad ks and contradictory cuts with ERR_INVALID_OPTION', () => {
    const predictors = [{ name: 'fixed', make: () => new FixedPredictor() }];
    for (const bad of [{ ks: [] }, { ks: [0] }, { ks: [1], trainFraction: 1.5 }, { ks: [1], trainFraction: 0.5, trainUntil: 3 }]) {
      assert.throws(() => evaluatePredictors(requests, { learnOnline: true, predictors, ...bad }), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });
});
