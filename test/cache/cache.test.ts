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
    await clock.advanceAsync(20);
    await first;
    await clock.advanceAsync(5);
    assert.equal(origin.keysFetched('prefetch'), 1, 'k1 was prefetched after k0');
    const joined = cache.get('k1', { session: 's' });
    await clock.advanceAsync(15);
    const r = await joined;
    assert.equal(r.wasInflight, true);
    assert.equal(r.value, 'v1');
    assert.equal(origin.keysFetched('demand'), 1, 'k1 never went to the origin on demand');
    assert.equal(cache.stats().prefetch.used, 1);
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
