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
  let calls = 0;
  const target = {
    isPresent: () => false,
    fetch: (batch: readonly PrefetchRequest[]) => {
      calls++;
      if (calls === 1) throw new Error('pool exhausted');
      return Promise.resolve({ failed: [] as PrefetchRequest[], batch });
    },
  };
  const scheduler = new PrefetchScheduler({ target, clock, feedback: new Feedback(), maxConcurrent: 1, targetPrecision: 0, retryBackoffMs: 10 });
  assert.doesNotThrow(() => scheduler.offer({ session: 's' }, [{ key: 'a', probability: 0.9 }]));
  await flushMicrotasks();
  assert.equal(scheduler.stats().inflightBatches, 0);
  assert.equal(scheduler.stats().failed, 1);
  await clock.advanceAsync(10);
  scheduler.offer({ session: 's' }, [{ key: 'b', probability: 0.9 }]);
  await flushMicrotasks();
  assert.ok(calls >= 2, 'the scheduler sends again');
});

test('the system clock holds a delay past what a Node timer takes instead of firing after 1 ms', async () => {
  let fired = false;
  const handle = systemClock.setTimer(3e9, () => (fired = true));
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(fired, false);
  systemClock.clearTimer(handle);
  assert.equal(maxTimerMs, 2 ** 31 - 1);
});
