import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deferOn, flushMicrotasks, systemClock, VirtualClock, type Clock } from '../src/clock.ts';

describe('VirtualClock', () => {
  test('fires due timers in time order, ties in creation order, and stands at each due time while it runs', () => {
    const clock = new VirtualClock(1000);
    const fired: Array<[string, number]> = [];
    clock.setTimer(30, () => fired.push(['c', clock.now()]));
    clock.setTimer(10, () => fired.push(['a', clock.now()]));
    clock.setTimer(10, () => fired.push(['b', clock.now()]));
    clock.advance(20);
    assert.deepEqual(fired, [['a', 1010], ['b', 1010]]);
    assert.equal(clock.now(), 1020);
    clock.advance(100);
    assert.deepEqual(fired.at(-1), ['c', 1030]);
    assert.equal(clock.now(), 1120);
  });

  test('a timer set by a firing timer fires in the same advance when it falls due', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    clock.setTimer(5, () => {
      fired.push(clock.now());
      clock.setTimer(5, () => fired.push(clock.now()));
    });
    clock.advance(10);
    assert.deepEqual(fired, [5, 10]);
  });

  test('a cleared timer never fires and is not counted as pending', () => {
    const clock = new VirtualClock();
    let fired = 0;
    const handle = clock.setTimer(5, () => fired++);
    clock.setTimer(7, () => fired++);
    assert.equal(clock.pendingTimers, 2);
    clock.clearTimer(handle);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(clock.nextTimerAt(), 7);
    clock.advance(10);
    assert.equal(fired, 1);
    clock.clearTimer(handle);
    assert.equal(clock.pendingTimers, 0);
  });

  test('step fires only the earliest timer', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimer(5, () => fired.push('a'));
    clock.setTimer(9, () => fired.push('b'));
    assert.equal(clock.step(), true);
    assert.deepEqual(fired, ['a']);
    assert.equal(clock.now(), 5);
    assert.equal(clock.step(), true);
    assert.equal(clock.step(), false);
    assert.deepEqual(fired, ['a', 'b']);
  });

  test('never moves backwards', () => {
    const clock = new VirtualClock(50);
    clock.advanceTo(10);
    assert.equal(clock.now(), 50);
  });

  test('advanceAsync lets promise continuations run after each timer', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const wait = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimer(ms, resolve));
    void (async () => {
      await wait(10);
      seen.push(clock.now());
      await wait(10);
      seen.push(clock.now());
    })();
    await flushMicrotasks();
    await clock.advanceAsync(25);
    assert.deepEqual(seen, [10, 20]);
  });
});

/** `promise`, or a rejection naming `what` when it has not settled within `ms` of real time. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let bound: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (bound = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(bound);
  }
}

describe('systemClock', () => {
  test('reads epoch milliseconds and runs timers', { timeout: 10_000 }, async () => {
    const before = Date.now();
    const now = systemClock.now();
    assert.ok(Math.abs(now - before) < 1000, `systemClock ${now} vs Date.now ${before}`);
    // systemClock's timers are unref'd; the bound's ref'd timer keeps the process alive until this one fires.
    await within(new Promise<void>((resolve) => systemClock.setTimer(0, resolve)), 5_000, 'systemClock.setTimer(0) fired');
  });

  test('defer calls back once, and clearTimer cancels a deferred call but not a timer', { timeout: 10_000 }, async () => {
    // The clock's timers and deferred calls are unref'd: the bound's ref'd timer keeps the test's process alive meanwhile.
    const order: string[] = [];
    const done = new Promise<void>((resolve) => systemClock.setTimer(0, () => {
      order.push('timer');
      resolve();
    }));
    const cancelled = systemClock.defer!(() => order.push('cancelled'));
    systemClock.defer!(() => order.push('deferred'));
    systemClock.clearTimer(cancelled);
    await within(done, 5_000, 'systemClock.setTimer(0) fired');
    // setImmediate may run before or after a 1 ms timeout depending on when the loop entered; wait for the deferred call.
    const deferred = (async () => {
      while (!order.includes('deferred')) await new Promise((resolve) => setImmediate(resolve));
    })();
    await within(deferred, 5_000, 'the deferred call ran');
    await flushMicrotasks();
    assert.deepEqual(order.filter((x) => x !== 'timer'), ['deferred']);
    assert.ok(order.includes('timer'));
  });
});

describe('deferOn', () => {
  test('on a VirtualClock orders exactly like setTimer(0): by creation, among timers due now', () => {
    const clock = new VirtualClock(100);
    const fired: string[] = [];
    clock.setTimer(0, () => fired.push('a'));
    const handle = deferOn(clock, () => fired.push('cancelled'));
    deferOn(clock, () => fired.push('b'));
    clock.setTimer(0, () => fired.push('c'));
    assert.equal(clock.pendingTimers, 4);
    clock.clearTimer(handle);
    assert.equal(clock.pendingTimers, 3);
    clock.advance(0);
    assert.deepEqual(fired, ['a', 'b', 'c']);
    assert.equal(clock.now(), 100);
  });

  test('falls back to setTimer(0) on a clock without defer', () => {
    const calls: number[] = [];
    const clock: Clock = {
      now: () => 0,
      setTimer: (ms, fn) => {
        calls.push(ms);
        fn();
        return { id: 1 };
      },
      clearTimer: () => {},
    };
    let ran = false;
    deferOn(clock, () => (ran = true));
    assert.deepEqual(calls, [0]);
    assert.equal(ran, true);
  });
});
