import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbsentKeys } from '../../src/cache/absent-keys.ts';
import { Cache } from '../../src/cache/cache.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { Access, Prediction, Predictor } from '../../src/predict/predictor.ts';

test('AbsentKeys: remembered for the TTL, bounded in insertion order, forgotten on delete', () => {
  const absent = new AbsentKeys(1_000, 3);
  absent.add('a', 0);
  absent.add('b', 0);
  assert.equal(absent.has('a', 999, true), true);
  assert.equal(absent.has('a', 1_000, true), false, 'expired at the TTL');
  assert.equal(absent.has('a', 10, true), false, 'and forgotten once met expired');
  for (const k of ['c', 'd', 'e']) absent.add(k, 0);
  assert.equal(absent.has('b', 1, false), false, 'the oldest answer went first');
  assert.deepEqual(absent.stats(1), { keys: 3, hits: 1 });
  absent.delete('e');
  assert.equal(absent.has('e', 1, false), false);
});

test('with absentTtlMs, a read of a key the origin lacks is asked once; repeats are hits that find nothing, until the TTL', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>([['present', 'P']]);
  const cache = new Cache<string>({ origin, clock, absentTtlMs: 5_000 });
  const first = await cache.get('missing');
  assert.deepEqual([first.isFound, first.status, first.servedFrom], [false, 'miss', 'origin']);
  for (let i = 0; i < 3; i++) {
    const again = await cache.get('missing');
    assert.deepEqual([again.isFound, again.value, again.status, again.servedFrom], [false, undefined, 'hit', 'memory']);
  }
  assert.equal(origin.keysFetched, 1);
  assert.deepEqual(cache.stats().absent, { keys: 1, hits: 3 });
  assert.equal(cache.isPresent('missing'), true, 'a known absence sends nothing to the origin: no prefetch either');
  clock.advance(5_000);
  await cache.get('missing');
  assert.equal(origin.keysFetched, 2, 'past the TTL the origin is asked again');
  await cache.close();
});

test('a write, a delete or an invalidation through the cache forgets the absence at once', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>();
  const cache = new Cache<string>({ origin, clock, absentTtlMs: 60_000 });
  for (const k of ['w', 'd', 'i']) await cache.get(k);
  await cache.set('w', 'written');
  assert.deepEqual([(await cache.get('w')).value, (await cache.get('w')).isFound], ['written', true]);
  origin.records.set('d', { key: 'd', value: 'created elsewhere', version: 3 });
  origin.records.set('i', { key: 'i', value: 'created elsewhere', version: 3 });
  await cache.delete('d'); // a change notice for d, say
  await cache.invalidate({ prefix: 'i' });
  assert.equal((await cache.get('d')).value, 'created elsewhere');
  assert.equal((await cache.get('i')).value, 'created elsewhere');
  await cache.close();
});

test('off by default; a bad absentTtlMs or maxAbsentKeys is refused naming it', async () => {
  const origin = new MapOrigin<string>();
  const cache = new Cache<string>({ origin, clock: new VirtualClock(0) });
  await cache.get('missing');
  await cache.get('missing');
  assert.equal(origin.keysFetched, 2);
  assert.equal(cache.stats().absent, undefined);
  await cache.close();
  for (const [options, name] of [[{ absentTtlMs: -1 }, 'absentTtlMs'], [{ absentTtlMs: Infinity }, 'absentTtlMs'], [{ maxAbsentKeys: 0 }, 'maxAbsentKeys']] as const) {
    assert.throws(() => new Cache({ origin, ...options }), (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as Error).message.includes(name), name);
  }
});

test('a model that keeps predicting a known-absent key gets no prefetch of it', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>([['a', 'A']]);
  const predictor: Predictor = {
    name: 'ghostly',
    observe(_access: Access) {},
    predict: (): Prediction[] => [{ key: 'ghost', probability: 0.9 }],
  };
  const cache = new Cache<string>({ origin, clock, predictor, absentTtlMs: 60_000 });
  await cache.get('ghost');
  for (let i = 0; i < 20; i++) {
    await cache.get('a', { session: `s${i}` });
    cache.flush();
    await flushMicrotasks();
  }
  assert.equal(origin.batches.filter((b) => b.keys.includes('ghost')).length, 1, 'only the first read asked for it');
  await cache.close();
});

test('a refresh that finds a held key absent drops it but does not remember it absent: the next read asks again', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>();
  const cache = new Cache<string>({ origin, clock, ttlMs: 60_000, staleAfterMs: 1_000, absentTtlMs: 60_000 });
  await cache.set('local', 'written here'); // the origin has not seen it
  clock.advance(2_000);
  assert.equal((await cache.get('local')).status, 'stale', 'served while it refreshes');
  await flushMicrotasks();
  await flushMicrotasks();
  assert.deepEqual(cache.stats().absent, { keys: 0, hits: 0 });
  origin.records.set('local', { key: 'local', value: 'now at the origin', version: 9 });
  assert.equal((await cache.get('local')).value, 'now at the origin');
  await cache.close();
});

test('a set the cache refuses (too large) still forgets the absence: the app wrote the key', async () => {
  const origin = new MapOrigin<string>();
  const cache = new Cache<string>({ origin, clock: new VirtualClock(0), absentTtlMs: 60_000, maxBytes: 4096, maxEntryBytes: 100 });
  await cache.get('big');
  origin.records.set('big', { key: 'big', value: 'x'.repeat(500), version: 1 });
  await assert.rejects(cache.set('big', 'x'.repeat(500)), (e: unknown) => isPrescientError(e, 'ERR_VALUE_TOO_LARGE'));
  const read = await cache.get('big');
  assert.deepEqual([read.isFound, read.status], [true, 'miss'], 'served from the origin, not a remembered absence');
  await cache.close();
});

test('the count of absent keys leaves out the expired ones', async () => {
  const clock = new VirtualClock(0);
  const cache = new Cache<string>({ origin: new MapOrigin<string>(), clock, absentTtlMs: 1_000 });
  for (let i = 0; i < 10; i++) await cache.get(`gone-${i}`);
  assert.equal(cache.stats().absent?.keys, 10);
  clock.advance(500);
  await cache.get('later');
  clock.advance(600);
  assert.deepEqual(cache.stats().absent, { keys: 1, hits: 0 }, 'ten expired at 1,000 ms; the later one holds until 1,500');
  await cache.close();
});
