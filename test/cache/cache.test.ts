import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { SlowOrigin } from '../doubles/origins.ts';
import { ScriptedPredictor } from '../doubles/scripted-predictor.ts';

function items(n: number): Array<[string, string]> {
  return Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]);
}

describe('Cache read path', () => {
  test('serves a miss from the origin, then a hit from memory', async () => {
    const origin = new MapOrigin(items(3));
    const cache = new Cache({ origin, clock: new VirtualClock() });
    const first = await cache.get('k1');
    assert.equal(first.status, 'miss');
    assert.equal(first.value, 'v1');
    assert.equal(first.servedFrom, 'origin');
    const second = await cache.get('k1');
    assert.equal(second.status, 'hit');
    assert.equal(second.value, 'v1');
    assert.equal(origin.calls, 1);
  });

  test('single-flight: a hundred concurrent misses of one key cost one origin fetch', async () => {
    const clock = new VirtualClock();
    const origin = new SlowOrigin(clock, 20, items(1));
    const cache = new Cache({ origin, clock });
    const reads = Array.from({ length: 100 }, () => cache.get('k0'));
    await clock.advanceAsync(20);
    const results = await Promise.all(reads);
    assert.equal(origin.batches.length, 1);
    assert.deepEqual(origin.batches[0].keys, ['k0']);
    assert.ok(results.every((r) => r.value === 'v0'));
    assert.equal(results.filter((r) => r.wasInflight).length, 0, 'joining an unsent batch is not an in-flight join');
  });

  test('misses of different keys in the same tick are coalesced into one getMany', async () => {
    const origin = new MapOrigin(items(10));
    const cache = new Cache({ origin, clock: new VirtualClock() });
    const results = await cache.getMany(['k1', 'k2', 'k3', 'k2']);
    assert.deepEqual(results.map((r) => r.value), ['v1', 'v2', 'v3', 'v2']);
    assert.equal(origin.calls, 1);
    assert.deepEqual(origin.batches[0].keys, ['k1', 'k2', 'k3']);
  });

  test('a key the origin lacks is reported as not found, not as an error', async () => {
    const cache = new Cache({ origin: new MapOrigin<string>(), clock: new VirtualClock() });
    const r = await cache.get('absent');
    assert.equal(r.isFound, false);
    assert.equal(r.value, undefined);
    assert.equal(r.status, 'miss');
  });

  test('an entry past its TTL is loaded again', async () => {
    const clock = new VirtualClock();
    const origin = new MapOrigin(items(1));
    const cache = new Cache({ origin, clock, ttlMs: 1000 });
    await cache.get('k0');
    clock.advance(999);
    assert.equal((await cache.get('k0')).status, 'hit');
    clock.advance(1);
    origin.records.set('k0', { key: 'k0', value: 'new', version: 2 });
    const r = await cache.get('k0');
    assert.equal(r.status, 'miss');
    assert.equal(r.value, 'new');
    assert.equal(origin.calls, 2);
  });

  test('serves a stale entry while it refreshes in the background', async () => {
    const clock = new VirtualClock();
    const origin = new SlowOrigin(clock, 10, items(1));
    const cache = new Cache({ origin, clock, ttlMs: 10_000, staleAfterMs: 1000 });
    const load = cache.get('k0');
    await clock.advanceAsync(10);
    await load;
    clock.advance(1500);
    origin.put('k0', 'fresh', 2);
    const stale = await cache.get('k0');
    assert.equal(stale.status, 'stale');
    assert.equal(stale.value, 'v0');
    assert.equal(origin.batches.length, 2, 'the stale read started a refresh');
    await clock.advanceAsync(10);
    const after = await cache.get('k0');
    assert.equal(after.status, 'hit');
    assert.equal(after.value, 'fresh');
    assert.equal(after.version, 2);
    assert.equal(cache.stats().refreshes, 1);
  });

  test('serves an expired entry within the grace period while the origin fails, and says so', async () => {
    const clock = new VirtualClock();
    const origin = new SlowOrigin(clock, 5, items(1));
    const cache = new Cache({ origin, clock, ttlMs: 1000, graceMs: 5000 });
    const p = cache.get('k0');
    await clock.advanceAsync(5);
    await p;
    clock.advance(2000);
    origin.failing = 'all';
    const pending = cache.get('k0');
    await clock.advanceAsync(5);
    const r = await pending;
    assert.equal(r.status, 'stale');
    assert.equal(r.value, 'v0');
    assert.equal(r.error?.code, 'ERR_ORIGIN_FAILED');
    assert.equal(cache.stats().graceServed, 1);

    clock.advance(5000);
    const late = cache.get('k0');
    const rejection = assert.rejects(late, (e: { code?: string }) => e.code === 'ERR_ORIGIN_FAILED');
    await clock.advanceAsync(5);
    await rejection;
  });

  test('a read that finds its key being prefetched joins the fetch and waits only for the rest', async () => {
    const clock = new VirtualClock();
    const origin = new SlowOrigin(clock, 20, items(3));
    const predictor = new ScriptedPredictor({ k0: [['k1', 0.9]] });
    const cache = new Cache({ origin, clock, predictor, prefetch: { minProbability: 0.1 } });
    const first = cache.get('k0', { session: 's' });
    await clock.advanceAsync(5);
    assert.equal(origin.keysFetched('prefetch'), 1, 'k1 was prefetched while k0 was still loading');
    const joined = cache.get('k1', { session: 's' });
    await clock.advanceAsync(15);
    await first;
    const r = await joined;
    assert.equal(r.wasInflight, true);
    assert.equal(r.value, 'v1');
    assert.equal(origin.keysFetched('demand'), 1, 'k1 never went to the origin on demand');
    assert.equal(cache.stats().prefetch.used, 1);
  });

  test('a miss is fed to the models when it arrives, so its prefetches travel with it, not one origin latency later', async () => {
    const clock = new VirtualClock();
    const origin = new SlowOrigin(clock, 20, items(3));
    const predictor = new ScriptedPredictor({ k0: [['k1', 0.9]] });
    const cache = new Cache({ origin, clock, predictor, prefetch: { minProbability: 0.1 } });
    const first = cache.get('k0', { session: 's' });
    await clock.advanceAsync(0);
    assert.equal(origin.keysFetched('prefetch'), 1, 'k1 left for the origin at the instant k0 missed');
    await clock.advanceAsync(20);
    assert.equal((await first).status, 'miss');
    const next = await cache.get('k1', { session: 's' });
    assert.equal(next.status, 'prefetched', 'k1 had arrived by the time it was read, 20 ms after k0');
  });

  test('a fetch a read starts waits one microtask for its batch, and says so until it is sent', async () => {
    const clock = new VirtualClock();
    const origin = new SlowOrigin(clock, 20, items(3));
    const cache = new Cache({ origin, clock });
    assert.equal(cache.hasUnsentFetches, false);
    const pending = cache.get('k0');
    assert.equal(cache.hasUnsentFetches, true, 'the miss waits for the batch the turn sends');
    assert.equal(origin.keysFetched('demand'), 0);
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    assert.equal(cache.hasUnsentFetches, false);
    assert.equal(origin.keysFetched('demand'), 1);
    await clock.advanceAsync(20);
    assert.equal((await pending).value, 'v0');
  });

  test('a prefetched entry is reported as prefetched on its first read, then as a hit', async () => {
    const clock = new VirtualClock();
    const origin = new SlowOrigin(clock, 20, items(3));
    const cache = new Cache({ origin, clock, predictor: new ScriptedPredictor({ k0: [['k2', 0.8]] }) });
    const first = cache.get('k0', { session: 'a' });
    await clock.advanceAsync(50);
    await first;
    const entry = cache.peek('k2');
    assert.equal(entry?.source, 'prefetch');
    assert.equal(entry?.probability, 0.8);
    assert.equal((await cache.get('k2', { session: 'a' })).status, 'prefetched');
    assert.equal((await cache.get('k2', { session: 'a' })).status, 'hit');
    const stats = cache.stats();
    assert.equal(stats.prefetch.issued, 1);
    assert.equal(stats.prefetch.precision, 1);
    assert.equal(stats.prefetch.coverage, 0.5, 'one demand miss (k0), one miss avoided (k2)');
  });

  test('a failed prefetch never fails a read', async () => {
    const clock = new VirtualClock();
    const origin = new SlowOrigin(clock, 10, items(3));
    const cache = new Cache({ origin, clock, predictor: new ScriptedPredictor({ k0: [['k1', 0.9]] }), prefetch: { retries: 0 } });
    origin.failing = 'prefetch';
    const first = cache.get('k0', { session: 's' });
    await clock.advanceAsync(50);
    assert.equal((await first).value, 'v0');
    assert.equal(cache.stats().scheduler?.failed, 1);
    origin.failing = 'none';
    const second = cache.get('k1', { session: 's' });
    await clock.advanceAsync(10);
    assert.equal((await second).value, 'v1');
  });

  test('the read path drops accesses when the buffer is full, counts them, and still serves', async () => {
    const clock = new VirtualClock();
    const origin = new MapOrigin(items(10));
    const cache = new Cache({ origin, clock, predictor: new ScriptedPredictor({}), accessBufferSize: 4 });
    for (let i = 0; i < 10; i++) assert.equal((await cache.get(`k${i}`)).value, `v${i}`);
    const stats = cache.stats();
    assert.equal(stats.accessBuffer.recorded, 4);
    assert.equal(stats.accessBuffer.dropped, 6);
    clock.advance(0);
    assert.equal(cache.stats().accessBuffer.pending, 0);
  });

  test('a predictor that says it is behind (isBehind) gets nothing recorded: hits and misses are counted dropped', async () => {
    const clock = new VirtualClock();
    const predictor = Object.assign(new ScriptedPredictor({}), { behind: true, isBehind(this: { behind: boolean }) { return this.behind; } });
    const cache = new Cache({ origin: new MapOrigin(items(4)), clock, predictor });
    assert.equal((await cache.get('k0')).status, 'miss');
    assert.equal(cache.getIfPresent('k0')?.status, 'hit');
    clock.advance(0);
    assert.equal(predictor.observed.length, 0, 'nothing reached the models while they were behind');
    assert.equal(cache.stats().accessBuffer.dropped, 2);
    predictor.behind = false;
    assert.equal((await cache.get('k1')).status, 'miss');
    assert.equal(cache.getIfPresent('k1')?.status, 'hit');
    clock.advance(0);
    assert.deepEqual(predictor.observed.map((a) => a.key), ['k1', 'k1'], 'recorded again once it caught up');
    assert.equal(cache.stats().accessBuffer.recorded, 2);
    await cache.close();
  });
});

describe('Cache synchronous hit path', () => {
  test('getIfPresent answers hits synchronously, records them, and never loads', async () => {
    const origin = new MapOrigin(items(3));
    const predictor = new ScriptedPredictor({});
    const cache = new Cache({ origin, clock: new VirtualClock(), predictor });
    assert.equal(cache.getIfPresent('k1', { session: 's' }), undefined);
    assert.equal(origin.calls, 0, 'a miss does not load');
    await cache.get('k1');
    const r = cache.getIfPresent('k1', { session: 's' });
    assert.equal(r?.status, 'hit');
    assert.equal(r?.value, 'v1');
    cache.flush();
    assert.deepEqual(predictor.observed.map((a) => a.key), ['k1', 'k1'], 'the load and the hit were both observed');
    assert.throws(() => cache.getIfPresent(''), { code: 'ERR_INVALID_KEY' });
  });

  test('plain hits answer from the memory tier without an entry, each counted; a new version answers with its value', async () => {
    const cache = new Cache({ origin: new MapOrigin(items(1)), clock: new VirtualClock() });
    await cache.get('k0');
    const first = cache.getIfPresent('k0');
    const second = cache.getIfPresent('k0');
    const plain = { key: 'k0', value: 'v0', isFound: true, version: 1, status: 'hit', servedFrom: 'memory', wasInflight: false };
    assert.deepEqual(first, plain);
    assert.deepEqual(second, plain);
    assert.notEqual(second, first, 'each read gets its own answer: a caller may change it');
    assert.deepEqual(await cache.get('k0'), plain);
    await cache.set('k0', 'local');
    const after = cache.getIfPresent('k0');
    assert.deepEqual([after?.value, after?.version, after?.status], ['local', 2, 'hit']);
    assert.equal(cache.stats().reads.hit, 4);
    assert.equal(cache.peek('k0')?.hits, 1, 'the new entry counted its own hit');
  });

  test('load finishes a read getIfPresent could not answer, without a second look in the memory tier', async () => {
    const origin = new MapOrigin(items(3));
    const cache = new Cache({ origin, clock: new VirtualClock() });
    assert.equal(cache.getIfPresent('k2'), undefined);
    const loaded = await cache.load('k2');
    assert.deepEqual([loaded.value, loaded.status, loaded.servedFrom], ['v2', 'miss', 'origin']);
    assert.equal(cache.stats().memory.misses, 1, 'one read, one tier miss');
    assert.equal(cache.getIfPresent('k2')?.status, 'hit');
    await assert.rejects(cache.load(''), { code: 'ERR_INVALID_KEY' });
    await cache.close();
    await assert.rejects(cache.load('k1'), { code: 'ERR_CLOSED' });
  });

  test('drains at most a bounded batch per turn and finishes on later turns', async () => {
    const clock = new VirtualClock();
    const predictor = new ScriptedPredictor({});
    const cache = new Cache({ origin: new MapOrigin(items(1)), clock, predictor, accessBufferSize: 5000 });
    await cache.get('k0');
    for (let i = 0; i < 2999; i++) cache.getIfPresent('k0');
    assert.equal(clock.step(), true);
    assert.equal(predictor.observed.length, 1024, 'one turn feeds one batch');
    assert.equal(clock.pendingTimers, 1, 'the rest waits for another turn');
    clock.advance(0);
    assert.equal(predictor.observed.length, 3000, 'later turns feed the rest');
  });
});

describe('Cache writes and invalidation', () => {
  test('set stores a new version that reads return without the origin', async () => {
    const origin = new MapOrigin(items(1));
    const cache = new Cache({ origin, clock: new VirtualClock() });
    const entry = await cache.set('k0', 'local');
    assert.equal(entry.version, 1);
    const again = await cache.set('k0', 'local2');
    assert.equal(again.version, 2);
    const r = await cache.get('k0');
    assert.equal(r.value, 'local2');
    assert.equal(origin.calls, 0);
  });

  test('invalidates by keys, prefix and tag', async () => {
    const cache = new Cache({ origin: new MapOrigin<string>(), clock: new VirtualClock() });
    await cache.set('user:1', 'a', { tags: ['t1'] });
    await cache.set('user:2', 'b');
    await cache.set('item:1', 'c', { tags: ['t1'] });
    await cache.set('item:2', 'd');
    assert.equal(await cache.invalidate({ prefix: 'user:' }), 2);
    assert.equal(await cache.invalidate({ tag: 't1' }), 1);
    assert.equal(await cache.invalidate({ keys: ['item:2', 'nope'] }), 1);
    assert.equal(cache.peek('user:1'), undefined);
    assert.equal(cache.peek('item:1'), undefined);
    assert.equal(cache.peek('item:2'), undefined);
  });

  test('a delete up to a version removes an entry at or below it and keeps a newer one', async () => {
    const cache = new Cache({ origin: new MapOrigin<string>(), clock: new VirtualClock() });
    await cache.set('k', 'v200', { version: 200 });
    assert.equal(await cache.delete('k', { maxVersion: 100 }), false);
    assert.equal(cache.peek('k')?.version, 200);
    assert.equal(await cache.delete('k', { maxVersion: 200 }), true);
    assert.equal(cache.peek('k'), undefined);
    await assert.rejects(cache.delete('k', { maxVersion: -1 }), { code: 'ERR_INVALID_OPTION' });
    await assert.rejects(cache.delete('k', { maxVersion: Number.NaN }), { code: 'ERR_INVALID_OPTION' });
  });

  test('a delete during a fetch keeps the fetched value out of the cache', async () => {
    const clock = new VirtualClock();
    const origin = new SlowOrigin(clock, 10, items(1));
    const cache = new Cache({ origin, clock });
    const p = cache.get('k0');
    await flushMicrotasks();
    await cache.delete('k0');
    await clock.advanceAsync(10);
    assert.equal((await p).value, 'v0');
    assert.equal(cache.peek('k0'), undefined);
  });
});

describe('Cache input checks', () => {
  test('rejects bad options at construction with a code naming the option', () => {
    const origin = new MapOrigin();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ maxBytes: -1 }, 'maxBytes'],
      [{ ttlMs: 0 }, 'ttlMs'],
      [{ ttlMs: 100, staleAfterMs: 200 }, 'staleAfterMs'],
      [{ maxBytes: 100, maxEntryBytes: 200 }, 'maxEntryBytes'],
      [{ graceMs: 'soon' }, 'graceMs'],
      [{ clock: {} }, 'clock'],
      [{ prefetch: 3 }, 'prefetch'],
      [{ shadow: { perUserLimit: 0 } }, 'shadow.perUserLimit'],
      [{ shadow: 'on' }, 'shadow'],
    ];
    for (const [bad, option] of cases) {
      assert.throws(
        () => new Cache({ origin, ...bad } as never),
        (e: { code?: string; option?: string; message: string }) => e.code === 'ERR_INVALID_OPTION' && e.option === option && e.message.includes(option),
        option,
      );
    }
    assert.throws(() => new Cache({} as never), (e: { code?: string; option?: string }) => e.code === 'ERR_INVALID_OPTION' && e.option === 'origin');
  });

  test('rejects malformed keys and contexts with coded errors', async () => {
    const cache = new Cache({ origin: new MapOrigin(), clock: new VirtualClock(), maxKeyLength: 8 });
    await assert.rejects(cache.get(''), { code: 'ERR_INVALID_KEY' });
    await assert.rejects(cache.get('123456789'), { code: 'ERR_INVALID_KEY' });
    await assert.rejects(cache.get(42 as never), { code: 'ERR_INVALID_KEY' });
    await assert.rejects(cache.get('ok', { session: 7 } as never), { code: 'ERR_INVALID_CONTEXT' });
    await assert.rejects(cache.get('ok', 'session' as never), { code: 'ERR_INVALID_CONTEXT' });
  });

  test('refuses a value over maxEntryBytes with ERR_VALUE_TOO_LARGE', async () => {
    const cache = new Cache({ origin: new MapOrigin(), clock: new VirtualClock(), maxBytes: 10_000, maxEntryBytes: 1000 });
    await assert.rejects(cache.set('big', 'x'.repeat(2000)), { code: 'ERR_VALUE_TOO_LARGE' });
    assert.equal(cache.peek('big'), undefined);
  });

  test('serves a value over maxEntryBytes from the origin without caching it', async () => {
    const origin = new MapOrigin([['big', 'x'.repeat(2000)]]);
    const cache = new Cache({ origin, clock: new VirtualClock(), maxBytes: 10_000, maxEntryBytes: 1000 });
    assert.equal((await cache.get('big')).value?.length, 2000);
    assert.equal(cache.peek('big'), undefined);
    assert.equal(cache.stats().oversize, 1);
  });

  test('a closed cache rejects reads with ERR_CLOSED', async () => {
    const cache = new Cache({ origin: new MapOrigin(items(1)), clock: new VirtualClock() });
    await cache.get('k0');
    await cache.close();
    await assert.rejects(cache.get('k0'), { code: 'ERR_CLOSED' });
  });
});

describe('Cache shadow catalogs', () => {
  const u1 = { session: 's1', user: 'u1' };

  function predictive(script: Record<string, Array<[string, number]>>, extra: Record<string, unknown> = {}) {
    const clock = new VirtualClock();
    const origin = new MapOrigin(items(40));
    const cache = new Cache<string>({ origin, clock, predictor: new ScriptedPredictor(script), prefetch: { minProbability: 0.01 }, ...extra });
    return { clock, origin, cache };
  }

  /** u1's prediction k1 is prefetched, then pushed out of the memory tier by another session's prefetches. */
  async function evictedFromMemory(extra: Record<string, unknown> = {}) {
    const others: Array<[string, number]> = Array.from({ length: 8 }, (_, i) => [`k${21 + i}`, 0.95]);
    const setup = predictive({ k0: [['k1', 0.9]], k20: others }, { maxBytes: 10, sizeOf: () => 1, memory: { prefetchFraction: 0.5, adaptive: false }, ...extra });
    await setup.cache.get('k0', u1);
    await setup.clock.advanceAsync(1);
    assert.deepEqual(setup.cache.shadow('u1').map((i) => i.key), ['k1']);
    await setup.cache.get('k20', { session: 's2' });
    await setup.clock.advanceAsync(1);
    assert.equal(setup.cache.peek('k1'), undefined, "another session's prefetches pushed k1 out of the memory tier");
    assert.equal(setup.cache.stats().shadow?.bytesOutsideTier, 1, 'the catalog alone keeps k1');
    return setup;
  }

  test("serves a user's predicted item from the catalog first, synchronously, even after the memory tier evicted it", async () => {
    const { cache, origin } = await evictedFromMemory();
    const calls = origin.calls;
    const first = cache.read('k1', u1);
    assert.ok(!(first instanceof Promise), 'a catalog hit answers synchronously');
    assert.deepEqual([first.value, first.status, first.servedFrom, first.version], ['v1', 'prefetched', 'shadow', 1]);
    const second = cache.read('k1', u1);
    assert.ok(!(second instanceof Promise));
    assert.equal(second.status, 'hit');
    assert.equal(origin.calls, calls, 'the origin was not asked');
    const stats = cache.stats();
    assert.equal(stats.shadow?.hits, 2);
    assert.equal(stats.prefetch.used, 1);
    assert.deepEqual([stats.reads.prefetched, stats.reads.hit], [1, 1]);
    assert.equal((await cache.get('k1', { session: 's3' })).servedFrom, 'origin', 'a read without the user goes through the tiers');
  });

  test('an item predicted for many users is fetched once, stored once and listed in every catalog', async () => {
    const { cache, origin, clock } = predictive({ k0: [['k1', 0.9]] });
    for (let u = 0; u < 5; u++) {
      await cache.get('k0', { session: `s${u}`, user: `u${u}` });
      await clock.advanceAsync(1);
    }
    assert.deepEqual(origin.batches.filter((b) => b.purpose === 'prefetch').flatMap((b) => b.keys), ['k1']);
    for (let u = 0; u < 5; u++) assert.deepEqual(cache.shadow(`u${u}`).map((i) => [i.key, i.version, i.probability]), [['k1', 1, 0.9]]);
    const shadow = cache.stats().shadow;
    assert.equal(shadow?.heldKeys, 1);
    assert.equal(shadow?.references, 5);
    assert.equal(shadow?.userCatalogs, 5);
  });

  test('users predicted the same item in one drain all reference it when its one prefetch lands', async () => {
    const { cache, origin, clock } = predictive({ k0: [['k1', 0.9]] });
    await Promise.all([0, 1, 2, 3, 4].map((u) => cache.get('k0', { session: `s${u}`, user: `u${u}` })));
    await clock.advanceAsync(1);
    assert.deepEqual(origin.batches.filter((b) => b.purpose === 'prefetch').flatMap((b) => b.keys), ['k1']);
    for (let u = 0; u < 5; u++) assert.deepEqual(cache.shadow(`u${u}`).map((i) => i.key), ['k1'], `u${u}`);
    assert.equal(cache.stats().shadow?.pendingKeys, 0);
  });

  test('a stale catalog entry is refreshed from the origin before it is served', async () => {
    const { cache, origin, clock } = predictive({ k0: [['k1', 0.9]] }, { ttlMs: 10_000, staleAfterMs: 1000 });
    await cache.get('k0', u1);
    await clock.advanceAsync(1);
    clock.advance(1500);
    assert.equal(cache.shadow('u1')[0].isStale, true);
    origin.records.set('k1', { key: 'k1', value: 'fresh', version: 2 });
    const refreshed = await cache.get('k1', u1);
    assert.deepEqual([refreshed.value, refreshed.version, refreshed.servedFrom], ['fresh', 2, 'origin']);
    assert.deepEqual(origin.batches.at(-1), { keys: ['k1'], purpose: 'demand' });
    assert.equal(cache.stats().shadow?.refreshedBeforeServe, 1);
    const next = cache.read('k1', u1);
    assert.ok(!(next instanceof Promise));
    assert.deepEqual([next.value, next.version, next.servedFrom], ['fresh', 2, 'shadow'], 'the catalog now serves the refreshed entry');
    clock.advance(1500);
    origin.records.set('k1', { key: 'k1', value: 'newer', version: 3 });
    const anonymous = await cache.get('k1');
    assert.deepEqual([anonymous.value, anonymous.status], ['fresh', 'stale'], 'the shared tier still serves stale while revalidating');
  });

  test('when the refresh of a stale catalog entry fails, the entry stands in (with the error) until it expires', async () => {
    const { cache, origin, clock } = await evictedFromMemory({ ttlMs: 10_000, staleAfterMs: 1000 });
    clock.advance(1500);
    origin.getMany = () => Promise.reject(new Error('origin down'));
    const r = await cache.get('k1', u1);
    assert.deepEqual([r.value, r.status, r.error?.code], ['v1', 'stale', 'ERR_ORIGIN_FAILED']);
    clock.advance(10_000);
    await assert.rejects(cache.get('k1', u1), { code: 'ERR_ORIGIN_FAILED' });
  });

  test('a miss updates the catalog asynchronously, never before the read resolves', async () => {
    const { cache, clock } = predictive({ k0: [['k1', 0.9]] });
    const r = await cache.get('k0', u1);
    assert.equal(r.status, 'miss');
    assert.deepEqual(cache.shadow('u1'), [], 'nothing was added on the read path');
    await clock.advanceAsync(1);
    assert.deepEqual(cache.shadow('u1').map((i) => [i.key, i.source]), [['k1', 'scripted']]);
  });

  test('a prediction of an item already cached adds a reference without a fetch', async () => {
    const { cache, origin, clock } = predictive({ k0: [['k2', 0.9]] });
    await cache.get('k2');
    await cache.get('k0', u1);
    await clock.advanceAsync(1);
    assert.equal(origin.batches.filter((b) => b.purpose === 'prefetch').length, 0);
    assert.deepEqual(cache.shadow('u1').map((i) => i.key), ['k2']);
    const r = cache.read('k2', u1);
    assert.ok(!(r instanceof Promise));
    assert.equal(r.servedFrom, 'shadow');
  });

  test('with prefetch off, predictions for a user still reference what is cached', async () => {
    const { cache, origin, clock } = predictive({ k0: [['k2', 0.9], ['k3', 0.9]] }, { prefetch: false });
    await cache.get('k2');
    await cache.get('k0', u1);
    await clock.advanceAsync(1);
    assert.deepEqual(cache.shadow('u1').map((i) => i.key), ['k2']);
    assert.equal(origin.batches.filter((b) => b.purpose === 'prefetch').length, 0);
  });

  test('the per-user bound keeps the most probable predictions', async () => {
    const script: Record<string, Array<[string, number]>> = { k0: [['k1', 0.9], ['k2', 0.5], ['k3', 0.8], ['k4', 0.3], ['k5', 0.7]] };
    const { cache, clock } = predictive(script, { shadow: { perUserLimit: 2 } });
    await cache.get('k0', u1);
    await clock.advanceAsync(1);
    assert.deepEqual(cache.shadow('u1').map((i) => i.key), ['k1', 'k3']);
    assert.deepEqual(cache.shadow('u1', { limit: 1 }).map((i) => i.key), ['k1']);
    assert.equal(cache.stats().shadow?.references, 2);
  });

  test('delete and invalidate drop the catalog references, including items only a catalog still holds', async () => {
    const { cache, clock } = predictive({ k0: [['k1', 0.9], ['k2', 0.9]] });
    await cache.get('k0', u1);
    await clock.advanceAsync(1);
    assert.equal(await cache.delete('k1'), true);
    assert.deepEqual(cache.shadow('u1').map((i) => i.key), ['k2']);
    assert.equal((await cache.get('k1', u1)).servedFrom, 'origin');
    assert.equal(await cache.invalidate({ keys: ['k2'] }), 1);
    assert.deepEqual(cache.shadow('u1'), []);
    const evicted = await evictedFromMemory();
    assert.equal(await evicted.cache.invalidate({ prefix: 'k1' }), 1, 'found in the catalog though not in the tier');
    assert.equal((await evicted.cache.get('k1', u1)).servedFrom, 'origin');
  });

  test('a delete up to a version drops catalog references only to entries at or below it', async () => {
    const { cache } = await evictedFromMemory();
    assert.equal(await cache.delete('k1', { maxVersion: 0 }), false, 'the catalog holds k1 at version 1');
    assert.deepEqual(cache.shadow('u1').map((i) => i.key), ['k1']);
    assert.equal(await cache.delete('k1', { maxVersion: 1 }), true);
    assert.deepEqual(cache.shadow('u1'), []);
  });

  test('a segment catalog serves the reads of that segment', async () => {
    const { cache, clock } = predictive({ k0: [['k1', 0.9]] });
    await cache.get('k0', { session: 's1', segment: 'eu' });
    await clock.advanceAsync(1);
    assert.deepEqual(cache.shadow('eu', { of: 'segment' }).map((i) => i.key), ['k1']);
    assert.deepEqual(cache.shadow('eu'), [], 'users and segments are apart');
    const r = cache.read('k1', { session: 's9', segment: 'eu' });
    assert.ok(!(r instanceof Promise));
    assert.equal(r.servedFrom, 'shadow');
    assert.equal(cache.stats().shadow?.segmentCatalogs, 1);
  });

  test('an unknown user falls through to the tiers; a malformed user id is refused with ERR_INVALID_CONTEXT', async () => {
    const cache = new Cache({ origin: new MapOrigin(items(2)), clock: new VirtualClock() });
    const first = await cache.get('k0', { user: 'nobody' });
    assert.deepEqual([first.status, first.servedFrom], ['miss', 'origin']);
    const second = await cache.get('k0', { user: 'nobody' });
    assert.deepEqual([second.status, second.servedFrom], ['hit', 'memory']);
    assert.deepEqual(cache.shadow('nobody'), []);
    await assert.rejects(cache.get('k0', { user: '' }), { code: 'ERR_INVALID_CONTEXT' });
    assert.throws(() => cache.read('k0', { user: 5 } as never), { code: 'ERR_INVALID_CONTEXT' });
    assert.throws(() => cache.shadow(''), { code: 'ERR_INVALID_CONTEXT' });
    assert.throws(() => cache.shadow('u', { limit: -1 }), { code: 'ERR_INVALID_OPTION' });
  });

  test('shadow: false turns the catalogs off and reads go through the tiers', async () => {
    const { cache, clock } = predictive({ k0: [['k1', 0.9]] }, { shadow: false });
    await cache.get('k0', u1);
    await clock.advanceAsync(1);
    assert.deepEqual(cache.shadow('u1'), []);
    assert.equal(cache.stats().shadow, undefined);
    const r = await cache.get('k1', u1);
    assert.deepEqual([r.status, r.servedFrom], ['prefetched', 'memory']);
  });
});
