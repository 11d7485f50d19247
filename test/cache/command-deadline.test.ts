import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandDeadline } from '../../src/cache/command-deadline.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';

describe('CommandDeadline', () => {
  test('passes a value or an error through when the work settles in time', async () => {
    const deadline = new CommandDeadline(100, new VirtualClock(0));
    assert.equal(await deadline.bound(Promise.resolve(7), 'GET'), 7);
    await assert.rejects(deadline.bound(Promise.reject(new Error('boom')), 'GET'), /boom/);
    assert.equal(deadline.timeouts, 0);
  });

  test('rejects with ERR_TIMEOUT between 1x and 1.25x the bound when the work never settles', async () => {
    const clock = new VirtualClock(0);
    const deadline = new CommandDeadline(100, clock);
    let error: unknown;
    deadline.bound(new Promise(() => {}), 'GET').catch((e: unknown) => (error = e));
    await clock.advanceAsync(99);
    assert.equal(error, undefined);
    await clock.advanceAsync(26);
    assert.ok(isPrescientError(error, 'ERR_TIMEOUT'));
    assert.equal(deadline.timeouts, 1);
    assert.equal(clock.pendingTimers, 0, 'the watchdog stops when nothing is pending');
  });

  test('one watchdog timer serves many pending commands', async () => {
    const clock = new VirtualClock(0);
    const deadline = new CommandDeadline(100, clock);
    const settled: string[] = [];
    for (let i = 0; i < 50; i++) deadline.bound(new Promise(() => {}), 'GET').catch(() => settled.push('timeout'));
    assert.equal(clock.pendingTimers, 1);
    await clock.advanceAsync(125);
    assert.equal(settled.length, 50);
  });
  test('past maxOverdue unanswered timed-out commands, work given as a function is not started until replies come', async () => {
    const clock = new VirtualClock(0);
    const deadline = new CommandDeadline(100, clock, 2);
    const hung: Array<() => void> = [];
    const never = () => new Promise<number>((resolve) => hung.push(() => resolve(1)));
    for (let i = 0; i < 2; i++) deadline.bound(never, 'GET').catch(() => {});
    await clock.advanceAsync(125);
    assert.equal(deadline.overdue, 2);
    let started = 0;
    const work = () => {
      started++;
      return Promise.resolve(5);
    };
    await assert.rejects(deadline.bound(work, 'GET'), (e: unknown) => isPrescientError(e, 'ERR_TIMEOUT') && /not answering \(2 commands overdue\)/.test((e as Error).message));
    assert.equal(started, 0, 'nothing more is queued behind the hung ones');
    assert.equal(await deadline.bound(Promise.resolve(6), 'GET'), 6, 'a promise already made is still bounded, not refused');
    hung[0]();
    await clock.advanceAsync(0);
    assert.equal(deadline.overdue, 1, 'a late reply counts the command answered');
    assert.equal(await deadline.bound(work, 'GET'), 5);
    assert.equal(started, 1);
  });
});
