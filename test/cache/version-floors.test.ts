import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { VersionFloors, windowMs } from '../../src/cache/version-floors.ts';
import { VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';

test('a change notice\'s version is a floor for a while: older copies are stale, the floor only rises, then it ends', async () => {
  const clock = new VirtualClock(0);
  const floors = new VersionFloors(clock);
  floors.noteChange('k', 100);
  assert.deepEqual([floors.isBelow('k', 99), floors.isBelow('k', 100), floors.isBelow('other', 1)], [true, false, false]);
  floors.noteChange('k', 50);
  assert.equal(floors.floorOf('k'), 100, 'an older notice does not lower it');
  assert.equal(floors.size, 1);
  await clock.advanceAsync(windowMs);
  assert.deepEqual([floors.isBelow('k', 1), floors.floorOf('k'), floors.size], [false, 0, 0], 'the reads in flight at the notice have landed');
});

test('a delete of every version keeps the shared tier\'s copies up to the version held unread for a while, and ends an older floor', async () => {
  const clock = new VirtualClock(0);
  const floors = new VersionFloors(clock);
  floors.noteChange('held', 100);
  floors.noteDeleted('held', 7);
  assert.equal(floors.isBelow('held', 1), false, 'a row inserted again after the delete may have any version');
  assert.deepEqual([floors.isBelowForShared('held', 7), floors.isBelowForShared('held', 8), floors.floorOf('held')], [true, false, 8]);
  floors.noteDeleted('unknown', 0);
  assert.equal(floors.isBelowForShared('unknown', 99), true, 'no version known: no shared copy at all');
  assert.equal(floors.isBelow('unknown', 99), false, 'the origin\'s answers are cached as usual');
  await clock.advanceAsync(windowMs);
  assert.deepEqual([floors.isBelowForShared('unknown', 1), floors.isBelowForShared('held', 7), floors.floorOf('held'), floors.size], [false, false, 0, 0]);
});

test('bounded: past 10,000 keys the oldest floor is forgotten', () => {
  const floors = new VersionFloors(new VirtualClock(0));
  for (let i = 0; i <= 10_000; i++) floors.noteChange(`k${i}`, 5);
  assert.equal(floors.size, 10_000);
  assert.equal(floors.isBelow('k0', 1), false);
  assert.equal(floors.isBelow('k10000', 1), true);
});

test('an origin whose version stays below a notice\'s (no versions, a resolver keeping its record) is cached again once the window ends', async () => {
  const clock = new VirtualClock(0);
  const origin = new MapOrigin<string>([['k', 'v']]); // version 1, whatever the notices say
  const cache = new Cache<string>({ origin, clock, ttlMs: 3_600_000 });
  await cache.delete('k', { maxVersion: 100 });
  assert.equal((await cache.get('k')).value, 'v');
  assert.equal(cache.peek('k'), undefined, 'within the window a copy below the floor is served, not cached');
  assert.equal(cache.stats().belowFloor, 1);
  clock.advance(windowMs);
  await cache.get('k');
  assert.equal(cache.peek('k')?.version, 1, 'then cached as usual');
  assert.equal((await cache.get('k')).status, 'hit');
  await cache.close();
});

test("what the write bus brings: another node's write ends this node's delete window; its delete of every version ends a floor; a prefix ends them all", () => {
  const clock = new VirtualClock(0);
  const floors = new VersionFloors(clock);
  floors.noteDeleted('k', 9);
  floors.noteWrite('k', 3); // written elsewhere after the delete, at a lower version (the history was erased)
  assert.deepEqual([floors.isBelowForShared('k', 3), floors.isBelowForShared('k', 2)], [false, true]);
  floors.noteDeleted('all', 0);
  floors.noteChange('all', 4); // a delete of unknown versions: no change notice ends its window (it may be older)
  assert.equal(floors.isBelowForShared('all', 9), true);
  floors.noteDeleted('older', 9);
  floors.noteChange('older', 5); // nor one older than the version deleted
  assert.equal(floors.isBelowForShared('older', 6), true);
  floors.noteChange('older', 12); // a newer one does: its floor refuses what the window did
  assert.deepEqual([floors.isBelowForShared('older', 12), floors.isBelowForShared('older', 9)], [false, true]);
  floors.noteChange('f', 7);
  floors.noteDeletedElsewhere('f', 0);
  assert.deepEqual([floors.isBelowForShared('f', 1), floors.floorOf('f')], [false, 0]);
  floors.noteDeletedElsewhere('f', 4);
  assert.deepEqual([floors.isBelowForShared('f', 4), floors.isBelowForShared('f', 5), floors.floorOf('f')], [true, false, 5]);
  floors.noteChange('p:1', 8);
  floors.noteDeleted('p:2', 3, false);
  floors.noteChange('q', 8);
  floors.clearStartingWith('p:');
  assert.deepEqual([floors.isBelowForShared('p:1', 1), floors.isBelowForShared('p:2', 1), floors.isBelowForShared('q', 1)], [false, false, true]);
});

test("a notice never ends nor extends this node's own delete window: one delivered late (a retry) may predate it", () => {
  const clock = new VirtualClock(0);
  const floors = new VersionFloors(clock);
  floors.noteDeleted('p:1', 3); // this node deleted p:1 (held at 3)
  floors.clearStartingWith('p:'); // another node's prefix invalidation, sent before it, delivered now
  assert.equal(floors.isBelowForShared('p:1', 3), true);
  floors.noteDeletedElsewhere('p:1', 0);
  clock.advance(20_000);
  floors.noteDeleted('p:1', 9, false); // a tag notice's delete, learned
  assert.deepEqual([floors.isBelowForShared('p:1', 3), floors.isBelowForShared('p:1', 4)], [true, false], 'still the own window');
  clock.advance(10_000);
  assert.equal(floors.isBelowForShared('p:1', 3), false, 'it ends 30 s after the own delete, not extended');
});
