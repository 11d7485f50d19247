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
    const got = [...requests];
    assert.deepEqual(got.map((r) => [r.key, r.user, r.time]), [
      ['a', undefined, undefined],
      ['b', 'u', undefined],
      ['c', undefined, 5],
    ]);
    assert.equal(got[1].session, 's');
    assert.equal(new Set(got.map((r) => r.session)).size, 3, 'each request without a session is a session of its own');
    assert.deepEqual([...requests].map((r) => r.session), got.map((r) => r.session), 'under the same name on every pass');
    assert.equal(requests.anonymous, 2);
    assert.equal(requests.timed, 1);
  });

  test('a request without a session never shares a name with a real session, whatever the real names hold', () => {
    const requests = new CompactRequests('test');
    // Names an anonymous request was or could be given: `#0`, NUL-prefixed ones, bare digits.
    const real = ['#0', '#1', '0', '\0', '\x000', '\x00\x001', '\x00\x00\x000'];
    for (const session of real) requests.push(`k-${session}`, session, undefined, undefined);
    for (let i = 0; i < 3; i++) requests.push(`anon-${i}`, undefined, undefined, undefined);
    const sessions = [...requests].map((r) => r.session);
    assert.deepEqual(sessions.slice(0, real.length), real);
    const anonymous = sessions.slice(real.length);
    assert.equal(new Set(anonymous).size, 3);
    for (const name of anonymous) assert.ok(!real.includes(name), `anonymous name ${JSON.stringify(name)} is a real session's`);
  });

  test('evaluate counts a lone request and a real session named #0 as two sessions (anon.tsv)', () => {
    // A review found: the lone request q was merged into session "#0", which then had 3 requests.
    const requests = new CompactRequests('anon.tsv');
    const rows: Array<[string | undefined, string, number]> = [
      ['s1', 'a', 1000], ['s1', 'b', 1001], ['s2', 'a', 1002], ['s2', 'b', 1003], [undefined, 'q', 2000], ['#0', 'a', 2001], ['#0', 'b', 2002],
    ];
    for (const [session, key, time] of rows) requests.push(key, session, undefined, time);
    requests.sortByTime();
    const result = evaluatePredictors(requests, { trainUntil: 2000, ks: [1], learnOnline: true, predictors: defaultPredictorSet().slice(0, 1) });
    assert.deepEqual([result.trainSessions, result.testSessions, result.testRequests, result.testPositions], [2, 2, 3, 1]);
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
