/**
 * Loader: per-key origin failures (OriginFailure from `getManySettled`) fail only their own flights, directly and
 * through a Cache over a TieredOrigin whose archive is down (stale copy within grace, rejection past it), also
 * when the Cache reads through a WriteBack reader.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import type { LoadOutcome } from '../../src/cache/flight.ts';
import { Loader } from '../../src/cache/loader.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError, PrescientError } from '../../src/errors.ts';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import { OriginFailure, type Origin } from '../../src/origin/origin.ts';
import { TieredOrigin } from '../../src/origin/tiered-origin.ts';
import type { WritableOrigin } from '../../src/sync/write-back-options.ts';
import { WriteBack } from '../../src/sync/write-back.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A TieredOrigin over a live map holding `hot` and an archive map holding `cold1`, `cold2`, whose archive can be downed. */
function tieredWithSwitch(): { origin: TieredOrigin<string>; live: MapOrigin<string>; setArchiveDown(isDown: boolean): void } {
  const live = new MapOrigin<string>([['hot', 'live-hot']]);
  const archive = new MapOrigin<string>([['cold1', 'archive-cold1'], ['cold2', 'archive-cold2']]);
  let isDown = false;
  const origin = new TieredOrigin<string>({
    live,
    archive: new FunctionOrigin<string>({ getMany: async (keys) => { if (isDown) throw new Error('archive down'); return archive.getMany(keys); } }),
  });
  return { origin, live, setArchiveDown: (down) => { isDown = down; } };
}

describe('Loader prefetch batches', () => {
  const request = (key: string) => ({ key, probability: 0.5, source: 'test', ctx: {} });
  const loader = (getMany: Origin<string>['getMany']) => new Loader<string>({ origin: { getMany }, maxBatch: 2, isUsable: () => true, onLoaded: () => {} });

  test('a key discarded before its batch left and read again in the same turn is sent once; both readers get the answer', async () => {
    const calls: string[][] = [];
    const l = loader(async (keys) => {
      calls.push([...keys]);
      return keys.map((key) => ({ key, value: `${key}-2`, version: 2 }));
    });
    const before = l.load('a', 'demand');
    l.load('b', 'demand');
    l.discard('a'); // a delete of 'a' in the same turn
    const after = l.load('a', 'demand');
    assert.notEqual(before, after);
    const [first, second] = await Promise.all([before.promise, after.promise]);
    assert.deepEqual(calls, [['b', 'a']]);
    for (const outcome of [first, second]) assert.ok(outcome.from === 'origin' && outcome.record.value === 'a-2');
    assert.equal(before.isDiscarded, true);
    await l.idle();
  });

  test('a prefetch started while a demand batch is being sent goes to the origin once', async () => {
    const calls: Array<{ keys: readonly string[]; purpose: string | undefined }> = [];
    let l: Loader<string>;
    l = new Loader<string>({
      origin: { getMany: async (keys, o) => { calls.push({ keys: [...keys], purpose: o?.purpose }); return keys.map((key) => ({ key, value: key, version: 1 })); } },
      maxBatch: 8,
      isUsable: () => true,
      onLoaded: () => {},
      // As the Cache does: a demand batch leaving refills the prefetch budget, and the scheduler sends at once.
      onOriginSend: (_count, purpose) => {
        if (purpose === 'demand') void l.prefetch([request('p')]);
      },
    });
    await l.load('d', 'demand').promise;
    await l.idle();
    assert.deepEqual(calls, [{ keys: ['d'], purpose: 'demand' }, { keys: ['p'], purpose: 'prefetch' }]);
  });

  test('a batch nobody awaits resolves with its failed requests and raises no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failing = loader(async () => { throw new Error('origin down'); });
      const { failed } = await failing.prefetch([request('a'), request('b'), request('c'), request('a')]);
      assert.deepEqual(failed.map((r) => r.key), ['a', 'b', 'c'], 'each key once, over two origin batches of two');
      assert.equal(failing.inflight, 0);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('a batch whose keys are all in flight resolves at once; a demand read taking over a prefetch gets its error', async () => {
    const ok = loader(async (keys) => keys.map((key) => ({ key, value: key, version: 1 })));
    ok.load('x', 'demand');
    assert.deepEqual(await ok.prefetch([request('x')]), { failed: [] });
    const failing = loader(async () => { throw new Error('origin down'); });
    const batch = failing.prefetch([request('k')]);
    const demand = failing.load('k', 'demand');
    const [read, settled] = await Promise.allSettled([demand.promise, batch]);
    assert.equal(read.status, 'rejected', 'the demand read that joined the prefetch fails with it');
    assert.ok(settled.status === 'fulfilled' && settled.value.failed.length === 1, 'and the batch still reports it');
  });
});

describe('Loader per-key failures', () => {
  test('an OriginFailure rejects its own flight only; the batch is reported as not ok', async () => {
    const failure = new OriginFailure(new PrescientError('ERR_ORIGIN_TIMEOUT', 'b timed out'));
    let getManyCalls = 0;
    const origin: Origin<string> = {
      getMany: async () => { getManyCalls++; return []; },
      getManySettled: async (keys) => keys.map((key) => (key === 'b' ? failure : { key, value: key.toUpperCase(), version: 1 })),
    };
    const loaded: string[] = [];
    const batches: Array<{ keys: readonly string[]; isOk: boolean; failed: readonly string[] }> = [];
    const loader = new Loader<string>({
      origin,
      maxBatch: 256,
      isUsable: () => true,
      onLoaded: (flight) => { loaded.push(flight.key); },
      onOriginBatch: (keys, _purpose, isOk, failed) => { batches.push({ keys, isOk, failed }); },
    });
    const [a, b, c] = ['a', 'b', 'c'].map((key) => loader.load(key, 'demand'));
    const [ra, rb, rc] = await Promise.allSettled([a.promise, b.promise, c.promise]);
    assert.deepEqual(ra, { status: 'fulfilled', value: { from: 'origin', record: { key: 'a', value: 'A', version: 1 } } satisfies LoadOutcome<string> });
    assert.deepEqual(rc.status === 'fulfilled' && rc.value.from === 'origin' ? rc.value.record.value : undefined, 'C');
    assert.equal(rb.status, 'rejected');
    assert.equal((rb as PromiseRejectedResult).reason, failure.error, 'the flight rejects with the key\'s own error');
    assert.deepEqual(loaded, ['a', 'c'], 'a failed key is not stored');
    assert.deepEqual(batches, [{ keys: ['a', 'b', 'c'], isOk: false, failed: ['b'] }]);
    assert.equal(getManyCalls, 0, 'getManySettled is preferred when the origin has it');
    assert.equal(loader.inflight, 0);
  });

  test('through a Cache: archive down fails only archive keys; a stale copy within grace stands in', async () => {
    const clock = new VirtualClock();
    const { origin, setArchiveDown } = tieredWithSwitch();
    const cache = new Cache({ origin, clock, ttlMs: 1000, graceMs: 5000 });
    const failedEvents: Array<readonly string[]> = [];
    cache.on('origin:failed', (e) => failedEvents.push(e.keys));
    assert.equal((await cache.get('cold1')).value, 'archive-cold1');
    clock.advance(2000);
    setArchiveDown(true);
    const liveCallsBefore = origin.stats().live.calls;
    const [hot, cold1, cold2] = await Promise.allSettled([cache.get('hot'), cache.get('cold1'), cache.get('cold2')]);
    assert.equal(origin.stats().live.calls - liveCallsBefore, 1, 'the three misses went out as one batch');
    assert.ok(hot.status === 'fulfilled');
    assert.deepEqual([hot.value.value, hot.value.status, hot.value.error], ['live-hot', 'miss', undefined]);
    assert.ok(cold1.status === 'fulfilled');
    assert.deepEqual([cold1.value.value, cold1.value.status, cold1.value.error?.code], ['archive-cold1', 'stale', 'ERR_ORIGIN_FAILED']);
    assert.ok(cold2.status === 'rejected');
    assert.ok(isPrescientError(cold2.reason, 'ERR_ORIGIN_FAILED'));
    assert.equal(cache.stats().graceServed, 1);
    assert.deepEqual(failedEvents, [['cold1', 'cold2']], "origin:failed names the keys that failed, not the batch's live key");

    clock.advance(5000);
    const [hotAgain, coldLate] = await Promise.allSettled([cache.get('hot'), cache.get('cold1')]);
    assert.ok(hotAgain.status === 'fulfilled' && hotAgain.value.value === 'live-hot');
    assert.ok(coldLate.status === 'rejected' && isPrescientError(coldLate.reason, 'ERR_ORIGIN_FAILED'), 'past grace the failed key rejects');
    setArchiveDown(false);
    assert.equal((await cache.get('cold2')).value, 'archive-cold2', 'a failed key is fetched again once the archive is back');
    await cache.close();
  });

  test('through a WriteBack reader: per-key failures pass through beside pending writes', async () => {
    const clock = new VirtualClock(1_000_000);
    const { origin, setArchiveDown } = tieredWithSwitch();
    const dir = await mkdtemp(join(tmpdir(), 'prescient-loader-'));
    dirs.push(dir);
    const wb = new WriteBack<string>({ origin: origin as WritableOrigin<string>, dir, clock, groupCommitMs: 0, flushIntervalMs: 60_000 });
    await wb.start();
    assert.equal(typeof wb.reader.getManySettled, 'function');
    await wb.put('pending', 'acked');
    setArchiveDown(true);
    const cache = new Cache({ origin: wb.reader, clock });
    const [pending, hot, cold] = await Promise.allSettled([cache.get('pending'), cache.get('hot'), cache.get('cold1')]);
    assert.ok(pending.status === 'fulfilled' && pending.value.value === 'acked');
    assert.ok(hot.status === 'fulfilled' && hot.value.value === 'live-hot');
    assert.ok(cold.status === 'rejected' && isPrescientError(cold.reason, 'ERR_ORIGIN_FAILED'));
    await assert.rejects(wb.reader.getMany(['hot', 'cold1']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'), 'the reader\'s getMany stays all-or-nothing');
    await cache.close();
    await wb.close();
  });
});
