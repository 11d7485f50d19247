import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';

async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await flushMicrotasks();
}

test('a refresh that finds the origin behind a local write keeps the write, and the user\'s catalog serves it too', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>([['k', 'old']]); // version 1
  const cache = new Cache<string>({ origin, clock, ttlMs: 60_000, staleAfterMs: 1_000 });
  cache.prefetch(['k'], { user: 'u' });
  await settle();
  assert.deepEqual(cache.shadow('u').map((i) => [i.key, i.version]), [['k', 1]]);
  await cache.set('k', 'new', { version: 10 }); // the origin has not seen it (a write not flushed yet)
  clock.advance(2_000); // stale, far from expiry
  const first = await cache.get('k', { user: 'u' });
  assert.deepEqual([first.value, first.version], ['new', 10], 'the read that refreshed answers the version kept, not the origin\'s older one');
  const second = await cache.get('k', { user: 'u' });
  assert.deepEqual([second.value, second.version, second.servedFrom], ['new', 10, 'shadow'], 'the catalog serves the renewed copy');
  assert.equal(origin.calls, 2, 'one prefetch and one refresh: the catalog does not send every read to the origin');
  await cache.close();
});

test('set without a version goes above a version a catalog still names after the memory tier evicted the key', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>();
  origin.records.set('k', { key: 'k', value: 'old', version: 5 });
  for (let i = 0; i < 200; i++) origin.records.set(`f${i}`, { key: `f${i}`, value: 'x'.repeat(100), version: 1 });
  const cache = new Cache<string>({ origin, clock, maxBytes: 4096, ttlMs: 60_000 });
  cache.prefetch(['k'], { user: 'u' });
  await settle();
  for (let i = 0; i < 200; i++) await cache.get(`f${i}`);
  assert.equal(cache.peek('k'), undefined, 'churn evicted k from memory');
  assert.deepEqual(cache.shadow('u').map((i) => i.version), [5]);
  const written = await cache.set('k', 'new');
  assert.equal(written.version, 6);
  assert.equal((await cache.get('k', { user: 'u' })).value, 'new', 'the user reads the new value, not the catalog\'s old one');
  await cache.close();
});

test('prefetch counts a key named twice once', async () => {
  const origin = new MapOrigin<string>([['a', 'A']]);
  const cache = new Cache<string>({ origin, clock: new VirtualClock(0) });
  assert.equal(cache.prefetch(['a', 'a', 'a']), 1);
  await settle();
  await cache.get('a');
  const p = cache.stats().prefetch;
  assert.deepEqual([origin.keysFetched, p.issued, p.used], [1, 1, 1]);
  await cache.close();
});
