import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import { RateLimiter } from '../../src/server/rate-limit.ts';

test('allows a burst, then the steady rate, and says how long to wait', () => {
  const clock = new VirtualClock(0);
  const limiter = new RateLimiter({ perSecond: 2, burst: 3, clock });
  assert.deepEqual([0, 1, 2].map(() => limiter.take('t')), [0, 0, 0]);
  assert.equal(limiter.take('t'), 500);
  clock.advance(250);
  assert.equal(limiter.take('t'), 250);
  clock.advance(250);
  assert.equal(limiter.take('t'), 0);
  assert.equal(limiter.take('other'), 0, 'buckets are per client');
});

test('forgets clients whose bucket has refilled, so the table stays bounded', () => {
  const clock = new VirtualClock(0);
  const limiter = new RateLimiter({ perSecond: 10, burst: 10, clock, maxClients: 100 });
  for (let i = 0; i < 100; i++) limiter.take(`c${i}`);
  assert.equal(limiter.size, 100);
  clock.advance(2000);
  limiter.take('late');
  assert.equal(limiter.size, 1);
});

test('past maxClients, new clients share one overflow bucket', () => {
  const clock = new VirtualClock(0);
  const limiter = new RateLimiter({ perSecond: 1, burst: 2, clock, maxClients: 2 });
  limiter.take('a');
  limiter.take('b');
  assert.equal(limiter.take('c'), 0);
  assert.equal(limiter.take('d'), 0);
  assert.ok(limiter.take('e') > 0, 'the overflow bucket is empty');
  assert.ok(limiter.size <= 3);
});

test('rejects a bad rate or burst with ERR_INVALID_OPTION', () => {
  const clock = new VirtualClock(0);
  assert.throws(() => new RateLimiter({ perSecond: 0, burst: 1, clock }), { code: 'ERR_INVALID_OPTION' });
  assert.throws(() => new RateLimiter({ perSecond: 1, burst: 1.5, clock }), { code: 'ERR_INVALID_OPTION' });
});
