/**
 * A write or delete whose shared-tier copy was lost (the tier was down) on two nodes sharing a FlakyTier and a
 * MemoryWriteBus over a VirtualClock: the other node may read the stale shared copy before the writer's repair pass
 * deletes it (or after the first notice's 30 s floor ended); the repair announces its deletes again, so that node
 * drops the copy instead of serving it for its TTL. And a delete whose notice waited for a retry (the bus refused it):
 * a load on the other node begun before the delete stored the deleted row in the shared tier meanwhile; the writer
 * deletes the shared copies again once the notice is out. (Found by the two-node model fuzz.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { MemoryWriteBus, type WriteBus } from '../../src/cache/write-bus.ts';
import { WriteBusLink } from '../../src/cache/write-bus-link.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { Origin, OriginRecord } from '../../src/origin/origin.ts';
import { FlakyTier } from '../doubles/flaky-tier.ts';

for (const aHolds of [false, true]) test(`delete on A (A ${aHolds ? 'holds' : 'does not hold'} the key) while the shared tier is down`, async () => {
  const clock = new VirtualClock(1_000_000);
  const bus = new MemoryWriteBus();
  const l2 = new FlakyTier<string>(clock);
  const origin = new MapOrigin<string>([['k', 'v1']]);
  const a = new Cache<string>({ origin, l2, bus, clock, ttlMs: 60_000 });
  const b = new Cache<string>({ origin, l2, bus, clock, ttlMs: 60_000 });
  await Promise.all([a.whenSubscribed(), b.whenSubscribed()]);
  assert.equal((await b.get('k')).value, 'v1'); // B loads v1; the shared tier now holds it
  if (aHolds) assert.equal((await a.get('k')).value, 'v1');
  assert.equal(l2.heldVersion('k'), 1);
  l2.isDown = true;
  origin.records.delete('k'); // the application deletes the row, then the cached copies
  await a.delete('k');
  assert.equal(b.peek('k'), undefined, 'B dropped its copy (notice delivered)');
  // The tier stays down past the 30 s windows only in the second variant
  clock.advance(aHolds ? 31_000 : 10);
  await flushMicrotasks();
  l2.isDown = false; // back; A's repair pass runs at its next 1 s tick
  const read = await b.get('k');
  await clock.advanceAsync(1_100); // A's repair deletes the shared copy
  await flushMicrotasks();
  const later = await b.get('k');
  await Promise.all([a.close(), b.close()]);
  assert.equal(later.isFound, false, 'B keeps serving the deleted row after the repair pass');
});


for (const downMs of [10, 31_000]) test(`set on A while the shared tier is down for ${downMs} ms`, async () => {
  const clock = new VirtualClock(1_000_000);
  const bus = new MemoryWriteBus();
  const l2 = new FlakyTier<string>(clock);
  const origin = new MapOrigin<string>([['k', 'v1']]);
  const a = new Cache<string>({ origin, l2, bus, clock, ttlMs: 60_000, maxBytes: 10_000 });
  const b = new Cache<string>({ origin, l2, bus, clock, ttlMs: 60_000 });
  await Promise.all([a.whenSubscribed(), b.whenSubscribed()]);
  assert.equal((await b.get('k')).value, 'v1');
  l2.isDown = true;
  origin.records.set('k', { key: 'k', value: 'v2', version: 2 }); // write-through: origin first
  await a.set('k', 'v2', { version: 2 });
  assert.equal(b.peek('k'), undefined);
  clock.advance(downMs);
  await flushMicrotasks();
  l2.isDown = false;
  const read = await b.get('k');
  await clock.advanceAsync(1_100);
  await flushMicrotasks();
  const later = await b.get('k');
  await Promise.all([a.close(), b.close()]);
  assert.equal(later.value, 'v2');
});

/** Takes its snapshot when asked, answers 100 virtual ms later (a query that began before a change committed). */
class SnapshotOrigin implements Origin<string> {
  readonly records = new Map<string, OriginRecord<string>>();
  readonly batches: string[][] = [];
  readonly #clock: VirtualClock;
  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }
  getMany(keys: readonly string[]): Promise<Array<OriginRecord<string> | undefined>> {
    this.batches.push([...keys]);
    const snapshot = keys.map((k) => this.records.get(k));
    return new Promise((resolve) => this.#clock.setTimer(100, () => resolve(snapshot)));
  }
}

for (const withPrefix of [false, true]) test(`a load racing a delete while the bus is down${withPrefix ? ', plus a late prefix notice' : ''}`, async () => {
  const clock = new VirtualClock(1_000_000);
  const bus = new MemoryWriteBus();
  const l2 = new FlakyTier<string>(clock);
  const origin = new SnapshotOrigin(clock);
  origin.records.set('a:k', { key: 'a:k', value: 'v1', version: 1 });
  const a = new Cache<string>({ origin, l2, bus, clock, ttlMs: 300_000 });
  const b = new Cache<string>({ origin, l2, bus, clock, ttlMs: 300_000 });
  await Promise.all([a.whenSubscribed(), b.whenSubscribed()]);
  bus.setDown(true);
  if (withPrefix) await b.invalidate({ prefix: 'a:' }); // B's notice waits for a retry
  const racing = b.get('a:k'); // origin snapshot v1, answers in 100 ms
  await clock.advanceAsync(10);
  assert.equal(origin.batches.length, 1, 'B asked the origin before the delete');
  origin.records.delete('a:k'); // the application deletes the row, then the cached copies
  await a.delete('a:k'); // A's notice waits for a retry too
  await clock.advanceAsync(100);
  const got = await racing;
  bus.setDown(false);
  await clock.advanceAsync(1_100); // the retries deliver both notices
  const early = a.get('a:k');
  await clock.advanceAsync(101);
  const readEarly = await early;
  await clock.advanceAsync(30_000);
  const pa = a.get('a:k'); const pb = b.get('a:k');
  await clock.advanceAsync(101);
  const [ra, rb] = await Promise.all([pa, pb]);
  await Promise.all([a.close(), b.close()]);
  assert.equal(readEarly.isFound, false, 'A serves the row it deleted 1.2 s earlier');
  assert.equal(ra.isFound || rb.isFound, false, 'a node serves the deleted row from the shared tier');
});

test('every notice that waited for a retry is reported late: the one that failed, those gathered meanwhile, those queued while the retry waits', async () => {
  const clock = new VirtualClock(0);
  let rejectPublish: ((error: Error) => void) | undefined;
  let isDown = true;
  const bus: WriteBus = {
    subscribe: async () => async () => {},
    publish: (): Promise<void> => (isDown ? new Promise<void>((_resolve, reject) => (rejectPublish = reject)) : Promise.resolve()),
  };
  const late: string[] = [];
  const link = new WriteBusLink({ bus, clock, apply: () => 0, onFault: () => {}, onSentLate: (notice) => late.push(...(notice.keys ?? []).map((c) => c.key)) });
  await link.whenSubscribed();
  void link.announceKey({ key: 'first', below: 1 });
  await flushMicrotasks(); // 'first' is being published
  void link.announceKey({ key: 'gathered', held: 1 });
  rejectPublish?.(new Error('bus down'));
  await flushMicrotasks();
  void link.announceKey({ key: 'queued', held: 1 });
  await flushMicrotasks();
  isDown = false;
  await clock.advanceAsync(1_100);
  await flushMicrotasks();
  assert.deepEqual(late, ['first', 'gathered', 'queued']);
  void link.announceKey({ key: 'on-time', held: 1 });
  await flushMicrotasks();
  assert.deepEqual(late, ['first', 'gathered', 'queued'], 'a notice sent at once is not late');
  await link.close();
});
