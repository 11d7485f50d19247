import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import { PrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { isOriginFailure, OriginFailure, type Origin } from '../../src/origin/origin.ts';
import { timedOrigin } from '../../src/server/metrics.ts';

test('timedOrigin forwards per-key failures (getManySettled) and times them like getMany', async () => {
  const clock = new VirtualClock(0);
  const inner: Origin<unknown> = {
    getMany: async (keys) => keys.map((key) => ({ key, value: key, version: 1 })),
    getManySettled: async (keys) => keys.map((key) => (key === 'bad' ? new OriginFailure(new PrescientError('ERR_ORIGIN_FAILED', 'archive down')) : { key, value: key, version: 1 })),
  };
  const reports: Array<[string, boolean]> = [];
  const wrapped = timedOrigin(inner, clock, (_ms, purpose, isOk) => reports.push([purpose, isOk]));
  assert.equal(typeof wrapped.getManySettled, 'function');
  const answers = await wrapped.getManySettled!(['ok', 'bad'], { purpose: 'prefetch' });
  assert.equal(isOriginFailure(answers[0]), false);
  assert.equal(isOriginFailure(answers[1]), true);
  assert.deepEqual(reports, [['prefetch', false]], 'a call with a failed key counts as failed');
  await wrapped.getManySettled!(['ok'], { purpose: 'demand' });
  assert.deepEqual(reports.at(-1), ['demand', true]);
  assert.equal(typeof timedOrigin(new MapOrigin(), clock, () => {}).getManySettled, 'undefined', 'an origin without it is not given one');
});
