import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import { SimOrigin } from '../../src/sim/sim-origin.ts';
import { lognormalLatency, seededRandom } from '../../src/sim/seeded-random.ts';

describe('SimOrigin', () => {
  test('answers after the latency on the virtual clock, with version-1 records', async () => {
    const clock = new VirtualClock();
    const origin = new SimOrigin({ clock, latencyMs: 5 });
    let records: unknown;
    void origin.getMany(['a', 'b']).then((r) => (records = r));
    await clock.advanceAsync(4);
    assert.equal(records, undefined);
    await clock.advanceAsync(1);
    assert.deepEqual(records, [{ key: 'a', value: 'a', version: 1 }, { key: 'b', value: 'b', version: 1 }]);
  });

  test('a batch of keys costs one call and one latency', async () => {
    const clock = new VirtualClock();
    const origin = new SimOrigin({ clock, latencyMs: 10, valueFor: (key) => key.length });
    const done = origin.getMany(['x', 'yy', 'zzz'], { purpose: 'prefetch' });
    clock.advance(10);
    const records = await done;
    assert.deepEqual(records.map((r) => r?.value), [1, 2, 3]);
    assert.deepEqual({ ...origin.stats(), inFlight: undefined }, {
      calls: 1, keysFetched: 3, demandKeys: 0, prefetchKeys: 3, inFlight: undefined, queued: 0, peakQueued: 0,
    });
  });

  test('queues calls beyond the concurrency FIFO, demand calls ahead of prefetch calls', async () => {
    const clock = new VirtualClock();
    const origin = new SimOrigin({ clock, latencyMs: 10, concurrency: 1 });
    const finished: string[] = [];
    const track = (name: string, promise: Promise<unknown>): void => {
      void promise.then(() => finished.push(`${name}@${clock.now()}`));
    };
    track('p1', origin.getMany(['p1'], { purpose: 'prefetch' }));
    track('p2', origin.getMany(['p2'], { purpose: 'prefetch' }));
    track('d1', origin.getMany(['d1'], { purpose: 'demand' }));
    track('d2', origin.getMany(['d2']));
    assert.equal(origin.stats().queued, 3);
    await clock.advanceAsync(40);
    assert.deepEqual(finished, ['p1@10', 'd1@20', 'd2@30', 'p2@40']);
    assert.equal(origin.stats().demandKeys, 2);
    assert.equal(origin.stats().peakQueued, 3);
  });

  test('draws each call\'s latency from a seeded sampler, so runs repeat', async () => {
    const run = async (): Promise<number[]> => {
      const clock = new VirtualClock();
      const origin = new SimOrigin({ clock, latencyMs: lognormalLatency(5, 0.5), random: seededRandom(3) });
      const times: number[] = [];
      for (let i = 0; i < 5; i++) void origin.getMany([`k${i}`]).then(() => times.push(clock.now()));
      await clock.advanceAsync(1000);
      return times;
    };
    const first = await run();
    assert.equal(first.length, 5);
    assert.ok(new Set(first).size > 1, 'latencies vary');
    assert.deepEqual(await run(), first);
  });

  test('an aborted queued call is dropped and close rejects the calls still waiting', async () => {
    const clock = new VirtualClock();
    const origin = new SimOrigin({ clock, latencyMs: 10, concurrency: 1 });
    const first = origin.getMany(['a']);
    const controller = new AbortController();
    const aborted = origin.getMany(['b'], { signal: controller.signal });
    const waiting = origin.getMany(['c']);
    controller.abort(new Error('gone'));
    await assert.rejects(aborted, /gone/);
    assert.equal(origin.stats().queued, 1);
    await origin.close();
    await assert.rejects(waiting, { code: 'ERR_CLOSED' });
    clock.advance(10);
    await first;
    assert.equal(origin.stats().calls, 1);
    await assert.rejects(origin.getMany(['d']), { code: 'ERR_CLOSED' });
  });

  test('rejects a negative latency and a zero concurrency at construction', () => {
    const clock = new VirtualClock();
    assert.throws(() => new SimOrigin({ clock, latencyMs: -1 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => new SimOrigin({ clock, latencyMs: 1, concurrency: 0 }), { code: 'ERR_INVALID_OPTION' });
  });
});

describe('seededRandom', () => {
  test('repeats its sequence for a seed and stays in [0, 1)', () => {
    const a = seededRandom(99);
    const b = seededRandom(99);
    const values = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(Array.from({ length: 1000 }, () => b()), values);
    assert.ok(values.every((v) => v >= 0 && v < 1));
    assert.notDeepEqual(Array.from({ length: 10 }, seededRandom(100)), values.slice(0, 10));
  });
});
