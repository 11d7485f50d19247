import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { cacheChangeTarget } from '../../src/cache/cache-change-target.ts';
import { VirtualClock } from '../../src/clock.ts';
import { InvalidOptionError, isPrescientError, type PrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { parseChange } from '../../src/sync/change-batch.ts';
import { ChangeFeed, type ChangeFeedOptions, type ChangeRecord, type ChangeTarget } from '../../src/sync/change-feed.ts';
import { defaultChannel } from '../../src/sync/change-trigger.ts';
import { FlakyTier } from '../doubles/flaky-tier.ts';

/** A listener double: the test delivers notifications and simulates a lost and restored connection. */
class FakeListener {
  onNotify: ((payload: string) => void) | undefined;
  onListen: (() => void) | undefined;
  channel: string | undefined;
  unlistened = 0;

  listen = async (channel: string, onNotify: (p: string) => void, onListen: () => void) => {
    this.channel = channel;
    this.onNotify = onNotify;
    this.onListen = onListen;
    onListen();
    return { unlisten: async () => void this.unlistened++ };
  };

  notify(change: { key?: string; version: number; deleted?: boolean; op?: string; at?: number }): void {
    this.onNotify?.(JSON.stringify(change));
  }

  /** postgres.js calls onlisten again after it re-LISTENs on a new connection. */
  reconnect(): void {
    this.onListen?.();
  }
}

/** A change log standing in for the table: `changes(since, limit)` answers rows past `since`, counting queries. */
class ChangeLog {
  rows: ChangeRecord[] = [];
  queries: Array<{ since: number; limit: number }> = [];
  failing = false;

  write(key: string, version: number, deleted = false): void {
    this.rows = this.rows.filter((r) => r.key !== key);
    this.rows.push({ key, version, deleted });
    this.rows.sort((a, b) => a.version - b.version);
  }

  changes = async (since: number, limit: number): Promise<ChangeRecord[]> => {
    this.queries.push({ since, limit });
    if (this.failing) throw new Error('connection refused');
    return this.rows.filter((r) => r.version > since).slice(0, limit);
  };
}

/** A target double recording calls; versions held are set by the test. */
class RecordingTarget implements ChangeTarget {
  held = new Map<string, number>();
  invalidations: string[][] = [];
  refreshes: string[][] = [];
  /** The version each key was last invalidated or refreshed up to (undefined: every version). */
  upTo = new Map<string, number | undefined>();
  failing = false;

  peekVersion(key: string): number | undefined {
    return this.held.get(key);
  }

  async invalidate(keys: readonly string[], versions?: readonly (number | undefined)[]): Promise<void> {
    if (this.failing) throw new Error('redis down');
    this.invalidations.push([...keys]);
    keys.forEach((k, i) => this.upTo.set(k, versions?.[i]));
    for (const k of keys) this.held.delete(k);
  }

  async refresh(keys: readonly string[], versions?: readonly (number | undefined)[]): Promise<void> {
    if (this.failing) throw new Error('redis down');
    this.refreshes.push([...keys]);
    keys.forEach((k, i) => this.upTo.set(k, versions?.[i]));
  }
}

function setup(overrides: Partial<ChangeFeedOptions> = {}) {
  const clock = new VirtualClock(1_000_000);
  const listener = new FakeListener();
  const log = new ChangeLog();
  const target = new RecordingTarget();
  const failures: PrescientError[] = [];
  const feed = new ChangeFeed({
    table: 'items',
    target,
    clock,
    listen: listener.listen,
    changes: log.changes,
    fromVersion: 0,
    batchMs: 10,
    retryMs: 100,
    catchUpLookback: 0,
    ...overrides,
  });
  feed.on('feed:failed', (e) => failures.push(e));
  return { clock, listener, log, target, feed, failures };
}

describe('ChangeFeed', () => {
  test('coalesces a burst of notifications into one invalidate call per tick', async () => {
    const { clock, listener, target, feed } = setup();
    await feed.start();
    for (let i = 1; i <= 50; i++) listener.notify({ key: `k${i % 5}`, version: i });
    assert.equal(target.invalidations.length, 0, 'nothing before the tick');
    await clock.advanceAsync(10);
    assert.equal(target.invalidations.length, 1);
    assert.deepEqual([...target.invalidations[0]].sort(), ['k0', 'k1', 'k2', 'k3', 'k4']);
    assert.equal(feed.watermark, 50);
    const stats = feed.stats();
    assert.equal(stats.notifications, 50);
    assert.equal(stats.applied, 5);
    assert.equal(stats.batches, 1);
    await feed.close();
  });

  test('applies a change after a quiet window at once, and holds the next ones until batchMs after the last call', async () => {
    const { clock, listener, target, feed } = setup();
    await feed.start();
    listener.notify({ key: 'a', version: 1 });
    await clock.advanceAsync(0);
    assert.deepEqual(target.invalidations, [['a']], 'no window to wait for');
    await clock.advanceAsync(4);
    listener.notify({ key: 'b', version: 2 });
    listener.notify({ key: 'c', version: 3 });
    await clock.advanceAsync(5);
    assert.equal(target.invalidations.length, 1, 'still inside the window of the first call');
    await clock.advanceAsync(1);
    assert.deepEqual(target.invalidations, [['a'], ['b', 'c']]);
    await clock.advanceAsync(50);
    listener.notify({ key: 'd', version: 4 });
    await clock.advanceAsync(0);
    assert.deepEqual(target.invalidations.at(-1), ['d']);
    await feed.close();
  });

  test('ignores a change not newer than the held version (the service write coming back)', async () => {
    const { clock, listener, target, feed } = setup();
    await feed.start();
    target.held.set('own', 7).set('stale', 3).set('same', 5);
    listener.notify({ key: 'own', version: 7 });
    listener.notify({ key: 'stale', version: 4 });
    listener.notify({ key: 'same', version: 5, deleted: true, op: 'delete' });
    listener.notify({ key: 'absent', version: 6 });
    await clock.advanceAsync(10);
    assert.deepEqual([...target.invalidations[0]].sort(), ['absent', 'same', 'stale'], 'a hard delete at the held version invalidates');
    assert.equal(target.held.get('own'), 7);
    assert.equal(feed.stats().ignored, 1);
    assert.equal(feed.watermark, 7);
    await feed.close();
  });

  test('refresh mode refreshes held keys and invalidates the rest and deletions', async () => {
    const { clock, listener, target, feed } = setup({ mode: 'refresh' });
    await feed.start();
    target.held.set('a', 1).set('b', 1);
    listener.notify({ key: 'a', version: 2 });
    listener.notify({ key: 'b', version: 3, deleted: true });
    listener.notify({ key: 'c', version: 4 });
    await clock.advanceAsync(10);
    assert.deepEqual(target.refreshes, [['a']]);
    assert.deepEqual([...target.invalidations[0]].sort(), ['b', 'c']);
    await feed.close();
  });

  test("passes each change's version down to the target, and none for a hard delete", async () => {
    const { clock, listener, log, target, feed } = setup({ mode: 'refresh' });
    await feed.start();
    target.held.set('held', 1);
    listener.notify({ key: 'plain', version: 100 });
    listener.notify({ key: 'tomb', version: 101, deleted: true });
    listener.notify({ key: 'gone', version: 7, deleted: true, op: 'delete' });
    listener.notify({ key: 'held', version: 102 });
    await clock.advanceAsync(10);
    assert.deepEqual(Object.fromEntries(target.upTo), { plain: 100, tomb: 101, gone: undefined, held: 102 });
    assert.deepEqual(target.refreshes, [['held']]);
    log.write('late', 103);
    listener.reconnect();
    await clock.advanceAsync(0);
    assert.equal(target.upTo.get('late'), 103, 'a catch-up row carries its version too');
    await feed.close();
  });

  test('after a lost connection, catches up past the watermark page by page', async () => {
    const { clock, listener, log, target, feed, failures } = setup({ catchUpPageSize: 4 });
    await feed.start();
    assert.deepEqual(log.queries, [{ since: 0, limit: 4 }], 'one catch-up query at start');
    log.write('a', 1);
    listener.notify({ key: 'a', version: 1 });
    await clock.advanceAsync(10);
    assert.equal(feed.watermark, 1);
    for (let v = 2; v <= 10; v++) log.write(`k${v}`, v, v === 10);
    log.queries.length = 0;
    listener.reconnect();
    await clock.advanceAsync(0);
    assert.deepEqual(log.queries.map((q) => q.since), [1, 5, 9], 'three pages of at most four rows');
    const invalidated = target.invalidations.slice(1).flat().sort();
    assert.deepEqual(invalidated, ['k10', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9']);
    assert.equal(feed.watermark, 10);
    const stats = feed.stats();
    assert.equal(stats.reconnects, 1);
    assert.equal(stats.catchUps, 2);
    assert.equal(stats.catchUpPages, 4);
    assert.equal(stats.catchUpRows, 9);
    assert.equal(failures.length, 1);
    assert.equal(failures[0].code, 'ERR_CHANGE_FEED_FAILED');
    await feed.close();
  });

  test('a catch-up reaches back catchUpLookback versions, so a lower version committed late after a gap is applied', async () => {
    for (const lookback of [0, 100]) {
      const { clock, listener, log, target, feed } = setup({ catchUpLookback: lookback });
      await feed.start();
      log.write('b', 200);
      target.held.set('b', 200);
      target.held.set('a', 120);
      listener.notify({ key: 'b', version: 200 });
      await clock.advanceAsync(10);
      assert.equal(feed.watermark, 200);
      // 'a' got version 150 at acknowledgement but committed only now, while the listener was cut off.
      log.write('a', 150);
      log.queries.length = 0;
      const ignoredBefore = feed.stats().ignored;
      listener.reconnect();
      await clock.advanceAsync(0);
      assert.equal(log.queries[0].since, Math.max(0, 200 - lookback));
      const invalidated = target.invalidations.flat();
      if (lookback === 0) {
        assert.equal(target.held.get('a'), 120, 'without a lookback the late row is missed: the cache keeps serving a@120');
      } else {
        assert.ok(invalidated.includes('a'), 'the late-committed lower version is applied');
        assert.equal(target.held.get('b'), 200, 'the re-read change the cache already holds is ignored');
        assert.equal(feed.stats().ignored - ignoredBefore, 1);
      }
      assert.equal(feed.watermark, 200);
      await feed.close();
    }
  });

  test('a reconnect while a catch-up pages sends it back to the watermark minus the lookback: a row committed late in the new gap is applied', async () => {
    let release: (() => void) | undefined;
    let log: ChangeLog | undefined;
    const slowSecondPage = async (since: number, limit: number): Promise<ChangeRecord[]> => {
      if (log!.queries.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return log!.changes(since, limit);
    };
    const s = setup({ catchUpLookback: 15, catchUpPageSize: 2, fromVersion: 100, changes: slowSecondPage });
    const { clock, listener, target, feed } = s;
    log = s.log;
    for (const [key, version] of [['a', 90], ['b', 95], ['c', 99]] as const) {
      log.write(key, version);
      target.held.set(key, version);
    }
    target.held.set('x', 1);
    const started = feed.start();
    await clock.advanceAsync(0);
    assert.ok(release !== undefined, 'the catch-up is on its second page');
    log.write('x', 92); // its NOTIFY is lost while the listener is cut off again
    listener.reconnect();
    release();
    await started;
    await clock.advanceAsync(0);
    assert.ok(target.invalidations.flat().includes('x'), 'x@92 lies below the pages already read, and is applied');
    assert.deepEqual(log.queries.map((q) => q.since).slice(0, 3), [85, 95, 85]);
    assert.equal(feed.watermark, 100);
    await feed.close();
  });

  test('the default lookback is 60 s of HLC time', async () => {
    const fromVersion = 100_000_000;
    const { log, feed } = setup({ fromVersion, catchUpLookback: undefined });
    await feed.start();
    assert.equal(log.queries[0].since, fromVersion - 60_000 * 1024);
    await feed.close();
  });

  test('a failed catch-up is reported and retried from the same version, never thrown', async () => {
    const { clock, listener, log, target, feed, failures } = setup();
    await feed.start();
    log.write('a', 5);
    log.failing = true;
    listener.reconnect();
    await clock.advanceAsync(0);
    assert.equal(failures.length, 2, 'lost connection, then the failed catch-up');
    assert.ok(failures.every((e) => isPrescientError(e, 'ERR_CHANGE_FEED_FAILED')));
    listener.notify({ key: 'b', version: 9 });
    await clock.advanceAsync(10);
    assert.equal(feed.watermark, 0, 'a catch-up is owed from 0: the watermark may not pass it');
    log.failing = false;
    await clock.advanceAsync(100);
    assert.deepEqual(log.queries.at(-1), { since: 0, limit: 1000 });
    assert.ok(target.invalidations.flat().includes('a'));
    assert.equal(feed.watermark, 9);
    await feed.close();
  });

  test('the watermark holds below changes the target failed to apply until a retry succeeds', async () => {
    const { clock, listener, target, feed, failures } = setup();
    await feed.start();
    listener.notify({ key: 'a', version: 3 });
    await clock.advanceAsync(10);
    assert.equal(feed.watermark, 3);
    target.failing = true;
    listener.notify({ key: 'b', version: 4 });
    await clock.advanceAsync(10);
    assert.equal(failures.length, 1);
    target.failing = false;
    listener.notify({ key: 'c', version: 6 });
    assert.equal(feed.watermark, 3);
    await clock.advanceAsync(100);
    assert.deepEqual([...target.invalidations.at(-1)!].sort(), ['b', 'c']);
    assert.equal(feed.watermark, 6);
    await feed.close();
  });

  test('drops malformed payloads and catches up when a notification has no key', async () => {
    const { clock, listener, log, target, feed } = setup();
    await feed.start();
    listener.onNotify?.('not json');
    listener.onNotify?.('{"key":"x"}');
    assert.equal(feed.stats().malformed, 2);
    log.write('long-key', 12);
    listener.notify({ version: 12 });
    await clock.advanceAsync(0);
    assert.deepEqual(target.invalidations, [['long-key']]);
    assert.equal(feed.watermark, 12);
    await feed.close();
  });

  test('reports commit-to-apply lag from the trigger time', async () => {
    const { clock, listener, feed } = setup();
    await feed.start();
    const lags: Array<number | undefined> = [];
    feed.on('changes:applied', (e) => lags.push(...e.changes.map((c) => c.lagMs)));
    listener.notify({ key: 'a', version: 1, at: clock.now() - 3 });
    await clock.advanceAsync(10);
    assert.deepEqual(lags, [3], "applied on the next turn after a quiet window");
    assert.equal(feed.stats().lastLagMs, 3);
    await feed.close();
  });

  test('close applies pending changes, unlistens, and ignores later notifications', async () => {
    const { listener, target, feed } = setup();
    await feed.start();
    assert.equal(listener.channel, defaultChannel('items'));
    listener.notify({ key: 'a', version: 1 });
    await feed.close();
    assert.deepEqual(target.invalidations, [['a']]);
    assert.equal(listener.unlistened, 1);
    listener.notify({ key: 'b', version: 2 });
    assert.equal(feed.stats().notifications, 1);
    await assert.rejects(feed.start(), (e) => isPrescientError(e, 'ERR_CLOSED'));
  });

  test('rejects bad options naming them', () => {
    const base = { table: 'items', target: new RecordingTarget(), listen: new FakeListener().listen, changes: new ChangeLog().changes, fromVersion: 0 };
    const cases: Array<[string, Partial<ChangeFeedOptions>]> = [
      ['table', { table: 'items; drop table x' }],
      ['channel', { channel: 'a"b' }],
      ['mode', { mode: 'reload' as 'refresh' }],
      ['batchMs', { batchMs: -1 }],
      ['target', { target: {} as ChangeTarget }],
      ['url', { fromVersion: undefined }],
      ['maxRetryMs', { retryMs: 1000, maxRetryMs: 10 }],
      ['catchUpLookback', { catchUpLookback: -1 }],
    ];
    for (const [option, bad] of cases) {
      assert.throws(
        () => new ChangeFeed({ ...base, ...bad }),
        (e: unknown) => e instanceof InvalidOptionError && e.option === option,
        option,
      );
    }
  });

  test('parses trigger payloads and refuses anything else', () => {
    assert.deepEqual(parseChange('{"key":"a","version":3,"at":5.5,"deleted":true,"op":"delete"}'), {
      key: 'a', table: undefined, version: 3, isDeleted: true, isHardDelete: true, atMs: 5.5,
    });
    assert.deepEqual(parseChange('{"tbl":"items","op":"truncate","version":7}'), {
      key: '', table: 'items', version: 7, isDeleted: true, isHardDelete: true, isTruncate: true, atMs: undefined,
    });
    assert.equal(parseChange('{"tbl":5,"key":"a","version":1}'), undefined);
    assert.equal(parseChange('{"key":"a","version":-1}'), undefined);
    assert.equal(parseChange('{"key":"","version":1}'), undefined);
    assert.equal(parseChange('[1]'), undefined);
  });
});

describe('cacheChangeTarget', () => {
  test("a node's feed invalidating an older version leaves the newer copy another node wrote to the shared tier", async () => {
    const clock = new VirtualClock(0);
    const l2 = new FlakyTier<string>(clock);
    const origin = new MapOrigin<string>([['k', 'v1']]);
    const node = () => new Cache<string>({ origin, l2, clock, ttlMs: 1e9 });
    const [a, c] = [node(), node()];
    await c.get('k');
    await clock.advanceAsync(0);
    // Node A's write-back acknowledged v200 (in the shared tier, not flushed); node B's flush of v100 commits.
    await a.set('k', 'v200', { version: 200 });
    origin.records.set('k', { key: 'k', value: 'v100', version: 100 });
    const listener = new FakeListener();
    const feed = new ChangeFeed({ table: 'items', target: cacheChangeTarget(c), clock, listen: listener.listen, changes: async () => [], fromVersion: 0 });
    await feed.start();
    listener.notify({ key: 'k', version: 100 });
    await clock.advanceAsync(0);
    assert.equal(c.peek('k'), undefined, "node C's own older copy is gone");
    assert.equal(l2.heldVersion('k'), 200);
    const read = await c.get('k');
    assert.deepEqual([read.value, read.servedFrom], ['v200', 'l2']);
    listener.notify({ key: 'k', version: 200, deleted: true, op: 'delete' });
    await clock.advanceAsync(100);
    assert.equal(l2.heldVersion('k'), undefined, 'a hard DELETE removes every copy');
    assert.equal(c.peek('k'), undefined);
    await feed.close();
    await a.close();
    await c.close();
  });

  test('reads versions with peek, invalidates skipping refused keys, and refresh fetches again', async () => {
    const origin = new MapOrigin<string>([['a', 'a1'], ['b', 'b1']]);
    const cache = new Cache({ origin, clock: new VirtualClock() });
    await cache.get('a');
    await cache.set('b', 'b-local', { version: 5 });
    const target = cacheChangeTarget(cache);
    assert.equal(target.peekVersion('a'), 1);
    assert.equal(target.peekVersion('b'), 5);
    assert.equal(target.peekVersion('c'), undefined);
    await target.invalidate(['a', 'x'.repeat(5000)]);
    assert.equal(cache.peek('a'), undefined, 'a key too long for the cache is skipped, not fatal');
    origin.records.set('b', { key: 'b', value: 'b2', version: 6 });
    await target.refresh?.(['b']);
    await cache.get('b');
    assert.equal(cache.peek('b')?.version, 6);
    await cache.close();
  });
});

describe('ChangeFeed faults and lifecycle', () => {
  test('close during a paging catch-up keeps the watermark at the page reached and emits no catch-up:done', async () => {
    let release: () => void = () => {};
    let isHeld = false;
    const { clock, listener, log, target, feed } = setup({
      catchUpPageSize: 2,
      batchMs: 0,
      changes: async (since, limit) => {
        if (since >= 4) {
          isHeld = true;
          await new Promise<void>((resolve) => { release = resolve; });
        }
        return log.changes(since, limit);
      },
    });
    for (let v = 1; v <= 10; v++) log.write(`k${v}`, v);
    const done: unknown[] = [];
    feed.on('catch-up:done', (e) => done.push(e));
    const started = feed.start().catch((e: unknown) => e);
    await clock.advanceAsync(0);
    assert.ok(isHeld, 'the third page is being read');
    listener.notify({ key: 'z', version: 100 });
    const closed = feed.close();
    release();
    await closed;
    assert.ok(isPrescientError(await started, 'ERR_CLOSED'), 'start() does not resolve a feed closed under it');
    assert.ok(target.invalidations.flat().includes('z'), 'close applied the pending change');
    assert.ok(feed.watermark <= 6, `the watermark stays at the catch-up's position (got ${feed.watermark}), not past unread changes`);
    assert.deepEqual(done, []);
  });

  test('a target whose peekVersion throws has its batch requeued and retried; the watermark waits for it', async () => {
    const { clock, listener, target, feed, failures } = setup({ batchMs: 0 });
    await feed.start();
    const peek = target.peekVersion.bind(target);
    let isFailing = true;
    target.peekVersion = (key) => {
      if (isFailing) throw new Error('transient peek failure');
      return peek(key);
    };
    listener.notify({ key: 'a', version: 5 });
    listener.notify({ key: 'b', version: 6 });
    await clock.advanceAsync(0);
    assert.equal(failures.length, 1);
    assert.equal(feed.watermark, 0, 'the failed batch holds the watermark');
    isFailing = false;
    listener.notify({ key: 'c', version: 7 });
    await clock.advanceAsync(100);
    assert.deepEqual(target.invalidations.flat().sort(), ['a', 'b', 'c']);
    assert.equal(feed.watermark, 7);
    await feed.close();
  });

  test('close while LISTEN is being set up unlistens once it resolves, and start rejects with ERR_CLOSED', async () => {
    let resolveListen: () => void = () => {};
    let unlistened = 0;
    const { feed } = setup({
      listen: async (_channel, _onNotify, onListen) => {
        await new Promise<void>((resolve) => { resolveListen = resolve; });
        onListen();
        return { unlisten: async () => void unlistened++ };
      },
    });
    const started = feed.start().catch((e: unknown) => e);
    await Promise.resolve();
    await feed.close();
    resolveListen();
    assert.ok(isPrescientError(await started, 'ERR_CLOSED'));
    assert.equal(unlistened, 1, 'the LISTEN set up after close() was removed');
    assert.equal(feed.stats().isStarted, false);
  });

  test('a catch-up query that never answers fails at catchUpTimeoutMs and is retried', async () => {
    let isSilent = true;
    const { clock, log, target, feed, failures } = setup({
      catchUpTimeoutMs: 1000,
      changes: (since, limit) => (isSilent ? new Promise(() => {}) : log.changes(since, limit)),
    });
    log.write('a', 3);
    const started = feed.start();
    await clock.advanceAsync(1000);
    await started;
    assert.equal(failures.length, 1);
    assert.ok(isPrescientError(failures[0].cause, 'ERR_ORIGIN_TIMEOUT'));
    isSilent = false;
    await clock.advanceAsync(100);
    assert.deepEqual(target.invalidations, [['a']]);
    assert.equal(feed.watermark, 3);
    await feed.close();
  });

  test('ignores notifications of another table on its channel, and accepts those without a table (older triggers)', async () => {
    const { clock, listener, target, feed } = setup({ table: 'public.items' });
    await feed.start();
    listener.onNotify?.(JSON.stringify({ tbl: 'audit', key: 'a', version: 50 }));
    listener.onNotify?.(JSON.stringify({ tbl: 'items', key: 'b', version: 2 }));
    listener.notify({ key: 'c', version: 3 });
    await clock.advanceAsync(10);
    assert.deepEqual([...target.invalidations.flat()].sort(), ['b', 'c']);
    assert.equal(feed.stats().otherTables, 1);
    assert.equal(feed.watermark, 3);
    await feed.close();
  });

  test('a TRUNCATE invalidates everything through invalidateAll; a target without it is reported and the feed goes on', async () => {
    const all: number[] = [];
    const target = Object.assign(new RecordingTarget(), { invalidateAll: async () => void all.push(1) });
    const { clock, listener, feed, failures } = setup({ target });
    await feed.start();
    listener.notify({ key: 'a', version: 8 });
    listener.onNotify?.(JSON.stringify({ tbl: 'items', op: 'truncate', version: 9 }));
    await clock.advanceAsync(10);
    assert.deepEqual(all, [1]);
    assert.deepEqual(target.invalidations, [['a']]);
    assert.equal(feed.watermark, 9);
    await feed.close();
    const bare = setup();
    await bare.feed.start();
    bare.listener.onNotify?.(JSON.stringify({ tbl: 'items', op: 'truncate', version: 4 }));
    bare.listener.notify({ key: 'a', version: 5 });
    await bare.clock.advanceAsync(10);
    assert.equal(bare.failures.length, 1);
    assert.ok(isPrescientError(bare.failures[0], 'ERR_CHANGE_FEED_FAILED'));
    assert.deepEqual(bare.target.invalidations, [['a']]);
    assert.equal(bare.feed.watermark, 5);
    await bare.feed.close();
    assert.equal(failures.length, 0);
  });

  test('default channels of long or schema-qualified names that share a prefix differ', () => {
    const prefix = 'x'.repeat(50);
    assert.notEqual(defaultChannel(`${prefix}_orders`), defaultChannel(`${prefix}_audit`));
    assert.notEqual(defaultChannel('a.b_c'), defaultChannel('a_b.c'));
    assert.notEqual(defaultChannel('a.b_c'), defaultChannel('a_b_c'));
    assert.equal(defaultChannel('items'), 'prescient_changes_items', 'plain names keep the channel of earlier releases');
    for (const name of [`${prefix}_orders`, 'a.b_c', `s.${'y'.repeat(63)}`]) assert.ok(defaultChannel(name).length <= 63 && /^[A-Za-z_][A-Za-z0-9_$]*$/.test(defaultChannel(name)));
  });
});
