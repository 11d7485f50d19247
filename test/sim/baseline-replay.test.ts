import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyIds, replayBaseline } from '../../src/sim/baseline-replay.ts';
import { createReadaheadPolicy } from '../../src/sim/readahead-policy.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';
import type { Workload } from '../../src/sim/workload.ts';

/** A sequential workload over `keys` (one request every `gapMs`). */
function workloadOf(requests: readonly string[], gapMs: number): Workload {
  const keys = [...new Set(requests)];
  const n = requests.length;
  return {
    trace: 'test',
    requests: n,
    keys,
    sessions: [],
    users: [],
    keyIds: Int32Array.from(requests, (k) => keys.indexOf(k)),
    sessionIds: new Int32Array(n).fill(-1),
    userIds: new Int32Array(n).fill(-1),
    arrivalMs: Float64Array.from(requests, (_k, i) => i * gapMs),
    timing: 'test',
    timingKind: 'sequential',
  };
}

describe('KeyIds', () => {
  test('gives a workload key its own id and a key outside the workload one stable id past them', () => {
    const workload = workloadOf(['10', '20', '30'], 25);
    const ids = new KeyIds(workload);
    assert.equal(ids.of('20'), 1);
    assert.equal(ids.of('99'), 3);
    assert.equal(ids.of('98'), 4);
    assert.equal(ids.of('99'), 3);
    assert.equal(new KeyIds(workload).of('98'), 3, 'ids past the workload are per run');
  });
});

describe('replayBaseline', () => {
  test('counts readahead prefetches of keys outside the workload, their use, and reads joining a fetch in flight', () => {
    // 1 misses and prefetches 2 and 3; 2 arrives 5 ms later while its prefetch is in flight (20 ms) and joins it
    // (readahead, which saw a miss, asks for 3 and 4: 3 is in flight, 4 is outside the workload and is fetched); 3
    // is read after its prefetch landed: a hit on a used prefetch.
    const workload = workloadOf(['1', '2', '3'], 5);
    workload.arrivalMs[2] = 100;
    const counts = replayBaseline(workload, createReadaheadPolicy({ capacity: 10, readaheadCount: 2 }), {
      latency: () => 20,
      random: seededRandom(1),
      concurrency: Infinity,
    });
    assert.equal(counts.demandFetches, 1);
    assert.equal(counts.prefetchFetches, 3);
    assert.equal(counts.inflight, 1);
    assert.equal(counts.hits, 1);
    assert.equal(counts.prefetchUsed, 2);
    assert.deepEqual([...counts.latencies], [20, 15, 0]);
  });
});

describe('replayBaseline: the origin model is SimOrigin\'s', () => {
  test('round trips finishing at the same instant complete in the order they started', () => {
    // Read-ahead, one entry, 15 ms round trips: a miss and its prefetch list start together and finish together, so
    // which lands first decides what the one entry holds (the engine's SimOrigin fires same-instant timers in order).
    const reqs = '2 2 0 0 2 0 2 0 0 2 1 1 0'.split(' ');
    const at = [0, 5, 15, 20, 30, 30, 30, 30, 35, 40, 50, 60, 60];
    const base = workloadOf(reqs, 0);
    const workload = { ...base, arrivalMs: Float64Array.from(at) };
    const counts = replayBaseline(workload, createReadaheadPolicy({ capacity: 1, readaheadCount: 3 }), { latency: () => 15, random: seededRandom(1), concurrency: Infinity });
    // Worked by hand (and by an independent FIFO replay): request 10 (key 1) finds the prefetched 1 still held.
    assert.deepEqual({ hits: counts.hits, inflight: counts.inflight, prefetchUsed: counts.prefetchUsed }, { hits: 2, inflight: 6, prefetchUsed: 1 });
  });

  test('a read that joins a prefetch still queued at the origin waits where the prefetch waits, as in the engine', () => {
    // Concurrency 1, 10 ms: prefetches x, y, z queue behind each other; the read of z joins z's queued round trip.
    const workload = workloadOf(['h0', 'h1', 'h2', 'z'], 0);
    const lists = [['x'], ['y'], ['z'], []];
    const policy = {
      name: 'scripted',
      access: (r: { index: number }) => ({ decision: r.index < 3 ? ('hit' as const) : ('miss' as const), prefetch: lists[r.index] }),
      prefetched: () => true,
      peakEntries: () => 0,
    };
    const counts = replayBaseline(workload, policy, { latency: () => 10, random: seededRandom(1), concurrency: 1 });
    assert.equal(counts.latencies[3], 30, 'z is third in the prefetch queue: 30 ms, not moved ahead of y (20 ms)');
  });
});
