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
import { MemoryWriteBus, type WriteBus, type WriteBusListener, type WriteNotice } from '../../src/cache/write-bus.ts';
import { WriteBusLink } from '../../src/cache/write-bus-link.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
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
});
