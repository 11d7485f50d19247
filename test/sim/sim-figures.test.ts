import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';
import type { Predictor } from '../../src/predict/predictor.ts';
import { replayEngine } from '../../src/sim/engine-replay.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';
import { summarizeLatency } from '../../src/sim/sim-result.ts';
import { simulate } from '../../src/sim/simulator.ts';
import type { Workload } from '../../src/sim/workload.ts';

/** A workload of `keys` in order, one request every 25 ms; `sessions[i]`/`users[i]` index the names, -1 for none. */
function workload(keys: readonly string[], sessionIds: readonly number[] = [], userIds: readonly number[] = [], names = { sessions: [] as string[], users: [] as string[] }): Workload {
  const distinct = [...new Set(keys)];
  return {
    trace: 'hand-made',
    requests: keys.length,
    keys: distinct,
    sessions: names.sessions,
    users: names.users,
    keyIds: Int32Array.from(keys, (k) => distinct.indexOf(k)),
    sessionIds: Int32Array.from(keys, (_, i) => sessionIds[i] ?? -1),
    userIds: Int32Array.from(keys, (_, i) => userIds[i] ?? -1),
    arrivalMs: Float64Array.from(keys, (_, i) => i * 25),
    timing: 'hand-made',
    timingKind: 'sequential',
  };
}

test('latency percentiles are nearest-rank: p99 of 1..100 is 99, p50 of [0, 20] is 0', () => {
  const hundred = summarizeLatency(Float64Array.from({ length: 100 }, (_, i) => i + 1));
  assert.deepEqual([hundred.p50, hundred.p95, hundred.p99], [50, 95, 99]);
  assert.equal(summarizeLatency(Float64Array.from([20, 0])).p50, 0);
  const oneSlow = summarizeLatency(Float64Array.from([...new Array(19).fill(0), 100]));
  assert.deepEqual([oneSlow.p95, oneSlow.p99], [0, 100]);
  assert.deepEqual([summarizeLatency(Float64Array.from([7])).p50, summarizeLatency(Float64Array.from([7])).p99], [7, 7]);
});

test('the engine replay hands the models each request\'s own user: a login mid-session, a session id reused by another user', async () => {
  const w = workload(['a', 'b', 'c', 'd', 'e'], [0, 0, 0, 1, 1], [-1, 0, 0, 0, 1], { sessions: ['s1', 's2'], users: ['u1', 'u2'] });
  const seen: Array<string | undefined> = [];
  const spy: Predictor = { name: 'spy', observe: (a) => void seen.push(a.ctx.user), predict: () => [] };
  await replayEngine(w, { capacity: 10, predictor: spy, latency: () => 20, random: seededRandom(1), concurrency: Infinity, seed: 1 });
  assert.deepEqual(seen, [undefined, 'u1', 'u1', 'u1', 'u2']);
});

test('a capacity far beyond the distinct keys replays the baselines as at the distinct keys (Belady used to fail allocating it)', async () => {
  const keys = ['1', '2', '3', '1', '4', '2', '5', '1'];
  const options = { policies: ['lru', 'belady', 'oracle', 'readahead'] as const, originLatencyMs: 20, seed: 1, predictor: () => new EnsemblePredictor() };
  const [huge] = await simulate(workload(keys), { ...options, capacities: [3e9] });
  const [exact] = await simulate(workload(keys), { ...options, capacities: [5] });
  for (let i = 0; i < huge.results.length; i++) {
    assert.equal(huge.results[i].hitRatio, exact.results[i].hitRatio, huge.results[i].policy);
  }
  assert.equal(huge.capacity, 3e9, 'the run still reports the capacity asked for');
});

test('under an origin concurrency limit, read-ahead\'s prefetch list is one round trip, as the engine\'s getMany batch is', async () => {
  const keys = ['1', '2', '3', '4', '5'];
  const [run] = await simulate(workload(keys), { policies: ['readahead'], capacities: [10], originLatencyMs: 20, originConcurrency: 1, readaheadCount: 4, seed: 1, predictor: () => new EnsemblePredictor() });
  const result = run.results[0];
  // t=0: '1' misses (demand, done at 20); '2'-'5' wait for the slot, then come in one trip (20-40). '2' (t=25) joins
  // it; '3', '4', '5' (t=50, 75, 100) hit. One key per trip, they would have come at 40, 60, 80, 100: one hit.
  assert.equal(result.hitRatio, 3 / 5);
  assert.equal(result.inflightRatio, 1 / 5);
});

test('the engine replay awaits a promise its progress callback returns (so a Ctrl-C is heard mid-run), with the same results', async () => {
  const keys = Array.from({ length: 40_000 }, (_, i) => `k${(i * 7919) % 500}`);
  const w = workload(keys);
  const options = { capacity: 50, predictor: new EnsemblePredictor(), latency: () => 20, random: seededRandom(1), concurrency: Infinity, seed: 1 };
  let turns = 0;
  const ticker = setInterval(() => turns++, 0); // counts event-loop turns taken while the replay runs
  const yielding = await replayEngine(w, { ...options, onProgress: () => new Promise<void>((resolve) => setTimeout(resolve, 1)) });
  clearInterval(ticker);
  assert.ok(turns > 0, 'the event loop turned during the replay');
  const plain = await replayEngine(w, { ...options, predictor: new EnsemblePredictor(), random: seededRandom(1) });
  assert.deepEqual({ ...yielding, latencies: [...yielding.latencies] }, { ...plain, latencies: [...plain.latencies] }, 'the turns change no result');
});
