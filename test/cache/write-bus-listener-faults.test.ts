/**
 * Handlers that throw on the write bus's receiving side, on MemoryWriteBus and FlakyTier doubles over a VirtualClock:
 * a shared tier whose `dropCachedReplies` throws (user code, run for every notice applied), a subscriber of the bus
 * that throws from `gap` or `down`, a link whose `apply` and `onFault` both throw. A throw must neither escape into
 * the transport (an uncaught exception from a Redis event handler) nor stop later notices being applied, and is
 * reported once, without recursion.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import type { CacheFault } from '../../src/cache/cache-options.ts';
import type { Entry } from '../../src/cache/entry.ts';
import { MemoryWriteBus, type WriteBus, type WriteBusListener, type WriteNotice } from '../../src/cache/write-bus.ts';
import { WriteBusLink } from '../../src/cache/write-bus-link.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { isPrescientError, PrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { FlakyTier } from '../doubles/flaky-tier.ts';

/** A shared tier whose cache of replies cannot be dropped: `dropCachedReplies` throws (a faulty custom tier). */
class ThrowingRepliesTier<V> extends FlakyTier<V> {
  drops = 0;
  dropCachedReplies(): void {
    this.drops++;
    throw new Error('dropCachedReplies fails');
  }
}

/** A MemoryWriteBus counting its subscriptions. */
class CountingBus extends MemoryWriteBus {
  subscriptions = 0;
  override subscribe(listener: WriteBusListener): Promise<() => Promise<void>> {
    this.subscriptions++;
    return super.subscribe(listener);
  }
}

describe('write bus handlers that throw', () => {
  test("a shared tier whose dropCachedReplies throws: the cache subscribes once, and every notice and gap still drops the local copies", { timeout: 10_000 }, async () => {
    const clock = new VirtualClock(1_000_000);
    const bus = new CountingBus();
    const l2 = new ThrowingRepliesTier<string>(clock);
    const origin = new MapOrigin<string>([['a', 'a1'], ['b', 'b1'], ['c', 'c1']]);
    const faults: CacheFault[] = [];
    const cache = new Cache<string>({ origin, l2, bus, clock, ttlMs: 60_000, onFault: (f) => faults.push(f) });
    try {
      await flushMicrotasks();
      await clock.advanceAsync(5_000); // a subscription retried after a failed first forget would show here
      assert.equal(bus.subscriptions, 1, 'subscribed once: the failing forget did not make the link subscribe again');
      assert.equal(cache.stats().writeBus?.isSubscribed, true);
      for (const key of ['a', 'b', 'c']) await cache.get(key);
      const failedBefore = faults.length;
      bus.deliver(JSON.stringify({ from: 'peer', keys: [{ key: 'a', below: 5 }] } satisfies WriteNotice));
      assert.equal(cache.peek('a'), undefined, "the peer's write dropped the local copy");
      bus.deliver(JSON.stringify({ from: 'peer', keys: [{ key: 'b' }] } satisfies WriteNotice));
      assert.equal(cache.peek('b'), undefined, 'a later notice is applied too');
      assert.equal(cache.stats().writeBus?.removed, 2);
      assert.doesNotThrow(() => bus.interrupt());
      assert.equal(cache.peek('c'), undefined, 'the gap forgot what was held');
      assert.ok(faults.length > failedBefore, 'each failure was reported');
      assert.ok(faults.every((f) => f.kind === 'store' && f.error instanceof Error && f.error.message === 'dropCachedReplies fails'));
    } finally {
      await cache.close();
    }
  });

  test('MemoryWriteBus: a subscriber whose down or gap handler throws does not keep the others from hearing it', () => {
    const bus = new MemoryWriteBus();
    const heard: string[] = [];
    void bus.subscribe({
      notice: () => {},
      gap: () => {
        throw new Error('gap fails');
      },
      down: () => {
        throw new Error('down fails');
      },
    });
    void bus.subscribe({ notice: () => {}, gap: () => heard.push('gap'), down: () => heard.push('down') });
    assert.doesNotThrow(() => bus.disconnect());
    assert.doesNotThrow(() => bus.interrupt());
    assert.deepEqual(heard, ['down', 'gap']);
  });

  test('a link whose apply and onFault both throw: notices, gaps and drops reach no transport, each fault is reported once, and later notices are applied', async () => {
    const clock = new VirtualClock(1_000_000);
    const listeners: WriteBusListener[] = [];
    const bus: WriteBus = {
      publish: async () => {},
      subscribe: async (listener) => {
        listeners.push(listener);
        return async () => {};
      },
    };
    const applied: WriteNotice[] = [];
    let faults = 0;
    const link = new WriteBusLink({
      bus,
      clock,
      apply: (notice) => {
        applied.push(notice);
        throw new Error('apply fails');
      },
      onFault: () => {
        faults++;
        throw new Error('onFault fails too');
      },
    });
    try {
      await link.whenSubscribed();
      assert.equal(listeners.length, 1);
      assert.equal(applied.length, 1, 'the forget after subscribing was tried once');
      const listener = listeners[0];
      const peer = (key: string): string => JSON.stringify({ from: 'peer', keys: [{ key, below: 2 }] });
      assert.doesNotThrow(() => listener.notice(peer('x')));
      assert.doesNotThrow(() => listener.notice('not json'));
      assert.doesNotThrow(() => listener.down?.(true));
      assert.doesNotThrow(() => listener.gap());
      assert.doesNotThrow(() => listener.notice(peer('y')));
      // x: its notice, then the forget that follows its failure; the bad one: a forget; down, gap: a forget each; y: as x.
      assert.deepEqual(applied.map((n) => n.keys?.[0].key ?? (n.all === true ? 'all' : '?')), ['all', 'x', 'all', 'all', 'all', 'all', 'y', 'all']);
      assert.equal(faults, applied.length + 1, 'one report per failed apply, and one for the notice that could not be read');
      await clock.advanceAsync(5_000);
      assert.equal(listeners.length, 1, 'never subscribed again');
    } finally {
      await link.close();
    }
  });

  test('a shared tier whose cached replies could not be dropped is not read until a repair pass drops them all', { timeout: 10_000 }, async () => {
    const clock = new VirtualClock(1_000_000);
    const bus = new MemoryWriteBus();
    const backing = new FlakyTier<string>(clock);
    const tierA = new ReplyCachingTier(backing, clock);
    const tierB = new ReplyCachingTier(backing, clock);
    const origin = new MapOrigin<string>([['a', 'a1']]);
    const faults: CacheFault[] = [];
    const a = new Cache<string>({ origin, l2: tierA, bus, clock, ttlMs: 600_000, onFault: (f) => faults.push(f) });
    const b = new Cache<string>({ origin, l2: tierB, bus, clock, ttlMs: 600_000, onFault: (f) => faults.push(f) });
    try {
      await flushMicrotasks();
      await a.get('a');
      assert.equal((await b.get('a')).value, 'a1');
      assert.equal(tierB.replies.get('a')?.value, 'a1', 'b keeps a reply for a');
      origin.records.set('a', { key: 'a', value: 'a9', version: 5 });
      tierB.failDrops = true;
      await a.invalidate({ prefix: 'a' });
      await flushMicrotasks();
      assert.equal(backing.heldVersion('a'), undefined, 'the shared copy went');
      assert.ok(faults.length > 0, 'the failed drop was reported');
      assert.equal((await b.get('a')).value, 'a9', 'the stale reply is not served');
      assert.equal(b.stats().sharedTier?.isDistrusted, true);
      tierB.failDrops = false;
      await clock.advanceAsync(5_000);
      assert.equal(tierB.replies.size, 0, 'the repair pass dropped every reply');
      assert.equal(b.stats().sharedTier?.isDistrusted, false, 'trusted again');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('shared tier repair while its cached replies cannot be dropped', () => {
  test('the stale copy of a key whose shared write was lost is still deleted, and other nodes read the new value', { timeout: 10_000 }, async () => {
    const clock = new VirtualClock(1_000_000);
    const bus = new MemoryWriteBus();
    const backing = new FlakyTier<string>(clock);
    const tierA = new ReplyCachingTier(backing, clock);
    const origin = new MapOrigin<string>([['k', 'v1']]);
    const a = new Cache<string>({ origin, l2: tierA, bus, clock, ttlMs: 600_000, onFault: () => {} });
    const b = new Cache<string>({ origin, l2: new ReplyCachingTier(backing, clock), bus, clock, ttlMs: 600_000, onFault: () => {} });
    try {
      await flushMicrotasks();
      await a.get('k');
      backing.isDown = true;
      await a.set('k', 'v2'); // the shared write is lost: k is suspect on a
      origin.records.set('k', { key: 'k', value: 'v2', version: 2 });
      backing.isDown = false;
      tierA.failDrops = true;
      await b.set('z', 'z1'); // a notice reaching a, whose reply drop fails
      await flushMicrotasks();
      await clock.advanceAsync(60_000);
      assert.notEqual(backing.heldVersion('k'), 1, 'the stale shared copy went');
      assert.equal(a.stats().sharedTier?.suspectKeys, 0);
      assert.equal((await b.get('k')).value, 'v2');
      assert.equal(a.stats().sharedTier?.isDistrusted, true, 'a itself still distrusts the tier while its drops fail');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('write bus closed before the link', () => {
  test('a publish that answers ERR_CLOSED is reported once, its writers answered, and not retried every second', { timeout: 10_000 }, async () => {
    const clock = new VirtualClock(1_000_000);
    let published = 0;
    const bus: WriteBus = {
      publish: async () => {
        published++;
        throw new PrescientError('ERR_CLOSED', 'The write bus is closed');
      },
      subscribe: async () => async () => {},
    };
    const faults: unknown[] = [];
    const applied: WriteNotice[] = [];
    const link = new WriteBusLink({ bus, clock, apply: (notice) => (applied.push(notice), 0), onFault: (error) => faults.push(error) });
    try {
      await link.whenSubscribed();
      assert.equal(link.stats().isSubscribed, true);
      const forgottenBefore = applied.filter((n) => n.all === true).length;
      await link.announceKey({ key: 'k', below: 2 });
      assert.equal(link.stats().isSubscribed, false, 'down for good: /readyz says so');
      assert.equal(applied.filter((n) => n.all === true).length, forgottenBefore + 1, 'local copies forgotten once: notices since the close were lost');
      await clock.advanceAsync(10_000);
      await link.announceKey({ key: 'k', below: 3 });
      await clock.advanceAsync(10_000);
      assert.equal(published, 1);
      assert.equal(faults.filter((f) => isPrescientError(f, 'ERR_CLOSED')).length, 1);
      assert.equal(clock.pendingTimers, 0);
    } finally {
      await link.close();
    }
  });

  test('a bus that answers ERR_CLOSED is reported once and not subscribed to again', { timeout: 10_000 }, async () => {
    const clock = new VirtualClock(1_000_000);
    let attempts = 0;
    let published = 0;
    const bus: WriteBus = {
      publish: async () => {
        published++;
        throw new PrescientError('ERR_CLOSED', 'The write bus is closed');
      },
      subscribe: async () => {
        attempts++;
        throw new PrescientError('ERR_CLOSED', 'The write bus is closed');
      },
    };
    const faults: unknown[] = [];
    const link = new WriteBusLink({ bus, clock, apply: () => 0, onFault: (error) => faults.push(error) });
    try {
      await link.whenSubscribed();
      await clock.advanceAsync(10_000);
      assert.equal(attempts, 1, 'not retried every second');
      assert.equal(faults.length, 1);
      assert.ok(isPrescientError(faults[0], 'ERR_CLOSED'));
      await link.announceKey({ key: 'k', below: 2 }); // answered at once: nothing to send it on
      await link.announce({ prefix: 'p' });
      await clock.advanceAsync(10_000);
      assert.equal(published, 0, 'nothing published to a closed bus, nor retried');
      assert.equal(clock.pendingTimers, 0);
    } finally {
      await link.close();
    }
  });
});

/** One node's view of a shared store with a per-process cache of replies (as RESP3 client-side caching). */
class ReplyCachingTier<V> extends FlakyTier<V> {
  readonly replies = new Map<string, Entry<V>>();
  failDrops = false;
  readonly #backing: FlakyTier<V>;
  constructor(backing: FlakyTier<V>, clock: VirtualClock) {
    super(clock);
    this.#backing = backing;
  }
  override get(key: string, includeExpired?: boolean): Entry<V> | undefined {
    const cached = this.replies.get(key);
    if (cached !== undefined) return cached;
    const entry = this.#backing.get(key, includeExpired);
    if (entry !== undefined) this.replies.set(key, entry);
    return entry;
  }
  override set(entry: Entry<V>): boolean {
    this.replies.delete(entry.key);
    return this.#backing.set(entry);
  }
  override delete(key: string): boolean {
    this.replies.delete(key);
    return this.#backing.delete(key);
  }
  override async setStrict(entry: Entry<V>): Promise<boolean> {
    return this.set(entry);
  }
  override async deleteStrict(key: string, maxVersion?: number): Promise<boolean> {
    this.replies.delete(key);
    return this.#backing.deleteStrict(key, maxVersion);
  }
  override async clear(): Promise<void> {
    this.replies.clear();
    await this.#backing.clear();
  }
  dropCachedReplies(keys?: readonly string[]): void {
    if (this.failDrops) throw new Error('dropCachedReplies fails');
    if (keys === undefined) this.replies.clear();
    else for (const key of keys) this.replies.delete(key);
  }
}
