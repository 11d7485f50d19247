/**
 * A write or delete whose shared-tier copy was lost (the tier was down) on two nodes sharing a FlakyTier and a
 * MemoryWriteBus over a VirtualClock: the other node may read the stale shared copy before the writer's repair pass
 * deletes it (or after the first notice's 30 s floor ended); the repair announces its deletes again, so that node
 * drops the copy instead of serving it for its TTL. (Found by the two-node model fuzz.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { MemoryWriteBus } from '../../src/cache/write-bus.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
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
  console.log('B reads after the tier came back:', read.isFound, read.value, read.servedFrom);
  await clock.advanceAsync(1_100); // A's repair deletes the shared copy
  await flushMicrotasks();
  console.log('shared copy after repair:', l2.heldVersion('k'), 'A repaired', a.stats().sharedTier?.repaired);
  const later = await b.get('k');
  console.log('B reads after the repair:', later.isFound, later.value, later.servedFrom, 'held', b.peek('k')?.version);
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
  console.log(`down ${downMs}: B right after up: ${read.value} (${read.servedFrom}); after A's repair (shared v${l2.heldVersion('k')}): ${later.value} (${later.servedFrom})`);
  await Promise.all([a.close(), b.close()]);
  assert.equal(later.value, 'v2');
});
