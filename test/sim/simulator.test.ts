import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PrescientError } from '../../src/errors.ts';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';
import { simulateInParallel } from '../../src/sim/parallel-simulate.ts';
import { lognormalLatency, seededRandom } from '../../src/sim/seeded-random.ts';
import type { PolicyName, PolicyResult } from '../../src/sim/sim-result.ts';
import { resolveCapacity, simulate, type SimulationOptions, type SimulationRun } from '../../src/sim/simulator.ts';
import type { Workload } from '../../src/sim/workload.ts';

type Req = { readonly key: string; readonly session?: string };

/** A Workload built by hand: requests in the given order, arriving every `interarrivalMs` (or at `arrivalMs`). */
function workloadOf(requests: readonly Req[], timing: { interarrivalMs?: number; arrivalMs?: readonly number[] } = {}): Workload {
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  const sessions: string[] = [];
  const sessionIndex = new Map<string, number>();
  const intern = (name: string, names: string[], index: Map<string, number>): number => {
    let id = index.get(name);
    if (id === undefined) {
      id = names.length;
      index.set(name, id);
      names.push(name);
    }
    return id;
  };
  const n = requests.length;
  const gap = timing.interarrivalMs ?? 25;
  return {
    trace: 'hand-made',
    requests: n,
    keys,
    sessions,
    users: [],
    keyIds: Int32Array.from(requests, (r) => intern(r.key, keys, keyIndex)),
    sessionIds: Int32Array.from(requests, (r) => (r.session === undefined ? -1 : intern(r.session, sessions, sessionIndex))),
    userIds: new Int32Array(n).fill(-1),
    arrivalMs: Float64Array.from(timing.arrivalMs ?? requests.map((_, i) => i * gap)),
    timing: 'hand-made',
    timingKind: timing.arrivalMs === undefined ? 'sequential' : 'timestamps',
  };
}

const keysOf = (list: readonly string[]): Req[] => list.map((key) => ({ key }));

function options(policies: readonly PolicyName[], capacities: readonly number[], extra: Partial<SimulationOptions> = {}): SimulationOptions {
  return { policies, capacities, originLatencyMs: 20, predictor: () => new EnsemblePredictor(), seed: 1, ...extra };
}

function resultOf(runs: readonly SimulationRun[], policy: PolicyName, capacity?: number): PolicyResult {
  const run = capacity === undefined ? runs[0] : runs.find((r) => r.capacity === capacity);
  const result = run?.results.find((r) => r.policy === policy);
  assert.ok(result !== undefined, `no result for ${policy}`);
  return result;
}

/** Exact LRU hit count, written out plainly: a list ordered from least to most recent. */
function referenceLruHits(keys: readonly string[], capacity: number): number {
  const held: string[] = [];
  let hits = 0;
  for (const key of keys) {
    const at = held.indexOf(key);
    if (at >= 0) {
      hits++;
      held.splice(at, 1);
    } else if (held.length === capacity) {
      held.shift();
    }
    held.push(key);
  }
  return hits;
}

/** Drops the wall-clock fields, which differ run to run. */
function withoutTiming(runs: readonly SimulationRun[]): unknown {
  return runs.map((run) => ({
    capacity: run.capacity,
    results: run.results.map(({ seconds: _s, requestsPerSecond: _r, ...rest }) => rest),
  }));
}

describe('simulate', () => {
  test('the lru policy scores exactly the hits of a hand-written LRU', async () => {
    const random = seededRandom(42);
    const keys = Array.from({ length: 2000 }, () => `k${Math.floor(random() * 50)}`);
    const expected = referenceLruHits(keys, 10);
    assert.ok(expected > 0 && expected < 2000, 'the sequence exercises both hits and misses');
    const runs = await simulate(workloadOf(keysOf(keys)), options(['lru'], [10]));
    const lru = resultOf(runs, 'lru');
    assert.equal(lru.hits, expected);
    assert.equal(lru.inflight, 0, 'each fetch (20 ms) completes before the next request (25 ms)');
    assert.equal(lru.demandFetches, 2000 - expected);
    assert.equal(lru.requests, 2000);
    assert.equal(lru.hitRatio, expected / 2000);
  });

  test('belady with bypass scores the optimum of 7 hits on the textbook sequence at capacity 3', async () => {
    // 7,0,1,2,0,3,0,4,2,3,0,3,2 at capacity 3: 7 and 4 are never used again, so bypass keeps them out; then
    // {0,1,2} serves 0; 3 evicts 1 (never used again) and {0,2,3} serves every later request but 4: hits on
    // 0, 0, 2, 3, 0, 3, 2.
    const keys = '7,0,1,2,0,3,0,4,2,3,0,3,2'.split(',');
    const runs = await simulate(workloadOf(keysOf(keys)), options(['belady', 'lru'], [3]));
    assert.equal(resultOf(runs, 'belady').hits, 7);
    assert.equal(resultOf(runs, 'lru').hits, referenceLruHits(keys, 3));
    assert.ok(resultOf(runs, 'belady').hits >= resultOf(runs, 'lru').hits);
  });

  test('oracle hits every request after the first of each session when fetches finish between requests', async () => {
    // 20 sessions, each reading its own a, b, c, d: no key repeats, so a demand cache never hits; the oracle
    // prefetches each session's next key, which lands 20 ms later, before the next request at 25 ms.
    const requests: Req[] = [];
    for (let s = 0; s < 20; s++) for (const k of ['a', 'b', 'c', 'd']) requests.push({ key: `s${s}-${k}`, session: `s${s}` });
    const runs = await simulate(workloadOf(requests), options(['oracle', 'lru'], [8]));
    const oracle = resultOf(runs, 'oracle');
    assert.equal(oracle.hits, 60);
    assert.equal(oracle.inflight, 0);
    assert.equal(oracle.prefetch.issued, 60);
    assert.equal(oracle.prefetch.used, 60);
    assert.equal(oracle.prefetch.precision, 1);
    assert.equal(oracle.demandFetches, 20, 'only the first request of each session goes to the origin on demand');
    assert.equal(resultOf(runs, 'lru').hits, 0);
  });

  test('oracle requests that arrive before their prefetch lands wait in flight instead of hitting', async () => {
    const requests: Req[] = [];
    for (let s = 0; s < 5; s++) for (const k of ['a', 'b', 'c', 'd']) requests.push({ key: `s${s}-${k}`, session: `s${s}` });
    const runs = await simulate(workloadOf(requests, { interarrivalMs: 1 }), options(['oracle'], [8]));
    const oracle = resultOf(runs, 'oracle');
    assert.equal(oracle.hits, 0);
    assert.equal(oracle.inflight, 15);
    assert.equal(oracle.prefetch.used, 15);
  });

  test('prescient learns a repeating cycle longer than its capacity, where LRU gets no hit', async () => {
    const cycle = Array.from({ length: 40 }, (_, i) => `c${i}`);
    const keys: string[] = [];
    for (let round = 0; round < 50; round++) keys.push(...cycle);
    const runs = await simulate(workloadOf(keysOf(keys), { interarrivalMs: 25 }), options(['lru', 'prescient'], [20]));
    const lru = resultOf(runs, 'lru');
    const prescient = resultOf(runs, 'prescient');
    assert.equal(lru.hits, 0, 'LRU always evicts the key needed next on a cycle longer than its capacity');
    assert.ok(
      prescient.hitRatio > lru.hitRatio + 0.3,
      `prescient hit ratio ${prescient.hitRatio.toFixed(3)} should beat lru ${lru.hitRatio.toFixed(3)} by more than 0.3`,
    );
    assert.ok(prescient.prefetch.issued > 0);
  });

  test('a repeated request for a missing key that is still being fetched counts as in flight, not as a hit', async () => {
    // x at 0 ms misses and its fetch takes 20 ms; x at 1..4 ms join that fetch; x at 30 ms hits.
    const keys = ['x', 'x', 'x', 'x', 'x', 'x'];
    const w = workloadOf(keysOf(keys), { arrivalMs: [0, 1, 2, 3, 4, 30] });
    const runs = await simulate(w, options(['lru', 'tinylfu', 'none'], [4]));
    for (const policy of ['lru', 'tinylfu'] as const) {
      const r = resultOf(runs, policy);
      assert.equal(r.hits, 1, `${policy} hits`);
      assert.equal(r.inflight, 4, `${policy} in flight`);
      assert.equal(r.demandFetches, 1, `${policy} fetches once`);
      assert.equal(r.inflightRatio, 4 / 6);
      // Latencies: 20 for the miss, 19..16 for the joiners, 0 for the hit.
      assert.equal(r.meanLatencyMs, (20 + 19 + 18 + 17 + 16 + 0) / 6, `${policy} mean latency`);
    }
    const none = resultOf(runs, 'none');
    assert.equal(none.hits, 0);
    assert.equal(none.inflight, 4);
    assert.equal(none.demandFetches, 2);
  });

  test('runs every policy at every capacity, in the order given', async () => {
    const random = seededRandom(3);
    const keys = Array.from({ length: 300 }, () => `k${Math.floor(random() * 30)}`);
    const policies: PolicyName[] = ['none', 'lru', 'tinylfu', 'readahead', 'belady', 'prescient', 'oracle'];
    const runs = await simulate(workloadOf(keysOf(keys)), options(policies, [5, 10]));
    assert.deepEqual(runs.map((r) => r.capacity), [5, 10]);
    for (const run of runs) {
      assert.deepEqual(run.results.map((r) => r.policy), policies);
      for (const r of run.results) {
        assert.equal(r.capacity, run.capacity);
        assert.ok(r.hitRatio >= 0 && r.hitRatio <= 1);
        assert.ok(r.peakEntries <= run.capacity, `${r.policy} holds at most its capacity`);
      }
      const belady = resultOf(runs, 'belady', run.capacity);
      for (const demandOnly of ['lru', 'tinylfu'] as const) {
        assert.ok(belady.hits >= resultOf(runs, demandOnly, run.capacity).hits, `belady is at least ${demandOnly}`);
      }
      assert.equal(resultOf(runs, 'none', run.capacity).hits, 0);
    }
  });

  test('two runs with the same seed give identical results, latency draws included', async () => {
    const random = seededRandom(9);
    const requests: Req[] = Array.from({ length: 600 }, (_, i) => ({ key: `k${Math.floor(random() * 40)}`, session: `s${i % 7}` }));
    const policies: PolicyName[] = ['lru', 'tinylfu', 'readahead', 'belady', 'prescient', 'oracle'];
    const opts = options(policies, [8, 16], { originLatencyMs: lognormalLatency(20, 0.5), seed: 7 });
    const first = await simulate(workloadOf(requests, { interarrivalMs: 10 }), opts);
    const second = await simulate(workloadOf(requests, { interarrivalMs: 10 }), opts);
    assert.deepEqual(withoutTiming(second), withoutTiming(first));
  });
});

describe('resolveCapacity', () => {
  test('a percentage is that share of the distinct keys, at least one entry', () => {
    assert.equal(resolveCapacity('1%', 1000), 10);
    assert.equal(resolveCapacity('5%', 1000), 50);
    assert.equal(resolveCapacity('0.5%', 1000), 5);
    assert.equal(resolveCapacity('1%', 10), 1);
  });

  test('a plain number is entries, whatever the key count', () => {
    assert.equal(resolveCapacity('250', 10), 250);
    assert.equal(resolveCapacity('250', 1_000_000), 250);
    assert.equal(resolveCapacity(' 250 ', 1000), 250);
  });

  test('anything else throws ERR_INVALID_OPTION', () => {
    for (const spec of ['0', '0%', '-5', 'abc', '', '1.5', '5 %', '%', '10x', '9007199254740992', '9007199254740993', `1${'0'.repeat(30)}%`]) {
      assert.throws(() => resolveCapacity(spec, 1000), { code: 'ERR_INVALID_OPTION', message: /`capacity`/ }, JSON.stringify(spec));
    }
    assert.equal(resolveCapacity('9007199254740991', 1000), Number.MAX_SAFE_INTEGER);
  });
});

describe('simulateInParallel', () => {
  test('worker threads give the results of a sequential replay, in the same order, and report progress', async () => {
    const random = seededRandom(11);
    const requests: Req[] = Array.from({ length: 800 }, (_, i) => ({ key: `k${Math.floor(random() * 50)}`, session: `s${i % 9}` }));
    const policies: PolicyName[] = ['none', 'lru', 'tinylfu', 'readahead', 'belady', 'prescient', 'oracle'];
    const workload = workloadOf(requests, { interarrivalMs: 10 });
    const sequential = await simulate(workload, options(policies, [6, 12], { originLatencyMs: lognormalLatency(20, 0.5), seed: 5 }));
    const progress: number[] = [];
    const parallel = await simulateInParallel(workload, {
      policies,
      capacities: [6, 12],
      originLatency: 'lognormal:20:0.5',
      seed: 5,
      jobs: 3,
      onProgress: (done, total) => {
        assert.equal(total, 800 * 14);
        progress.push(done);
      },
    });
    assert.deepEqual(withoutTiming(parallel), withoutTiming(sequential));
    assert.equal(progress.at(-1), 800 * 14);
    assert.ok(progress.every((d, i) => i === 0 || d >= progress[i - 1]), 'progress never goes back');
  });

  test('bad jobs or latency are ERR_INVALID_OPTION naming the option', async () => {
    const workload = workloadOf(keysOf(['a', 'b']));
    for (const [bad, name] of [[{ jobs: 0 }, 'jobs'], [{ originLatency: 'slow' }, 'originLatency']] as const) {
      await assert.rejects(
        simulateInParallel(workload, { policies: ['lru'], capacities: [1], originLatency: 20, jobs: 1, ...bad }),
        (e: unknown) => e instanceof PrescientError && e.code === 'ERR_INVALID_OPTION' && e.message.includes(name),
      );
    }
  });
});
