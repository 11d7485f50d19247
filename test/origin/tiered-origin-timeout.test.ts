/**
 * TieredOrigin's archive deadline (`archiveTimeoutMs`, on the injected clock): a slow or hung archive fails only the
 * keys that needed it (ERR_ORIGIN_TIMEOUT), the live keys batched with them are answered, and the archive call is
 * aborted; `getMany` stays all-or-nothing and rejects at the deadline.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import { isOriginFailure, type FetchOptions, type OriginRecord } from '../../src/origin/origin.ts';
import { TieredOrigin } from '../../src/origin/tiered-origin.ts';

/** An archive that answers after `delayMs` of virtual time (never, when undefined), noting the signals it was given. */
function slowArchive(clock: VirtualClock, delayMs?: number) {
  const signals: Array<AbortSignal | undefined> = [];
  const archive = new FunctionOrigin<string>({
    getMany: (keys, options?: FetchOptions) => {
      signals.push(options?.signal);
      return new Promise<Array<OriginRecord<string> | undefined>>((resolve) => {
        if (delayMs !== undefined) clock.setTimer(delayMs, () => resolve(keys.map((key) => ({ key, value: `archived-${key}`, version: 1 }))));
      });
    },
  });
  return { archive, signals };
}

/** Resolves to whether `promise` has settled after the microtasks queued so far ran. */
function watch<T>(promise: Promise<T>): { readonly isSettled: () => boolean } {
  let isSettled = false;
  promise.then(() => { isSettled = true; }, () => { isSettled = true; });
  return { isSettled: () => isSettled };
}

describe('TieredOrigin archiveTimeoutMs', () => {
  test('a hung archive: the live key batched with a cold key is served at the deadline, the cold key fails with ERR_ORIGIN_TIMEOUT', async () => {
    const clock = new VirtualClock(0);
    const { archive, signals } = slowArchive(clock);
    const tiered = new TieredOrigin<string>({ live: new MapOrigin([['hot', 'H']]), archive, clock, archiveTimeoutMs: 500 });
    const cache = new Cache<string>({ origin: tiered, clock });
    const hot = cache.get('hot');
    const cold = cache.get('cold');
    const coldRejected = assert.rejects(cold, (e) => isPrescientError(e, 'ERR_ORIGIN_TIMEOUT'));
    const hotWatch = watch(hot);
    await clock.advanceAsync(499);
    assert.equal(hotWatch.isSettled(), false, 'the batch waits for the archive until the deadline');
    await clock.advanceAsync(1);
    assert.equal((await hot).value, 'H');
    await coldRejected;
    assert.equal(signals.length, 1);
    assert.equal(signals[0]?.aborted, true, 'the archive call is aborted at the deadline');
    assert.ok(isPrescientError(signals[0]?.reason, 'ERR_ORIGIN_TIMEOUT'));
    const stats = tiered.stats().archive;
    assert.deepEqual([stats.calls, stats.errors, stats.meanMs], [1, 1, 500]);
    assert.equal(cache.peek('cold'), undefined);
    await cache.close();
  });

  test('getManySettled answers the live records and an OriginFailure (ERR_ORIGIN_TIMEOUT) for every archive key', async () => {
    const clock = new VirtualClock(0);
    const { archive } = slowArchive(clock, 10_000);
    const tiered = new TieredOrigin<string>({ live: new MapOrigin([['hot', 'H']]), archive, clock, archiveTimeoutMs: 100 });
    const answering = tiered.getManySettled(['cold', 'hot', 'cold2', 'cold']);
    await clock.advanceAsync(100);
    const answers = await answering;
    assert.equal((answers[1] as OriginRecord<string>).value, 'H');
    for (const i of [0, 2, 3]) {
      const failure = answers[i];
      assert.ok(isOriginFailure(failure) && isPrescientError(failure.error, 'ERR_ORIGIN_TIMEOUT'), `answer ${i}`);
      assert.deepEqual((failure.error as { keys?: string[] }).keys, ['cold', 'cold2']);
    }
    assert.equal(clock.pendingTimers, 1, 'only the archive\'s own late answer is still waiting');
  });

  test('getManySettled rejects as a whole with ERR_ORIGIN_TIMEOUT when no key was answered live', async () => {
    const clock = new VirtualClock(0);
    const tiered = new TieredOrigin<string>({ live: new MapOrigin(), archive: slowArchive(clock).archive, clock, archiveTimeoutMs: 100 });
    const rejected = assert.rejects(tiered.getManySettled(['cold']), (e) => isPrescientError(e, 'ERR_ORIGIN_TIMEOUT'));
    await clock.advanceAsync(100);
    await rejected;
  });

  test('getMany stays all-or-nothing: it rejects with ERR_ORIGIN_TIMEOUT at the deadline rather than wait', async () => {
    const clock = new VirtualClock(0);
    const tiered = new TieredOrigin<string>({ live: new MapOrigin([['hot', 'H']]), archive: slowArchive(clock).archive, clock, archiveTimeoutMs: 100 });
    const rejected = assert.rejects(tiered.getMany(['hot', 'cold']),
      (e) => isPrescientError(e, 'ERR_ORIGIN_TIMEOUT') && (e as { keys?: string[] }).keys?.join() === 'cold');
    await clock.advanceAsync(100);
    await rejected;
  });

  test('an archive answering within the deadline is used and its timer cleared', async () => {
    const clock = new VirtualClock(0);
    const { archive, signals } = slowArchive(clock, 99);
    const tiered = new TieredOrigin<string>({ live: new MapOrigin([['hot', 'H']]), archive, clock, archiveTimeoutMs: 100 });
    const answering = tiered.getMany(['hot', 'cold']);
    await clock.advanceAsync(99);
    assert.deepEqual((await answering).map((r) => r?.value), ['H', 'archived-cold']);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(signals[0]?.aborted, false);
  });

  test('defaults to 2000 ms', async () => {
    const clock = new VirtualClock(0);
    const tiered = new TieredOrigin<string>({ live: new MapOrigin([['hot', 'H']]), archive: slowArchive(clock).archive, clock });
    const answering = tiered.getManySettled(['hot', 'cold']);
    const w = watch(answering);
    await clock.advanceAsync(1999);
    assert.equal(w.isSettled(), false);
    await clock.advanceAsync(1);
    assert.ok(isOriginFailure((await answering)[1]));
  });

  test('0 means no deadline', async () => {
    const clock = new VirtualClock(0);
    const tiered = new TieredOrigin<string>({ live: new MapOrigin([['hot', 'H']]), archive: slowArchive(clock).archive, clock, archiveTimeoutMs: 0 });
    const w = watch(tiered.getManySettled(['hot', 'cold']));
    await clock.advanceAsync(1_000_000);
    assert.equal(w.isSettled(), false);
    assert.equal(clock.pendingTimers, 0);
  });

  test('the caller\'s signal still aborts the archive call', async () => {
    const clock = new VirtualClock(0);
    const { archive, signals } = slowArchive(clock);
    const tiered = new TieredOrigin<string>({ live: new MapOrigin(), archive, clock, archiveTimeoutMs: 100 });
    const controller = new AbortController();
    const rejected = assert.rejects(tiered.getMany(['cold'], { signal: controller.signal }), (e) => isPrescientError(e, 'ERR_ORIGIN_TIMEOUT'));
    await clock.advanceAsync(0);
    controller.abort(new Error('reader gone'));
    assert.equal(signals[0]?.aborted, true);
    assert.equal((signals[0]?.reason as Error).message, 'reader gone');
    await clock.advanceAsync(100);
    await rejected;
  });

  test('rejects an archiveTimeoutMs that is not a non-negative integer with ERR_INVALID_OPTION naming it', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '100', null]) {
      assert.throws(
        () => new TieredOrigin({ live: new MapOrigin(), archive: new MapOrigin(), archiveTimeoutMs: bad as never }),
        (e) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as { option?: string }).option === 'archiveTimeoutMs',
        String(bad),
      );
    }
  });
});
