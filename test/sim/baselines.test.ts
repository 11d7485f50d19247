import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createBeladyPolicy } from '../../src/sim/belady-policy.ts';
import { buildFuture, futureFromIds, noNext } from '../../src/sim/future.ts';
import { createLruPolicy } from '../../src/sim/lru-policy.ts';
import { createNonePolicy } from '../../src/sim/none-policy.ts';
import { createOraclePolicy } from '../../src/sim/oracle-policy.ts';
import type { SimPolicy } from '../../src/sim/policy.ts';
import { createReadaheadPolicy } from '../../src/sim/readahead-policy.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

type Req = { key: string; session?: string };

/** Replays requests, admitting every prefetch before the next request; returns the decisions and fetch count. */
function replay(policy: SimPolicy, requests: readonly Req[]): { decisions: string[]; hits: number; fetches: number } {
  const decisions: string[] = [];
  let fetches = 0;
  requests.forEach((request, index) => {
    const { decision, prefetch } = policy.access({ ...request, index });
    decisions.push(decision);
    if (decision === 'miss') fetches++;
    for (const key of prefetch) {
      fetches++;
      policy.prefetched(key);
    }
  });
  return { decisions, hits: decisions.filter((d) => d === 'hit').length, fetches };
}

const keysOf = (text: string): Req[] => text.split(',').map((key) => ({ key }));

describe('future', () => {
  test('records each request\'s next use of its key and its session\'s next key', () => {
    const future = buildFuture([
      { key: 'a', session: 's' },
      { key: 'b', session: 't' },
      { key: 'a', session: 't' },
      { key: 'c', session: 's' },
      { key: 'd' },
      { key: 'a' },
    ]);
    assert.deepEqual([...future.nextUse], [2, noNext, 5, noNext, noNext, noNext]);
    const next = [...future.nextInSession].map((id) => (id === noNext ? null : future.keys[id]));
    assert.deepEqual(next, ['c', 'a', null, null, 'a', null], 'sessionless requests point at the next request of the stream');
  });


  test('futureFromIds gives the same future as buildFuture from interned ids', () => {
    const random = seededRandom(5);
    const requests: Req[] = Array.from({ length: 500 }, () => {
      const r = random();
      return r < 0.2 ? { key: `k${Math.floor(random() * 20)}` } : { key: `k${Math.floor(random() * 20)}`, session: `s${Math.floor(r * 30)}` };
    });
    const expected = buildFuture(requests);
    const sessions = new Map<string, number>();
    const sessionIds = Int32Array.from(requests, (r) => {
      if (r.session === undefined) return -1;
      if (!sessions.has(r.session)) sessions.set(r.session, sessions.size);
      return sessions.get(r.session) as number;
    });
    const actual = futureFromIds(expected.keys, expected.keyIds, sessionIds);
    assert.deepEqual(actual.nextUse, expected.nextUse);
    assert.deepEqual(actual.nextInSession, expected.nextInSession);
  });
});

describe('none', () => {
  test('misses every request and holds nothing', () => {
    const result = replay(createNonePolicy(), keysOf('a,a,a'));
    assert.deepEqual(result.decisions, ['miss', 'miss', 'miss']);
  });
});

describe('lru', () => {
  test('decides every request exactly as a hand-written LRU does', () => {
    const random = seededRandom(42);
    const requests: Req[] = Array.from({ length: 5000 }, () => ({ key: `k${Math.floor(random() ** 2 * 200)}` }));
    const capacity = 37;
    const exact = new Map<string, true>();
    const expected = requests.map(({ key }) => {
      if (exact.has(key)) {
        exact.delete(key);
        exact.set(key, true);
        return 'hit';
      }
      exact.set(key, true);
      if (exact.size > capacity) exact.delete(exact.keys().next().value as string);
      return 'miss';
    });
    const policy = createLruPolicy({ capacity });
    assert.deepEqual(replay(policy, requests).decisions, expected);
    assert.equal(policy.peakEntries(), capacity);
  });

  test('rejects a capacity that is not a positive integer', () => {
    assert.throws(() => createLruPolicy({ capacity: 0 }), { code: 'ERR_INVALID_OPTION' });
  });
});

describe('belady', () => {
  const textbook = keysOf('7,0,1,2,0,3,0,4,2,3,0,3,2');

  test('without bypass, 3 frames give the textbook 6 hits', () => {
    const policy = createBeladyPolicy({ capacity: 3, future: buildFuture(textbook), bypass: false });
    const result = replay(policy, textbook);
    assert.equal(result.hits, 6);
    assert.deepEqual(result.decisions.map((d, i) => (d === 'hit' ? i + 1 : 0)).filter(Boolean), [5, 7, 9, 10, 12, 13]);
  });

  test('with bypass, keys never used again are not admitted, so only the 6 first uses miss (7 hits)', () => {
    // 7, 1 and 4 are never asked for again: bypassing them keeps 0, 2 and 3 cached until the end.
    const policy = createBeladyPolicy({ capacity: 3, future: buildFuture(textbook) });
    const result = replay(policy, textbook);
    assert.equal(result.hits, 7);
    assert.deepEqual(result.decisions.map((d, i) => (d === 'hit' ? i + 1 : 0)).filter(Boolean), [5, 7, 9, 10, 11, 12, 13]);
  });

  test('bypasses a missed key whose next use is farther than every cached key\'s', () => {
    const requests = keysOf('a,b,a,b');
    assert.equal(replay(createBeladyPolicy({ capacity: 1, future: buildFuture(requests) }), requests).hits, 1);
    assert.equal(replay(createBeladyPolicy({ capacity: 1, future: buildFuture(requests), bypass: false }), requests).hits, 0);
  });

  test('never does worse than LRU on a skewed random trace', () => {
    const random = seededRandom(7);
    const requests: Req[] = Array.from({ length: 20000 }, () => ({ key: String(Math.floor(random() ** 3 * 500)) }));
    const future = buildFuture(requests);
    for (const capacity of [1, 10, 50]) {
      const belady = replay(createBeladyPolicy({ capacity, future }), requests).hits;
      const lru = replay(createLruPolicy({ capacity }), requests).hits;
      assert.ok(belady >= lru, `capacity ${capacity}: belady ${belady} < lru ${lru}`);
    }
  });

  test('refuses requests that are not the ones its future was built from', () => {
    const policy = createBeladyPolicy({ capacity: 2, future: buildFuture(keysOf('a,b')) });
    assert.throws(() => policy.access({ key: 'b', index: 0 }), { code: 'ERR_INVALID_OPTION' });
  });
});

describe('oracle', () => {
  test('hits every request of a session after its first on a periodic interleaved trace', () => {
    const requests: Req[] = [];
    for (let step = 0; step < 4; step++) {
      for (const session of ['s1', 's2', 's3']) requests.push({ key: `${session}-page${step}`, session });
    }
    const result = replay(createOraclePolicy({ capacity: 6, future: buildFuture(requests) }), requests);
    assert.deepEqual(result.decisions, requests.map((_, i) => (i < 3 ? 'miss' : 'hit')));
    assert.equal(result.fetches, 3 + 9, 'three demand misses and one prefetch per request with a successor');
  });

  test('promotes a next key it already holds instead of fetching it', () => {
    const requests: Req[] = [{ key: 'a', session: 's' }, { key: 'a', session: 's' }];
    const policy = createOraclePolicy({ capacity: 2, future: buildFuture(requests) });
    assert.deepEqual(policy.access({ ...requests[0], index: 0 }).prefetch, []);
  });
});

describe('readahead', () => {
  test('after a miss on numeric key k, prefetches k+1..k+n that are not held', () => {
    const policy = createReadaheadPolicy({ capacity: 100, readaheadCount: 4 });
    assert.deepEqual(policy.access({ key: '10', index: 0 }).prefetch, ['11', '12', '13', '14']);
    policy.prefetched('22');
    assert.deepEqual(policy.access({ key: '20', index: 1 }).prefetch, ['21', '23', '24']);
  });

  test('prefetched keys then hit, hits prefetch nothing and non-numeric keys never prefetch', () => {
    const policy = createReadaheadPolicy({ capacity: 100 });
    const result = replay(policy, keysOf('1,2,3,4,5,x,y'));
    assert.deepEqual(result.decisions, ['miss', 'hit', 'hit', 'hit', 'hit', 'miss', 'miss']);
    assert.equal(result.fetches, 1 + 4 + 2, 'one readahead of 4 after the only numeric miss');
    assert.deepEqual(policy.access({ key: 'z', index: 7 }).prefetch, []);
  });
});
