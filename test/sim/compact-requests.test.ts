import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CompactRequests } from '../../src/sim/compact-requests.ts';
import { evaluatePredictors, defaultPredictorSet, type EvaluationRequest } from '../../src/sim/evaluate.ts';

describe('CompactRequests', () => {
  test('hands the requests back as pushed, in time order with ties in file order, on every pass', () => {
    const requests = new CompactRequests('test');
    const pushed: EvaluationRequest[] = [];
    // 3,000 requests: past the columns' first capacity, so they grow; times repeat to make ties.
    for (let i = 0; i < 3000; i++) {
      const r: EvaluationRequest = { key: `k${i % 37}`, session: `s${i % 101}`, user: i % 3 === 0 ? undefined : `u${i % 7}`, time: (i * 7919) % 500 };
      pushed.push(r);
      requests.push(r.key, r.session, r.user, r.time);
    }
    requests.sortByTime();
    const expected = pushed.map((r, i) => ({ r, i })).sort((a, b) => (a.r.time as number) - (b.r.time as number) || a.i - b.i).map(({ r }) => r);
    assert.deepEqual([...requests], expected);
    assert.deepEqual([...requests], expected, 'a second pass gives the same');
    assert.equal(requests.length, 3000);
    assert.equal(requests.timed, 3000);
  });

  test('without times it keeps file order; a request without a session is its own', () => {
    const requests = new CompactRequests('test');
    requests.push('a', undefined, undefined, undefined);
    requests.push('b', 's', 'u', undefined);
    requests.push('c', undefined, undefined, 5);
    requests.sortByTime();
    assert.deepEqual([...requests], [
      { key: 'a', session: '#0', user: undefined, time: undefined },
      { key: 'b', session: 's', user: 'u', time: undefined },
      { key: 'c', session: '#1', user: undefined, time: 5 },
    ]);
    assert.equal(requests.anonymous, 2);
    assert.equal(requests.timed, 1);
  });

  test('evaluatePredictors gives the same accuracy over it as over the objects', () => {
    const objects: EvaluationRequest[] = [];
    const requests = new CompactRequests('test');
    for (let s = 0; s < 200; s++) {
      for (let j = 0; j < 6; j++) {
        const r = { key: `p${(s % 5) + j}`, session: `s${s}`, time: s * 10 + j };
        objects.push(r);
        requests.push(r.key, r.session, undefined, r.time);
      }
    }
    requests.sortByTime();
    const options = { ks: [1, 5], predictors: defaultPredictorSet().slice(0, 2), learnOnline: true };
    assert.deepEqual(evaluatePredictors(requests, options), evaluatePredictors(objects, options));
  });
});
