import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flushMicrotasks, maxTimerMs, systemClock, VirtualClock } from '../../src/clock.ts';
import { Feedback } from '../../src/prefetch/feedback.ts';
import { PrefetchScheduler, type PrefetchRequest } from '../../src/prefetch/prefetch-scheduler.ts';

test('while no token comes, the queue stays within twice maxQueue and stale candidates go', () => {
  const clock = new VirtualClock(0);
  const target = { isPresent: () => false, fetch: () => new Promise<{ failed: PrefetchRequest[] }>(() => {}) };
  const scheduler = new PrefetchScheduler({ target, clock, feedback: new Feedback(), targetPrecision: 0, maxBurst: 1, maxQueue: 64, paceOffers: false, minProbability: 0 });
  for (let i = 0; i < 5_000; i++) {
    clock.advance(10);
    scheduler.offer({ session: `s${i % 500}` }, Array.from({ length: 8 }, (_, j) => ({ key: `k${i}-${j}`, probability: 0.5 })));
    assert.ok(scheduler.queued <= 2 * 64 + 8, `queued ${scheduler.queued} at offer ${i}`);
  }
  assert.equal(scheduler.stats().tokens < 1, true, 'the bucket stayed empty throughout');
  assert.ok(scheduler.stats().droppedStale > 30_000);
});

test('a used prefetch that spent no token (a caller\'s hint) gives back only the demand fetch it replaced', () => {
  const clock = new VirtualClock(0);
  const target = { isPresent: () => false, fetch: async () => ({ failed: [] }) };
  const scheduler = new PrefetchScheduler({ target, clock, feedback: new Feedback(), targetPrecision: 0, maxBurst: 16, maxExtraLoad: 0.25 });
  scheduler.offer({ session: 's' }, Array.from({ length: 16 }, (_, j) => ({ key: `k${j}`, probability: 0.9 })));
  assert.equal(scheduler.stats().tokens, 0);
  scheduler.onUsed(false);
  assert.equal(scheduler.stats().tokens, 0.25);
  scheduler.onUsed();
  assert.equal(scheduler.stats().tokens, 1.5);
});

test('a target whose fetch throws instead of rejecting frees its slot; the prefetch is retried', async () => {
  const clock = new VirtualClock(0);
  const batches: string[][] = [];
  const target = {
    isPresent: () => false,
    fetch: (batch: readonly PrefetchRequest[]) => {
      batches.push(batch.map((r) => r.key));
      if (batches.length === 1) throw new Error('pool exhausted');
      return Promise.resolve({ failed: [] as PrefetchRequest[] });
    },
  };
  const scheduler = new PrefetchScheduler({ target, clock, feedback: new Feedback(), maxConcurrent: 1, targetPrecision: 0, retryBackoffMs: 10 });
  assert.doesNotThrow(() => scheduler.offer({ session: 's' }, [{ key: 'a', probability: 0.9 }]));
  await flushMicrotasks();
  assert.deepEqual(batches, [['a']]);
  assert.equal(scheduler.stats().inflightBatches, 0, 'the slot is free');
  assert.equal(scheduler.stats().failed, 1);
  assert.equal(scheduler.stats().retried, 0);
  await clock.advanceAsync(9);
  assert.deepEqual(batches, [['a']], 'no retry before the backoff');
  // Nothing more is offered: a second batch can only be the retry.
  await clock.advanceAsync(1);
  await flushMicrotasks();
  assert.deepEqual(batches, [['a'], ['a']], 'the failed prefetch is sent again after the backoff');
  const stats = scheduler.stats();
  assert.equal(stats.retried, 1);
  assert.equal(stats.issued, 1, 'a retry is not a new issue');
  assert.equal(stats.failed, 1);
  assert.equal(stats.inflightBatches, 0);
});

test('the system clock holds a delay past what a Node timer takes instead of firing after 1 ms', async () => {
  let fired = false;
  const handle = systemClock.setTimer(3e9, () => (fired = true));
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(fired, false);
  systemClock.clearTimer(handle);
  assert.equal(maxTimerMs, 2 ** 31 - 1);
});
