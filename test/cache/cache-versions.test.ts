import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { ScriptedPredictor } from '../doubles/scripted-predictor.ts';

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

test('set without a version goes above a version a catalog still names after the memory tier evicted the key, and one below it loses', async () => {
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
  const stale = await cache.set('k', 'older write', { version: 3 });
  assert.deepEqual([stale.version, stale.value], [5, 'old'], 'a write older than the catalog\'s copy loses, and set says so');
  assert.equal((await cache.get('k')).version, 5, 'nobody is served the older write');
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

test('once a local write above the origin expires, the catalogs follow the origin\'s record the cache stored instead', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>([['k', 'origin']]); // version 1
  const cache = new Cache<string>({ origin, clock, ttlMs: 1_000 });
  cache.prefetch(['k'], { user: 'u' });
  await settle();
  await cache.set('k', 'local', { version: 10 }); // never written to the origin
  clock.advance(1_500); // the local copy expired
  assert.equal((await cache.get('k')).version, 1, 'the cache reloads the origin\'s record');
  assert.deepEqual(cache.shadow('u').map((i) => [i.version, i.isStale]), [[1, false]], 'the catalog names it too');
  const calls = origin.calls;
  for (let i = 0; i < 3; i++) {
    const r = await cache.get('k', { user: 'u' });
    assert.deepEqual([r.version, r.servedFrom], [1, 'shadow']);
  }
  assert.equal(origin.calls, calls, 'the user\'s reads no longer go to the origin');
  await cache.close();
});

test('the catalogs keep items the memory tier evicted only within shadow.maxBytesOutsideTier, the oldest outside going first', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>();
  for (let i = 0; i < 300; i++) origin.records.set(`k${i}`, { key: `k${i}`, value: 'v', version: 1 });
  // Values of 100 bytes; the tier holds 10 of them, the catalogs 3 more beyond it.
  const cache = new Cache<string>({ origin, clock, maxBytes: 1000, sizeOf: () => 100, ttlMs: 60_000, shadow: { maxBytesOutsideTier: 300, perUserLimit: 64 } });
  for (let i = 0; i < 20; i++) cache.prefetch([`k${i}`], { user: 'u' });
  await settle();
  for (let i = 100; i < 140; i++) await cache.get(`k${i}`); // demand traffic evicts the prefetched items
  const stats = cache.stats().shadow!;
  assert.ok(stats.bytesOutsideTier <= 300, `outside the tier: ${stats.bytesOutsideTier} bytes`);
  assert.ok(stats.trimmedOutsideTier > 0);
  const served = cache.shadow('u').map((i) => i.key);
  // The prefetch region holds one 100-byte item (k19); of the 19 outside the tier, the 3 kept are the last stored.
  assert.deepEqual(served, ['k16', 'k17', 'k18', 'k19']);
  const calls = origin.calls;
  const read = await cache.get(served.at(-1)!, { user: 'u' });
  assert.equal(read.servedFrom, 'shadow');
  assert.equal(origin.calls, calls);
  const none = new Cache<string>({ origin, clock, maxBytes: 1000, sizeOf: () => 100, ttlMs: 60_000, shadow: { maxBytesOutsideTier: 0 } });
  for (let i = 0; i < 20; i++) none.prefetch([`k${i}`], { user: 'u' });
  await settle();
  for (let i = 100; i < 140; i++) await none.get(`k${i}`);
  assert.equal(none.stats().shadow!.bytesOutsideTier, 0, 'with 0, the catalogs serve only what the tier holds');
  await cache.close();
  await none.close();
});

test('updating or growing a cataloged item keeps the byte budget exact: a held item keeps its reference, a larger one outside counts at its size', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>();
  for (let i = 0; i < 300; i++) origin.records.set(`k${i}`, { key: `k${i}`, value: 'x'.repeat(100), version: 1 });
  const held = new Cache<string>({ origin, clock, maxBytes: 10_000, sizeOf: (v) => v.length, ttlMs: 60_000, shadow: { maxBytesOutsideTier: 0 } });
  held.prefetch(['k0', 'k1', 'k2'], { user: 'u' });
  await settle();
  await held.set('k0', 'y'.repeat(100)); // replaces an entry the tier holds
  assert.deepEqual(held.shadow('u').map((i) => i.key).sort(), ['k0', 'k1', 'k2'], 'no reference is trimmed for an update');
  assert.equal(held.stats().shadow!.trimmedOutsideTier, 0);
  await held.close();

  const cache = new Cache<string>({ origin, clock, maxBytes: 1000, sizeOf: (v) => v.length, ttlMs: 60_000, shadow: { maxBytesOutsideTier: 300, perUserLimit: 64 } });
  for (let i = 0; i < 20; i++) cache.prefetch([`k${i}`], { user: 'u' });
  await settle();
  for (let i = 100; i < 140; i++) await cache.get(`k${i}`);
  for (const k of ['k16', 'k17', 'k18']) origin.records.set(k, { key: k, value: 'y'.repeat(900), version: 2 });
  cache.prefetch(['k16', 'k17', 'k18'], { user: 'u' }); // the rows grew: too large for the tier's prefetch share
  await settle();
  assert.ok(cache.stats().shadow!.bytesOutsideTier <= 300, `outside the tier: ${cache.stats().shadow!.bytesOutsideTier} bytes`);
  await cache.close();
});

test('a set older than the version held loses for the catalogs too: a user waiting for the key is not handed the older write', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>([['x', 'x']]);
  origin.records.set('k', { key: 'k', value: 'origin', version: 2 });
  const cache = new Cache<string>({ origin, clock, ttlMs: 1_000, staleAfterMs: 400, predictor: new ScriptedPredictor({ x: [['k', 0.9]] }), prefetch: false });
  await cache.get('k');
  clock.advance(500); // k is stale: a prediction of it waits for a fresh copy (a pending catalog reference)
  await cache.get('x', { session: 's', user: 'u' });
  cache.flush();
  const kept = await cache.set('k', 'older write', { version: 1 });
  assert.equal(kept.version, 2, 'the held newer version wins');
  const read = await cache.get('k', { session: 's', user: 'u' });
  assert.notEqual(read.version, 1, `the user is not served the refused write (${read.servedFrom})`);
  assert.deepEqual(cache.shadow('u').map((i) => i.version), [], 'nor does it join the user\'s catalog');
  await cache.close();
});
