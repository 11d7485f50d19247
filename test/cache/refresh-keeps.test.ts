import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { VirtualClock } from '../../src/clock.ts';
import { FunctionOrigin } from '../../src/origin/function-origin.ts';
import type { OriginRecord } from '../../src/origin/origin.ts';

/** An origin over `data`, answering after 10 ms of virtual time. */
function origin(clock: VirtualClock, data: Map<string, OriginRecord<string>>) {
  return new FunctionOrigin<string>({
    getMany: (keys) => new Promise((resolve) => clock.setTimer(10, () => resolve(keys.map((k) => data.get(k))))),
  });
}

describe('Cache: a background refresh keeps what the application gave the key', () => {
  test('its tags: an invalidation by tag still finds the refreshed entry', async () => {
    const clock = new VirtualClock(0);
    const data = new Map<string, OriginRecord<string>>();
    const cache = new Cache<string>({ origin: origin(clock, data), clock, ttlMs: 1000, staleAfterMs: 500 });
    await cache.set('product:1', 'local', { tags: ['catalog'] });
    data.set('product:1', { key: 'product:1', value: 'from origin', version: 2 }); // the write reached the origin
    clock.advance(600);
    assert.equal((await cache.get('product:1')).status, 'stale');
    await clock.advanceAsync(10);
    const refreshed = cache.peek('product:1');
    assert.equal(refreshed?.value, 'from origin');
    assert.deepEqual(refreshed?.tags, ['catalog']);
    assert.equal(await cache.invalidate({ tag: 'catalog' }), 1);
    assert.equal(cache.peek('product:1'), undefined);
    await cache.close();
  });

  test('its time to live: a set with a longer ttlMs is not stale at the cache\'s, nor after a refresh', async () => {
    const clock = new VirtualClock(0);
    const data = new Map<string, OriginRecord<string>>([['session:9', { key: 'session:9', value: 'data', version: 1 }]]);
    const cache = new Cache<string>({ origin: origin(clock, data), clock, ttlMs: 60_000 });
    const entry = await cache.set('session:9', 'data', { ttlMs: 3_600_000 });
    assert.equal(entry.staleAt, 3_600_000, 'staleAfterMs unset: stale when it expires');
    assert.equal(entry.expiresAt, 3_600_000);
    clock.advance(61_000);
    assert.equal((await cache.get('session:9')).status, 'hit');
    // With staleAfterMs set, the entry refreshes then, and the refreshed copy keeps the hour.
    const staleEarly = new Cache<string>({ origin: origin(clock, data), clock, ttlMs: 60_000, staleAfterMs: 30_000 });
    await staleEarly.set('session:9', 'data', { ttlMs: 3_600_000 });
    clock.advance(31_000);
    assert.equal((await staleEarly.get('session:9')).status, 'stale');
    await clock.advanceAsync(10);
    const refreshed = staleEarly.peek('session:9');
    assert.equal(refreshed !== undefined && refreshed.expiresAt - refreshed.createdAt, 3_600_000);
    await cache.close();
    await staleEarly.close();
  });
});
