/**
 * The write bus between caches: two nodes (A, B) over one shared tier (a FlakyTier, as Redis) and one origin, joined
 * by a MemoryWriteBus on a VirtualClock. What A writes, B stops serving from its memory tier; the shared tier is
 * left to the writer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { cacheChangeTarget } from '../../src/cache/cache-change-target.ts';
import type { CacheFault } from '../../src/cache/cache-options.ts';
import { decodeNotice, encodeNotice, MemoryWriteBus, type WriteNotice } from '../../src/cache/write-bus.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { FlakyTier } from '../doubles/flaky-tier.ts';
import { writeBusContract } from '../contracts/write-bus.contract.ts';

writeBusContract('MemoryWriteBus', async () => {
  const bus = new MemoryWriteBus();
  return { bus, interrupt: async () => bus.interrupt(), close: async () => {} };
});

/** Two caches sharing a tier, an origin and a bus; B's faults are collected. */
async function twoNodes() {
  const clock = new VirtualClock(1_000_000);
  const bus = new MemoryWriteBus();
  const l2 = new FlakyTier<string>(clock);
  const origin = new MapOrigin<string>([['k', 'v1'], ['user:1', 'ann'], ['user:2', 'bob'], ['page:1', 'home']]);
  const faults: CacheFault[] = [];
  const a = new Cache<string>({ origin, l2, bus, clock, ttlMs: 60_000 });
  const b = new Cache<string>({ origin, l2, bus, clock, ttlMs: 60_000, onFault: (f) => faults.push(f) });
  await Promise.all([a.whenSubscribed(), b.whenSubscribed()]);
  return { clock, bus, l2, origin, a, b, faults, close: () => Promise.all([a.close(), b.close()]) };
}

describe('write bus between caches', () => {
  test("a set on one node drops the other node's older copy; its next read takes the new one from the shared tier", async () => {
    const n = await twoNodes();
    assert.equal((await n.b.get('k')).value, 'v1'); // B holds version 1
    assert.equal((await n.a.get('k')).value, 'v1');
    const written = await n.a.set('k', 'v2');
    assert.equal(n.b.peek('k'), undefined, "B's old copy went");
    assert.equal(n.a.peek('k')?.value, 'v2', "A's own notice left its copy alone");
    const read = await n.b.get('k');
    assert.deepEqual([read.value, read.version, read.servedFrom], ['v2', written.version, 'l2']);
    assert.equal(n.b.stats().writeBus?.received, 1);
    assert.equal(n.a.stats().writeBus?.received, 0);
    assert.equal(n.a.stats().writeBus?.published, 1);
    await n.close();
  });

  test('a node keeps a copy newer than the notice; a delete up to a version spares newer copies', async () => {
    const n = await twoNodes();
    await n.b.set('k', 'mine', { version: 10 });
    await n.a.set('k', 'older', { version: 5 }); // B's 10 is newer than what the notice announces
    assert.equal(n.b.peek('k')?.version, 10);
    await n.a.delete('k', { maxVersion: 7 });
    assert.equal(n.b.peek('k')?.version, 10);
    await n.a.delete('k');
    assert.equal(n.b.peek('k'), undefined, 'a delete of every version reaches it');
    await n.close();
  });

  test("invalidate by tag or prefix reaches what the other node holds, though the writer never held it", async () => {
    const n = await twoNodes();
    await n.b.set('user:1', 'ann', { tags: ['people'] });
    await n.b.set('page:1', 'home', { tags: ['pages'] });
    await n.b.get('user:2');
    // A holds nothing tagged (the shared tier indexes no tags): it removes nothing itself, and B drops its own.
    assert.equal(await n.a.invalidate({ tag: 'people' }), 0);
    assert.equal(n.b.peek('user:1'), undefined);
    await flushMicrotasks();
    assert.equal(n.l2.inner.peek('user:1'), undefined, "B's copy in the shared tier went too (A could not find it by tag)");
    assert.equal(n.l2.inner.peek('page:1')?.value, 'home');
    assert.equal(n.b.peek('page:1')?.value, 'home');
    await n.a.invalidate({ prefix: 'user:' });
    assert.equal(n.b.peek('user:2'), undefined);
    assert.equal(n.b.peek('page:1')?.value, 'home');
    await n.a.invalidate({ keys: ['page:1'] });
    assert.equal(n.b.peek('page:1'), undefined);
    assert.equal(n.a.stats().writeBus?.published, 3, 'one notice per selector, not one per key');
    await n.close();
  });

  test("the change feed's deletes are not announced: every node follows the feed itself", async () => {
    const n = await twoNodes();
    await n.b.get('k');
    await cacheChangeTarget(n.a).invalidate(['k'], [1]);
    await flushMicrotasks();
    assert.equal(n.a.stats().writeBus?.published, 0);
    assert.equal(n.b.peek('k')?.version, 1);
    await n.close();
  });

  test('a gap in delivery makes a node forget everything it holds locally; it says it does not listen while its subscription is down', async () => {
    const n = await twoNodes();
    await n.b.get('k');
    await n.b.get('user:1');
    assert.equal(n.b.stats().writeBus?.isSubscribed, true);
    n.bus.disconnect();
    assert.equal(n.b.stats().writeBus?.isSubscribed, false);
    n.bus.interrupt();
    assert.equal(n.b.stats().writeBus?.isSubscribed, true);
    assert.equal(n.b.peek('k'), undefined);
    assert.equal(n.b.peek('user:1'), undefined);
    const stats = n.b.stats().writeBus;
    assert.equal(stats?.removed, 2);
    assert.equal(stats?.forgotten, 2, 'once when it subscribed, once for the gap');
    await n.close();
  });

  test("a notice drops the shared tier's cached replies (Redis's client-side cache) of its keys, every one for a prefix, a tag or a gap", async () => {
    const clock = new VirtualClock(1_000_000);
    const bus = new MemoryWriteBus();
    const dropped: Array<string[] | 'all'> = [];
    const l2 = Object.assign(new FlakyTier<string>(clock), { dropCachedReplies: (keys?: readonly string[]) => void dropped.push(keys === undefined ? 'all' : [...keys]) });
    const origin = new MapOrigin<string>([['k', 'v1'], ['user:1', 'ann']]);
    const a = new Cache<string>({ origin, l2, bus, clock, ttlMs: 60_000 });
    const b = new Cache<string>({ origin, l2, bus, clock, ttlMs: 60_000 });
    await Promise.all([a.whenSubscribed(), b.whenSubscribed()]);
    dropped.length = 0; // (subscribing applies a gap)
    await a.set('k', 'v2');
    await a.delete('k');
    await a.invalidate({ prefix: 'user:' });
    await a.set('t', 'tagged', { tags: ['t'] });
    await a.invalidate({ tag: 't' });
    // (an invalidation by tag names the keys the writer found with it, then the tag itself)
    assert.deepEqual(dropped, [['k'], ['k'], 'all', ['t'], ['t'], 'all'], "B's, for A's notices (A skips its own)");
    dropped.length = 0;
    bus.interrupt();
    assert.deepEqual(dropped, ['all', 'all'], 'a gap, on both nodes');
    await Promise.all([a.close(), b.close()]);
  });

  test('a notice the bus refused is sent again once it is back, and the write did not wait for it', async () => {
    const n = await twoNodes();
    await n.b.get('k');
    await n.a.get('k'); // (the double shared tier has no setNewest: a write without a version goes one above A's copy)
    n.bus.setDown(true);
    const written = await n.a.set('k', 'v2');
    assert.equal(written.value, 'v2');
    assert.equal(n.b.peek('k')?.value, 'v1', 'not told yet');
    assert.deepEqual([n.a.stats().writeBus?.queued, n.a.stats().writeBus?.publishFailures], [1, 1]);
    n.bus.setDown(false);
    n.clock.advance(1_000);
    await flushMicrotasks();
    assert.equal(n.b.peek('k'), undefined);
    assert.deepEqual([n.a.stats().writeBus?.queued, n.a.stats().writeBus?.published], [0, 1]);
    await n.close();
  });

  test('closing a node sends the notices still waiting for a retry (a rolling restart must not leave the others stale)', async () => {
    const n = await twoNodes();
    await n.b.get('k');
    await n.a.get('k');
    n.bus.setDown(true);
    await n.a.set('k', 'v2');
    assert.equal(n.a.stats().writeBus?.queued, 1);
    n.bus.setDown(false);
    await n.a.close(); // before the retry's second
    assert.equal(n.b.peek('k'), undefined);
    assert.equal((await n.b.get('k')).value, 'v2');
    await n.b.close();
  });

  test('past 1,000 notices waiting, the queue collapses into one that makes the other nodes forget everything', async () => {
    const n = await twoNodes();
    await n.b.get('page:1');
    n.bus.setDown(true);
    for (let i = 0; i < 1_001; i++) await n.a.set(`item:${i}`, 'x'); // each write its own notice
    assert.equal(n.a.stats().writeBus?.queued, 1);
    n.bus.setDown(false);
    n.clock.advance(1_000);
    await flushMicrotasks();
    assert.equal(n.b.peek('page:1'), undefined, 'forgotten: B cannot know which of its copies changed');
    assert.equal(n.a.stats().writeBus?.published, 1);
    await n.close();
  });

  test('writes made while a notice is being sent gather into the next one', async () => {
    const n = await twoNodes();
    await Promise.all([...Array.from({ length: 20 }, (_, i) => n.a.set(`x${i}`, 'x')), n.a.delete('k')]);
    const published = n.a.stats().writeBus?.published ?? 0;
    assert.ok(published >= 1 && published <= 3, `${published} notices for 21 writes`);
    assert.equal(n.b.stats().writeBus?.received, published);
    await n.close();
  });

  test('a malformed notice is counted and reported with ERR_INVALID_NOTICE, and the node forgets its local copies (the copies it named are unknown)', async () => {
    const n = await twoNodes();
    const bad = ['not json', '[]', '{"keys":[{"key":"k"}]}', '{"from":"x","keys":[{"key":""}]}', '{"from":"x","keys":[{"key":"k","below":-1}]}', '{"from":"x","keys":[{"key":"k","below":1,"upTo":2}]}', '{"from":"x","keys":[{"key":"k","held":1,"upTo":2}]}', '{"from":"x","extra":1}', '{"from":"x","all":false}', '{"from":"x","prefix":3}'];
    for (const message of bad) {
      await n.b.get('k');
      n.bus.deliver(message);
      assert.equal(n.b.peek('k'), undefined, message);
    }
    assert.equal(n.b.stats().writeBus?.invalid, bad.length);
    assert.equal(n.faults.length, bad.length);
    assert.ok(n.faults.every((f) => f.kind === 'store' && isPrescientError(f.error, 'ERR_INVALID_NOTICE')));
    // A key longer than the cache accepts cannot be held: skipped, not an error.
    await n.b.get('k');
    n.bus.deliver(encodeNotice({ from: 'x', keys: [{ key: 'q'.repeat(5_000) }, { key: 'k' }] }));
    assert.equal(n.b.peek('k'), undefined);
    assert.equal(n.faults.length, bad.length);
    await n.close();
  });

  test("after a delete, the other node reads the writer's next write, not the origin's older row (a receiver refuses no newer copy)", async () => {
    const n = await twoNodes();
    await n.a.get('k');
    await n.a.delete('k'); // B never held it
    await n.a.set('k', 'v3');
    const read = await n.b.get('k');
    assert.deepEqual([read.value, read.servedFrom], ['v3', 'l2']);
    // The same when B held the key at a version as high as the one A writes next.
    await n.b.set('k', 'b', { version: 50 });
    await n.a.get('k');
    await n.a.delete('k');
    await n.a.set('k', 'after');
    assert.equal((await n.b.get('k')).value, 'after');
    await n.close();
  });

  test("after a gap, a node reads the shared tier's copies again: a cache-only write is not replaced by the origin's row", async () => {
    const n = await twoNodes();
    await n.a.get('k');
    await n.a.set('k', 'v2'); // the origin still has v1
    assert.equal((await n.b.get('k')).value, 'v2');
    n.bus.interrupt();
    assert.equal(n.b.peek('k'), undefined);
    const read = await n.b.get('k');
    assert.deepEqual([read.value, read.servedFrom], ['v2', 'l2']);
    await n.close();
  });

  test('changes too large for one notice are split, and every copy they name goes', async () => {
    const n = await twoNodes();
    const keys = Array.from({ length: 500 }, (_, i) => `${'long'.repeat(250)}:${i}`);
    for (const key of keys) n.origin.records.set(key, { key, value: 'v', version: 1 });
    await n.b.getMany(keys);
    await n.a.getMany(keys);
    await n.a.invalidate({ keys });
    assert.ok((n.a.stats().writeBus?.published ?? 0) >= 4, 'split into notices of at most 128 KiB');
    assert.equal(keys.filter((key) => n.b.peek(key) !== undefined).length, 0);
    assert.equal(n.b.stats().writeBus?.invalid, 0);
    await n.close();
  });

  test("a write made while a notice is being sent, whose publish then fails, does not wait for the bus to come back", async () => {
    const clock = new VirtualClock(0);
    const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
    const bus = {
      publish: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
      subscribe: async () => async () => {},
    };
    const cache = new Cache<string>({ origin: new MapOrigin<string>(), bus, clock, onFault: () => {} });
    await cache.whenSubscribed();
    const first = cache.set('a', '1');
    await flushMicrotasks();
    assert.equal(pending.length, 1);
    let isSecondDone = false;
    const second = cache.set('b', '2').then(() => (isSecondDone = true));
    await flushMicrotasks();
    pending[0].reject(new Error('broker down'));
    await first;
    await flushMicrotasks();
    assert.ok(isSecondDone, 'the write that joined the failed publish resolved');
    await cache.set('c', '3'); // and one made while the retry waits
    assert.equal(cache.stats().writeBus?.queued, 3, 'the failed notice, the changes that gathered behind it, and the later one wait for the retry');
    clock.advance(1_000);
    for (let i = 1; i <= 3; i++) {
      await flushMicrotasks();
      pending[i].resolve(); // the retry sends them in order, one at a time
    }
    await flushMicrotasks();
    assert.deepEqual([cache.stats().writeBus?.published, cache.stats().writeBus?.queued, pending.length], [3, 0, 4]);
    await cache.close();
  });

  test('closing the cache ends a subscription that keeps failing: whenSubscribed resolves, no fault after close', async () => {
    const clock = new VirtualClock(0);
    const faults: unknown[] = [];
    const bus = { publish: async () => {}, subscribe: async (): Promise<() => Promise<void>> => Promise.reject(new Error('unreachable')) };
    const cache = new Cache<string>({ origin: new MapOrigin<string>(), bus, clock, onFault: (f) => faults.push(f.error) });
    let isResolved = false;
    void cache.whenSubscribed().then(() => (isResolved = true));
    await flushMicrotasks();
    clock.advance(1_000);
    await flushMicrotasks();
    assert.equal(faults.length, 2, 'one fault per attempt');
    assert.equal(isResolved, false);
    await cache.close();
    await flushMicrotasks();
    assert.equal(isResolved, true);
    clock.advance(5_000);
    await flushMicrotasks();
    assert.equal(faults.length, 2);
    assert.equal(clock.nextTimerAt(), undefined, 'no retry left waiting');
  });

  test('a bus without publish or subscribe is refused at construction, naming the option', () => {
    assert.throws(() => new Cache({ origin: new MapOrigin(), bus: {} as never }), (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION') && /`bus`/.test((e as Error).message));
  });

  test('decodeNotice reads back what encodeNotice wrote', () => {
    const notice: WriteNotice = { from: 'n', keys: [{ key: 'a', below: 2 }, { key: 'b', upTo: 0 }, { key: 'c' }], prefix: 'p', tag: 't' };
    assert.deepEqual(decodeNotice(encodeNotice(notice)), notice);
    assert.throws(() => decodeNotice('x'.repeat((1 << 20) + 1)), (e: unknown) => isPrescientError(e, 'ERR_INVALID_NOTICE'));
  });
});
