/**
 * The versions `set` and `delete` take: always non-negative safe integers, so a later write is strictly newer.
 * Past 2^53 `v + 1 === v`: a write there would repeat the version held and lose to it (or tie with it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { cacheChangeTarget } from '../../src/cache/cache-change-target.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';

const isCode = (code: string) => (error: unknown) => isPrescientError(error) && error.code === code;

test('set refuses an explicit version that is not a non-negative safe integer, naming the option', async () => {
  const cache = new Cache<string>({ origin: new MapOrigin<string>(), clock: new VirtualClock(0) });
  for (const version of [2 ** 53, 1e300, 1.5, -1, NaN, Infinity]) {
    await assert.rejects(cache.set('k', 'v', { version }), (e) => isCode('ERR_INVALID_OPTION')(e) && (e as { option?: string }).option === 'version', `version ${version}`);
  }
  assert.equal((await cache.set('k', 'v', { version: Number.MAX_SAFE_INTEGER })).version, Number.MAX_SAFE_INTEGER);
  await cache.close();
});

test('set without a version above the highest safe version is refused, never given the version held again', async () => {
  const cache = new Cache<string>({ origin: new MapOrigin<string>(), clock: new VirtualClock(0) });
  await cache.set('k', 'first', { version: Number.MAX_SAFE_INTEGER });
  await assert.rejects(cache.set('k', 'second'), isCode('ERR_INVALID_VALUE'));
  assert.equal((await cache.get('k')).value, 'first');
  await cache.close();
});

test('a version loaded from the origin at the highest safe integer makes the next set refused, not a repeat that loses', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>();
  origin.records.set('k', { key: 'k', value: 'origin', version: Number.MAX_SAFE_INTEGER });
  const cache = new Cache<string>({ origin, clock, ttlMs: 60_000 });
  assert.equal((await cache.get('k')).version, Number.MAX_SAFE_INTEGER);
  await assert.rejects(cache.set('k', 'local'), isCode('ERR_INVALID_VALUE'));
  await cache.close();
});

test('delete refuses a maxVersion that is not a non-negative safe integer or Infinity, so no floor past 2^53 repeats versions', async () => {
  const cache = new Cache<string>({ origin: new MapOrigin<string>(), clock: new VirtualClock(0) });
  for (const maxVersion of [1e300, 2 ** 53, 1.5, -1, NaN]) {
    await assert.rejects(cache.delete('k', { maxVersion }), (e) => isCode('ERR_INVALID_OPTION')(e) && (e as { option?: string }).option === 'maxVersion', `maxVersion ${maxVersion}`);
  }
  await cache.set('k', 'v');
  assert.equal(await cache.delete('k', { maxVersion: Infinity }), true);
  // A floor at the highest safe version: one write may take it, the next has no version above it and is refused.
  await cache.delete('k', { maxVersion: Number.MAX_SAFE_INTEGER });
  const at = await cache.set('k', 'at the floor');
  assert.equal(at.version, Number.MAX_SAFE_INTEGER);
  await assert.rejects(cache.set('k', 'after'), isCode('ERR_INVALID_VALUE'));
  await cache.close();
});

test('delete({ below }) removes only copies below the version, keeps one at it, and refuses a bad or doubled bound', async () => {
  const cache = new Cache<string>({ origin: new MapOrigin<string>(), clock: new VirtualClock(0) });
  await cache.set('k', 'at', { version: 5 });
  assert.equal(await cache.delete('k', { below: 5 }), false, 'the copy at 5 is the changed row: kept');
  assert.equal(cache.peek('k')?.version, 5);
  assert.equal(await cache.delete('k', { below: 6 }), true);
  assert.equal(cache.peek('k'), undefined);
  assert.equal(await cache.delete('k', { below: 0 }), false, 'nothing is below 0');
  for (const below of [-1, 1.5, NaN, Infinity]) await assert.rejects(cache.delete('k', { below }), isCode('ERR_INVALID_OPTION'), `below ${below}`);
  await assert.rejects(cache.delete('k', { below: 3, maxVersion: 3 }), (e) => isCode('ERR_INVALID_OPTION')(e) && /maxVersion/.test((e as Error).message));
  await cache.close();
});

test('cacheChangeTarget keeps a held copy at the change\'s version, unless writes are merged by a resolver (mergedWrites)', async () => {
  const cache = new Cache<string>({ origin: new MapOrigin<string>(), clock: new VirtualClock(0) });
  await cache.set('k', 'merged at read', { version: 5 });
  const exact = cacheChangeTarget(cache);
  assert.equal(exact.peekVersion('k'), 5);
  await exact.invalidate(['k'], [5]);
  assert.equal(cache.peek('k')?.version, 5, 'a version names one value: the copy at it is the changed row');
  const merged = cacheChangeTarget(cache, { mergedWrites: true });
  assert.equal(merged.peekVersion('k'), -1, 'held (a refreshing feed refreshes it), but no held copy makes a change old news');
  assert.equal(merged.peekVersion('other'), undefined);
  await merged.invalidate(['k'], [5]);
  assert.equal(cache.peek('k'), undefined, 'the same version may carry another total: it goes');
  assert.throws(() => cacheChangeTarget(cache, { mergedWrites: 'yes' as never }), isCode('ERR_INVALID_OPTION'));
  await cache.close();
});
