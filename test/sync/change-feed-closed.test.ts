/**
 * A ChangeFeed whose cache was closed under it (the cache's `close()` ran first): every target call rejects with
 * ERR_CLOSED for good, so the feed must stop at the first one — report it once, release its listener, retry nothing —
 * and closing the two in either order must end the same way. On a Cache through cacheChangeTarget, a listener
 * double and a change log over a VirtualClock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { cacheChangeTarget } from '../../src/cache/cache-change-target.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError, PrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { ChangeFeed, type ChangeFeedOptions, type ChangeRecord, type ChangeTarget } from '../../src/sync/change-feed.ts';

/** Ten minutes: at the default maxRetryMs (30 s) a feed still retrying would try some twenty times more. */
const longMs = 600_000;

function setup() {
  const clock = new VirtualClock(1_000_000);
  const cache = new Cache<string>({ origin: new MapOrigin<string>([['a', 'a1']]), clock, ttlMs: 1e9 });
  const inner = cacheChangeTarget(cache);
  const calls = { invalidate: 0, queries: 0, unlistened: 0 };
  const target: ChangeTarget = {
    peekVersion: (key) => inner.peekVersion(key),
    invalidate: (keys, versions) => {
      calls.invalidate++;
      return inner.invalidate(keys, versions);
    },
    invalidateAll: () => inner.invalidateAll!(),
  };
  const rows: ChangeRecord[] = [];
  let onNotify: ((payload: string) => void) | undefined;
  let onListen: (() => void) | undefined;
  const feed = new ChangeFeed({
    table: 'items',
    target,
    clock,
    fromVersion: 0,
    catchUpLookback: 0,
    batchMs: 10,
    retryMs: 100,
    listen: async (_channel, notify, listened) => {
      onNotify = notify;
      onListen = listened;
      listened();
      return { unlisten: async () => void calls.unlistened++ };
    },
    changes: async (since, limit) => {
      calls.queries++;
      return rows.filter((r) => r.version > since).slice(0, limit);
    },
  });
  const failures: PrescientError[] = [];
  feed.on('feed:failed', (error) => failures.push(error));
  const notify = (key: string, version: number): void => onNotify?.(JSON.stringify({ key, version }));
  return { clock, cache, feed, calls, rows, failures, notify, reconnect: () => onListen?.() };
}

describe('ChangeFeed after its cache closed', () => {
  test('a notification the closed cache refuses stops the feed: reported once as ERR_CLOSED, listener released, no retries', { timeout: 10_000 }, async () => {
    const s = setup();
    await s.feed.start();
    await s.cache.close();
    s.notify('a', 7);
    await s.clock.advanceAsync(longMs);
    assert.equal(s.calls.invalidate, 1, 'tried once, never again');
    assert.equal(s.failures.length, 1);
    assert.ok(isPrescientError(s.failures[0], 'ERR_CLOSED'), `reported as ERR_CLOSED, got ${s.failures[0]?.code}`);
    assert.equal(s.calls.unlistened, 1, 'the listener was released');
    assert.equal(s.feed.stats().isStarted, false);
    assert.equal(s.clock.pendingTimers, 0, 'no retry waits');
    s.notify('a', 8); // (a notification racing the unlisten is dropped)
    await s.clock.advanceAsync(longMs);
    assert.equal(s.calls.invalidate, 1);
    await s.feed.close();
    assert.equal(s.failures.length, 1);
    await assert.rejects(s.feed.start(), (e: unknown) => isPrescientError(e, 'ERR_CLOSED'));
  });

  test('a catch-up whose page the closed cache refuses stops the feed instead of re-reading the page for ever', { timeout: 10_000 }, async () => {
    const s = setup();
    await s.feed.start();
    const queriesBefore = s.calls.queries;
    await s.cache.close();
    s.rows.push({ key: 'a', version: 9 });
    s.reconnect(); // a lost listener connection: the feed catches up
    await s.clock.advanceAsync(longMs);
    assert.equal(s.calls.queries, queriesBefore + 1, 'the page was read once');
    assert.equal(s.failures.filter((e) => isPrescientError(e, 'ERR_CLOSED')).length, 1);
    assert.equal(s.calls.unlistened, 1);
    assert.equal(s.clock.pendingTimers, 0);
    await s.feed.close();
  });

  for (const order of ['cache first', 'feed first'] as const) {
    test(`closing both with changes pending, ${order}: both resolve, nothing is reported, nothing waits`, { timeout: 10_000 }, async () => {
      const s = setup();
      await s.feed.start();
      s.notify('a', 3);
      await s.clock.advanceAsync(10);
      s.notify('a', 4); // pending: inside the batch window after the first call
      if (order === 'cache first') {
        await s.cache.close();
        await s.feed.close();
      } else {
        await s.feed.close();
        await s.cache.close();
      }
      await s.clock.advanceAsync(longMs);
      assert.deepEqual(s.failures.map((e) => e.code), []);
      assert.equal(s.calls.unlistened, 1);
      assert.equal(s.clock.pendingTimers, 0);
    });
  }

  test('a feed listener that throws neither unwinds the feed nor keeps the event from the listeners after it', { timeout: 10_000 }, async () => {
    const s = setup();
    const heard: string[] = [];
    s.feed.on('changes:applied', () => {
      throw new Error('listener fails');
    });
    s.feed.on('changes:applied', ({ changes }) => heard.push(...changes.map((c) => c.key)));
    await s.feed.start();
    s.notify('a', 7);
    await s.clock.advanceAsync(1_000);
    s.notify('a', 8);
    await s.clock.advanceAsync(1_000);
    assert.deepEqual(heard, ['a', 'a'], 'the second listener heard both batches');
    assert.deepEqual(s.failures, []);
    await s.feed.close();
  });

  test('after the feed closed itself, a caller\'s close() resolves only once the listener is released', { timeout: 10_000 }, async () => {
    let release: () => void = () => {};
    let released = false;
    const refused = { peekVersion: () => 1, invalidate: async () => Promise.reject(new PrescientError('ERR_CLOSED', 'The cache is closed')) };
    const unlisten = (): Promise<void> => new Promise<void>((resolve) => (release = () => ((released = true), resolve())));
    const { clock, feed, notify } = bareFeed(refused, {}, unlisten);
    await feed.start();
    notify(JSON.stringify({ key: 'a', version: 2 }));
    await clock.advanceAsync(20); // the flush meets ERR_CLOSED: the feed closes itself, its unlisten still pending
    let resolved = false;
    const closing = feed.close().then(() => (resolved = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(resolved, false, 'close() waits for the self-close under way');
    release();
    await closing;
    assert.equal(released, true);
  });

  test('a logger that throws loses no change: the failed batch is retried and applied', { timeout: 10_000 }, async () => {
    let failNext = true;
    let applied = 0;
    const busyOnce: ChangeTarget = {
      peekVersion: () => undefined,
      invalidate: async () => {
        if (failNext) throw ((failNext = false), new Error('target busy'));
        applied++;
      },
    };
    const logger = {
      warn: () => {
        throw new Error('logger down');
      },
    };
    const { clock, feed, notify } = bareFeed(busyOnce, { catchUpLookback: 0, retryMs: 100, logger: logger as never });
    await feed.start();
    notify(JSON.stringify({ key: 'a', version: 7 }));
    notify('not json'); // (its warning throws too)
    await clock.advanceAsync(60_000);
    assert.equal(applied, 1);
    await feed.close();
  });

  test('close() called again by a listener the closing flush reaches is the same close: the listener is released once', { timeout: 10_000 }, async () => {
    let unlistened = 0;
    const noInvalidateAll = { peekVersion: () => undefined, invalidate: async () => {} }; // a truncate is reported
    const { feed, notify } = bareFeed(noInvalidateAll, { catchUpLookback: 0, batchMs: 10_000 }, async () => void unlistened++);
    await feed.start();
    let inner: Promise<void> | undefined;
    feed.on('feed:failed', () => void (inner ??= feed.close()));
    notify(JSON.stringify({ op: 'truncate', version: 5 }));
    const outer = feed.close();
    await outer;
    await inner;
    assert.ok(inner !== undefined, 'the listener heard the failure during close');
    assert.equal(inner, outer);
    assert.equal(unlistened, 1);
  });

  test('an unlisten that throws at once: the self-close after ERR_CLOSED and close() both resolve, nothing unhandled', { timeout: 10_000 }, async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const refused = { peekVersion: () => undefined, invalidate: async () => Promise.reject(new PrescientError('ERR_CLOSED', 'The cache is closed')) };
      const throwsAtOnce = (): never => {
        throw new Error('unlisten fails at once');
      };
      const { clock, feed, notify } = bareFeed(refused, { catchUpLookback: 0 }, throwsAtOnce);
      await feed.start();
      notify(JSON.stringify({ key: 'a', version: 7 }));
      await clock.advanceAsync(100);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await feed.close();
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

/**
 * A feed over `target` on its own VirtualClock (batchMs 10 unless `options` say otherwise), with a listener double:
 * `notify` delivers a payload, and releasing the listener runs `unlisten`.
 */
function bareFeed(target: ChangeTarget, options: Partial<ChangeFeedOptions>, unlisten: () => Promise<unknown> = async () => {}) {
  const clock = new VirtualClock(1_000_000);
  let onNotify: ((payload: string) => void) | undefined;
  const feed = new ChangeFeed({
    table: 'items',
    clock,
    fromVersion: 0,
    batchMs: 10,
    target,
    listen: async (_channel, notify, listened) => {
      onNotify = notify;
      listened();
      return { unlisten };
    },
    changes: async () => [],
    ...options,
  });
  return { clock, feed, notify: (payload: string): void => onNotify?.(payload) };
}
