/**
 * The write bus's review fixes, on a MemoryWriteBus and FlakyTier doubles over a VirtualClock: a delete below a
 * version announced with the deleting node's floor, versions on the wire that must be safe integers, a failed
 * listing's repair clear announced, a tag invalidation whose receivers leave the shared tier to the writer, close
 * waiting for the writes in flight, writes after close refused, and the version floors' bound as an option.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import type { CacheFault } from '../../src/cache/cache-options.ts';
import { createEntry, type Entry } from '../../src/cache/entry.ts';
import { VersionFloors } from '../../src/cache/version-floors.ts';
import { decodeNotice, MemoryWriteBus } from '../../src/cache/write-bus.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { isPrescientError, PrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { FlakyTier } from '../doubles/flaky-tier.ts';

/** A FlakyTier that lists keys by prefix and by tag (as RedisTier does), can fail those listings, and can hold writes and deletes. */
class ListingTier<V> extends FlakyTier<V> {
  failListing = false;
  /** While set, strict writes wait for it. */
  writeGate: Promise<void> | undefined;
  /** Virtual ms a strict delete takes (a round trip): a receiver's delete then lands after the writer's next write. */
  deleteLatencyMs = 0;
  readonly #clock: VirtualClock;

  constructor(clock: VirtualClock) {
    super(clock);
    this.#clock = clock;
  }

  async keysWithPrefix(prefix: string): Promise<string[]> {
    if (this.failListing) throw new PrescientError('ERR_TIER_FAILED', 'SCAN timed out');
    return [...this.inner.entries()].map((e) => e.key).filter((key) => key.startsWith(prefix));
  }

  async keysWithTag(tag: string): Promise<string[]> {
    if (this.failListing) throw new PrescientError('ERR_TIER_FAILED', 'tag listing timed out');
    return [...this.inner.entries()].filter((e) => e.tags.includes(tag)).map((e) => e.key);
  }

  override async setStrict(entry: Entry<V>): Promise<boolean> {
    if (this.writeGate !== undefined) await this.writeGate;
    return super.setStrict(entry);
  }

  override async deleteStrict(key: string, maxVersion?: number): Promise<boolean> {
    if (this.deleteLatencyMs > 0) await new Promise<void>((resolve) => this.#clock.setTimer(this.deleteLatencyMs, resolve));
    return super.deleteStrict(key, maxVersion);
  }
}

/** `count` caches over one ListingTier, origin and MemoryWriteBus; each node's faults are collected. */
async function nodes(count: number, options: { maxFloorKeys?: number } = {}) {
  const clock = new VirtualClock(1_000_000);
  const bus = new MemoryWriteBus();
  const l2 = new ListingTier<string>(clock);
  const origin = new MapOrigin<string>();
  const faults: CacheFault[][] = [];
  const caches = Array.from({ length: count }, (_, i) => {
    faults.push([]);
    return new Cache<string>({ origin, l2, bus, clock, ttlMs: 600_000, onFault: (f) => faults[i].push(f), ...options });
  });
  await Promise.all(caches.map((c) => c.whenSubscribed()));
  /** Stores `value` at `version` straight into the shared tier: another node's late store of an older load. */
  const lateShared = (key: string, value: string, version: number, tags: readonly string[] = []): void => {
    l2.inner.set(createEntry({ key, value, version, sizeBytes: 10, now: clock.now(), ttlMs: 600_000, staleAfterMs: 600_000, tags }));
  };
  /** Awaits `work` while advancing the clock a ms at a time (timers of the tier's latency). */
  const drive = async <T>(work: Promise<T>): Promise<T> => {
    let isDone = false;
    const settled = work.finally(() => (isDone = true));
    settled.catch(() => {});
    for (let i = 0; i < 10_000 && !isDone; i++) await clock.advanceAsync(1);
    return work;
  };
  return { clock, bus, l2, origin, caches, faults, lateShared, drive, close: () => Promise.all(caches.map((c) => c.close())) };
}

describe('write bus fixes', () => {
  test("an announced delete below v leaves the other nodes the floor v the deleting node keeps: a late store of v - 1 is not read there", async () => {
    const n = await nodes(2);
    const [a, b] = n.caches;
    n.origin.records.set('k', { key: 'k', value: 'row-v5', version: 5 });
    n.lateShared('k', 'old-v4', 4);
    assert.equal((await b.get('k')).version, 4, 'B holds the old copy, read from the shared tier');
    assert.equal((await a.get('k')).version, 4);
    await a.delete('k', { below: 5 });
    assert.equal(b.peek('k'), undefined, 'B dropped its copy below 5');
    n.lateShared('k', 'old-v4', 4); // a load begun before the change stores the older row again
    const read = await b.get('k');
    assert.deepEqual([read.value, read.version], ['row-v5', 5], 'B refuses the shared v4, as A does, and reads the origin');
    assert.equal(b.peek('k')?.version, 5);
    assert.equal(b.stats().sharedTier?.belowFloor, 1);
    assert.deepEqual(n.faults[1], []);
    await n.close();
  });

  test('the key change of a delete below a version is read strictly; an old-format delete up to a version still applies', async () => {
    assert.deepEqual(decodeNotice('{"from":"n","keys":[{"key":"k","under":5}]}'), { from: 'n', keys: [{ key: 'k', under: 5 }] });
    for (const bad of ['{"key":"k","under":-1}', '{"key":"k","under":1.5}', '{"key":"k","under":"5"}', '{"key":"k","under":5,"upTo":4}', '{"key":"k","under":5,"held":0}']) {
      assert.throws(() => decodeNotice(`{"from":"n","keys":[${bad}]}`), (e: unknown) => isPrescientError(e, 'ERR_INVALID_NOTICE'), bad);
    }
    const n = await nodes(1);
    const [b] = n.caches;
    await b.set('k', 'mine', { version: 4 });
    n.bus.deliver(JSON.stringify({ from: 'old-node', keys: [{ key: 'k', upTo: 4 }] }));
    assert.equal(b.peek('k'), undefined, 'a delete up to 4 from a node not upgraded yet');
    assert.equal(b.stats().writeBus?.invalid, 0);
    await n.close();
  });

  test('a notice whose version is not a safe integer >= 0 is counted invalid and applied nowhere: the key stays writable', async () => {
    const n = await nodes(1);
    const [b] = n.caches;
    await b.set('k', 'v', { version: 1 });
    const forgotten = b.stats().writeBus!.forgotten;
    for (const version of [1e300, 2 ** 53, 1.5, -1]) {
      n.bus.deliver(JSON.stringify({ from: 'peer', keys: [{ key: 'k', below: version }] }));
      n.bus.deliver(JSON.stringify({ from: 'peer', keys: [{ key: 'k', upTo: version }] }));
      n.bus.deliver(JSON.stringify({ from: 'peer', keys: [{ key: 'k', held: version }] }));
    }
    assert.equal(b.stats().writeBus?.invalid, 12);
    assert.equal(b.stats().writeBus?.received, 0);
    assert.equal(b.stats().writeBus?.forgotten, forgotten + 12, 'each is a gap, as any malformed notice');
    assert.equal(n.faults[0].filter((f) => isPrescientError(f.error, 'ERR_INVALID_NOTICE')).length, 12);
    const written = await b.set('k', 'next');
    assert.equal(written.version, 1, 'no floor was taken from the bad notices (the key was forgotten by the gaps)');
    assert.equal(b.stats().sharedTier?.floorKeys, 0);
    await n.close();
  });

  test("a prefix invalidation whose shared-tier listing failed: once the repair pass cleared the tier, the other nodes forget the copies they re-read from it", async () => {
    const n = await nodes(2);
    const [a, b] = n.caches;
    n.origin.records.set('p:2', { key: 'p:2', value: 'old', version: 1 });
    assert.equal((await b.get('p:2')).value, 'old');
    await flushMicrotasks(); // (B's load is stored in the shared tier)
    assert.equal(n.l2.inner.peek('p:2')?.value, 'old');
    n.origin.records.set('p:2', { key: 'p:2', value: 'new', version: 2 });
    n.l2.failListing = true;
    await a.invalidate({ prefix: 'p:' });
    n.l2.failListing = false;
    assert.equal(a.stats().sharedTier?.isDistrusted, true);
    // Until the clear, B can still read the copy the failed listing left in the shared tier (it holds it again).
    assert.equal((await b.get('p:2')).value, 'old');
    assert.equal(b.peek('p:2')?.value, 'old');
    assert.equal((await a.get('p:2')).value, 'new', 'A distrusts the shared tier: it reads the origin');
    const forgotten = b.stats().writeBus!.forgotten;
    await n.clock.advanceAsync(1_000); // A's repair pass clears the tier, then announces `all`
    assert.equal(n.l2.clears, 1);
    assert.equal(a.stats().sharedTier?.isDistrusted, false);
    assert.equal(b.stats().writeBus?.forgotten, forgotten + 1, 'B heard the `all` that followed the clear');
    assert.equal(b.peek('p:2'), undefined);
    assert.equal((await b.get('p:2')).value, 'new');
    await n.close();
  });

  test("after invalidate({ tag }), the writer's next write of a tagged key survives in the shared tier, and every node reads it", { timeout: 10_000 }, async () => {
    const n = await nodes(3);
    const [a, b, c] = n.caches;
    n.l2.deleteLatencyMs = 5; // a delete takes a round trip: a receiver's delete would land after A's next write
    await n.drive(b.set('k', 'tagged', { tags: ['t'], version: 5 }));
    assert.equal(await n.drive(a.invalidate({ tag: 't' })), 1, "A found B's tagged copy through the tier's tag index");
    assert.equal(b.peek('k'), undefined);
    assert.equal(n.l2.inner.peek('k'), undefined);
    const written = await n.drive(a.set('k', 'after-invalidate'));
    assert.equal(written.version, 1, 'a delete erased the version history: the write starts over');
    await n.clock.advanceAsync(50); // (any receiver's delete still on its way lands)
    assert.deepEqual([n.l2.inner.peek('k')?.value, n.l2.inner.peek('k')?.version], ['after-invalidate', 1], "A's acknowledged write is still in the shared tier");
    assert.equal((await n.drive(b.get('k'))).value, 'after-invalidate');
    assert.equal((await n.drive(c.get('k'))).value, 'after-invalidate', "C, which held a floor of 5 from B's write, reads it too");
    assert.deepEqual(n.faults, [[], [], []]);
    await n.close();
  });

  test("a receiver's shared delete for a tag (a tier that cannot list tags) that rejects is reported, not an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const clock = new VirtualClock(0);
      const bus = new MemoryWriteBus();
      const flaky = new FlakyTier<string>(clock);
      let isFailing = false;
      // A plain tier (no strict methods, no tag listing) whose delete fails while its backend is unreachable.
      const l2 = {
        name: 'plain', get: (k: string) => flaky.get(k), getMany: (ks: readonly string[]) => flaky.getMany(ks), set: (e: Entry<string>) => flaky.set(e),
        clear: () => flaky.clear(), stats: () => flaky.stats(),
        async delete(k: string): Promise<boolean> {
          if (isFailing) throw new Error('backend unreachable');
          return flaky.delete(k);
        },
      };
      const faults: CacheFault[] = [];
      const origin = new MapOrigin<string>();
      const a = new Cache<string>({ origin, l2, bus, clock });
      const b = new Cache<string>({ origin, l2, bus, clock, onFault: (f) => faults.push(f) });
      await Promise.all([a.whenSubscribed(), b.whenSubscribed()]);
      await b.set('p:1', 'tagged', { tags: ['t'] });
      isFailing = true;
      await a.invalidate({ tag: 't' });
      await flushMicrotasks();
      await new Promise((resolve) => setImmediate(resolve)); // (an unhandled rejection is reported by now)
      assert.equal(b.peek('p:1'), undefined, 'B dropped its copy');
      assert.deepEqual(unhandled, []);
      assert.equal(faults.length, 1);
      assert.equal(faults[0].kind, 'store');
      assert.match(String(faults[0].error), /backend unreachable/);
      isFailing = false;
      await Promise.all([a.close(), b.close()]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('close() waits for a set in flight and announces it: the other node drops the copy it replaced', { timeout: 10_000 }, async () => {
    const n = await nodes(2);
    const [a, b] = n.caches;
    await b.set('k', 'v1', { version: 1 });
    let release!: () => void;
    n.l2.writeGate = new Promise((resolve) => (release = resolve));
    const setting = a.set('k', 'v2', { version: 2 }); // a request still running when the node is told to stop
    const closing = a.close();
    await flushMicrotasks();
    release();
    n.l2.writeGate = undefined;
    assert.equal((await setting).version, 2);
    await closing;
    assert.equal(n.l2.inner.peek('k')?.version, 2);
    assert.equal(b.peek('k'), undefined, "B heard A's write");
    assert.equal(b.stats().writeBus?.received, 1);
    assert.equal(a.stats().writeBus?.published, 1);
    await b.close();
  });

  test('delete and invalidate after close() reject with ERR_CLOSED and leave the shared tier alone', async () => {
    const n = await nodes(2);
    const [a, b] = n.caches;
    await a.set('k', 'v', { version: 1, tags: ['t'] });
    await a.close();
    const closed = (e: unknown): boolean => isPrescientError(e, 'ERR_CLOSED');
    await assert.rejects(a.delete('k'), closed);
    await assert.rejects(a.delete('k', { maxVersion: 'bad' as never }), closed);
    await assert.rejects(a.invalidate({ keys: ['k'] }), closed);
    await assert.rejects(a.invalidate({ prefix: '' }), closed);
    await assert.rejects(a.invalidate({ tag: 't' }), closed);
    await assert.rejects(a.set('k', 'w'), closed);
    assert.equal(n.l2.inner.peek('k')?.value, 'v', 'the shared copy is untouched');
    assert.equal(b.stats().writeBus?.received, 1, "B heard only A's set");
    await b.close();
  });

  test('maxFloorKeys bounds the version floors: checked, counted when one goes early (floorsEvicted)', async () => {
    for (const bad of [0, -1, 1.5, '10', Number.NaN]) {
      assert.throws(() => new Cache({ origin: new MapOrigin(), maxFloorKeys: bad as number }), (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION') && /`maxFloorKeys`/.test((e as Error).message), String(bad));
    }
    const n = await nodes(2, { maxFloorKeys: 3 });
    const [a, b] = n.caches;
    n.origin.records.set('k0', { key: 'k0', value: 'row-v5', version: 5 });
    for (let i = 0; i < 4; i++) await a.delete(`k${i}`, { maxVersion: 5 }); // B keeps a floor of 5 on each, the oldest goes
    assert.equal(b.stats().sharedTier?.floorKeys, 3);
    assert.equal(b.stats().sharedTier?.floorsEvicted, 1);
    n.lateShared('k0', 'old-v4', 4);
    assert.equal((await b.get('k0')).version, 4, "k0's floor went early: the bound is what the option says");
    n.lateShared('k3', 'old-v4', 4);
    assert.equal((await b.get('k3')).isFound, false, "k3's floor holds: the shared v4 is refused");
    await n.close();
    const floors = new VersionFloors(new VirtualClock(0));
    for (let i = 0; i <= 10_000; i++) floors.noteChange(`k${i}`, 1);
    assert.deepEqual([floors.size, floors.evicted], [10_000, 1], 'the default bound stays 10,000 keys');
  });
});
