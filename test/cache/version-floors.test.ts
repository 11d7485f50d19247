import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackoutMs, VersionFloors } from '../../src/cache/version-floors.ts';
import { VirtualClock } from '../../src/clock.ts';

test('a change notice\'s version is a floor: older copies are stale, the floor only rises', () => {
  const floors = new VersionFloors(new VirtualClock(0));
  floors.noteChange('k', 100);
  assert.deepEqual([floors.isBelow('k', 99), floors.isBelow('k', 100), floors.isBelow('other', 1)], [true, false, false]);
  floors.noteChange('k', 50);
  assert.equal(floors.floorOf('k'), 100, 'an older notice does not lower it');
  assert.equal(floors.size, 1);
});

test('a delete of every version keeps the shared tier\'s copies up to the version held unread for a while, and no longer', async () => {
  const clock = new VirtualClock(0);
  const floors = new VersionFloors(clock);
  floors.noteDeleted('held', 7);
  assert.deepEqual([floors.isBelowForShared('held', 7), floors.isBelowForShared('held', 8), floors.floorOf('held')], [true, false, 8]);
  assert.equal(floors.isBelow('held', 7), false, 'the origin\'s answers to reads after the delete are cached as usual (a delete to have a key read again)');
  floors.noteDeleted('unknown', 0);
  assert.equal(floors.isBelowForShared('unknown', 99), true, 'no version known: no shared copy at all');
  assert.equal(floors.isBelow('unknown', 99), false);
  await clock.advanceAsync(blackoutMs);
  assert.deepEqual([floors.isBelowForShared('unknown', 1), floors.isBelowForShared('held', 7), floors.floorOf('held')], [false, false, 0], 'nothing stays after the window');
  assert.equal(floors.size, 0);
});

test('bounded: past 10,000 keys the oldest floor is forgotten', () => {
  const floors = new VersionFloors(new VirtualClock(0));
  for (let i = 0; i <= 10_000; i++) floors.noteChange(`k${i}`, 5);
  assert.equal(floors.size, 10_000);
  assert.equal(floors.isBelow('k0', 1), false);
  assert.equal(floors.isBelow('k10000', 1), true);
});
