import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { PrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { isOriginFailure, OriginFailure, type Origin, type OriginAnswer } from '../../src/origin/origin.ts';
import { timedOrigin } from '../../src/server/metrics.ts';

test('timedOrigin forwards per-key failures (getManySettled) and times them like getMany', async () => {
  const clock = new VirtualClock(1_000);
  /** How long (virtual ms) the inner origin's next answer takes: it answers on a clock timer. */
  let delayMs = 0;
  const after = <T>(answer: () => T): Promise<T> => new Promise((resolve) => clock.setTimer(delayMs, () => resolve(answer())));
  const inner: Origin<unknown> = {
    getMany: (keys) => after(() => keys.map((key) => ({ key, value: key, version: 1 }))),
    getManySettled: (keys) => after((): OriginAnswer<unknown>[] => keys.map((key) => (key === 'bad' ? new OriginFailure(new PrescientError('ERR_ORIGIN_FAILED', 'archive down')) : { key, value: key, version: 1 }))),
  };
  const reports: Array<[number, string, boolean]> = [];
  const wrapped = timedOrigin(inner, clock, (ms, purpose, isOk) => reports.push([ms, purpose, isOk]));
  assert.equal(typeof wrapped.getManySettled, 'function');

  /** Reports made before the current call. */
  let seen = 0;
  /** Runs `call` while the clock advances `ms`, and returns its answer. */
  const over = async <T>(ms: number, call: () => Promise<T>): Promise<T> => {
    delayMs = ms;
    const answer = call();
    await flushMicrotasks();
    assert.equal(reports.length, seen, 'nothing is reported before the origin answers');
    await clock.advanceAsync(ms);
    return answer;
  };

  const answers = await over(25, () => wrapped.getManySettled!(['ok', 'bad'], { purpose: 'prefetch' }));
  assert.equal(isOriginFailure(answers[0]), false);
  assert.equal(isOriginFailure(answers[1]), true);
  assert.deepEqual(reports, [[25, 'prefetch', false]], 'a call with a failed key counts as failed, timed from call to answer');
  seen = reports.length;

  await over(40, () => wrapped.getManySettled!(['ok'], { purpose: 'demand' }));
  assert.deepEqual(reports.at(-1), [40, 'demand', true]);
  seen = reports.length;

  // getMany, for comparison: timed the same way.
  await over(15, () => wrapped.getMany(['ok'], { purpose: 'prefetch' }));
  assert.deepEqual(reports.at(-1), [15, 'prefetch', true]);
  assert.equal(reports.length, 3);

  assert.equal(typeof timedOrigin(new MapOrigin(), clock, () => {}).getManySettled, 'undefined', 'an origin without it is not given one');
});
