import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { createEntry, type Entry } from '../../src/cache/entry.ts';
import { SharedTierWriter } from '../../src/cache/shared-tier-writer.ts';
import { VersionFloors } from '../../src/cache/version-floors.ts';
import { VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { FlakyTier } from '../doubles/flaky-tier.ts';

const entry = (key: string, version: number, sizeBytes = 10) =>
  createEntry({ key, value: `v${version}`, version, sizeBytes, now: 0, ttlMs: 1e9, staleAfterMs: 1e9 });

function rig() {
  const clock = new VirtualClock(0);
  const l2 = new FlakyTier<string>(clock);
  const origin = new MapOrigin<string>();
  origin.records.set('k', { key: 'k', value: 'v1', version: 1 });
  const node = (): Cache<string> => new Cache<string>({ origin, l2, clock, ttlMs: 1e9 });
  return { clock, l2, origin, node };
}

describe('SharedTierWriter', () => {
  test('a write lost while the shared tier is down stops this node trusting its copy, and the repair removes it', async () => {
    const { clock, l2, origin, node } = rig();
    const a = node();
    await a.get('k');
    await clock.advanceAsync(0);
    assert.equal(l2.heldVersion('k'), 1);

    l2.isDown = true;
    origin.records.set('k', { key: 'k', value: 'v2', version: 2 });
    await a.set('k', 'v2', { version: 2 });
    assert.equal(a.stats().sharedTier?.suspectKeys, 1);
    l2.isDown = false;

    // Before the repair, the shared tier still holds v1: another node would read it, this one does not.
    assert.equal(l2.heldVersion('k'), 1);
    await clock.advanceAsync(1_000);
    assert.equal(l2.heldVersion('k'), undefined);
    assert.deepEqual(a.stats().sharedTier, { suspectKeys: 0, isDistrusted: false, repaired: 1, floorKeys: 0, belowFloor: 0, floorsEvicted: 0 });

    const b = node();
    const read = await b.get('k');
    assert.deepEqual([read.value, read.version, read.servedFrom], ['v2', 2, 'origin']);
    await a.close();
    await b.close();
  });

  test('reads on the node that lost the write skip the shared copy until it is repaired', async () => {
    const { clock, l2, origin } = rig();
    const a = new Cache<string>({ origin, l2, clock, ttlMs: 1e9, maxBytes: 200 });
    await a.get('k');
    await clock.advanceAsync(0);
    l2.isDown = true;
    origin.records.set('k', { key: 'k', value: 'v2', version: 2 });
    await a.set('k', 'v2', { version: 2 });
    l2.isDown = false;
    // Push k out of the memory tier: the next read has to go below it.
    for (let i = 0; i < 4; i++) for (let n = 0; n < 8; n++) await a.set(`fill${i}`, 'x'.repeat(20));
    await clock.advanceAsync(0);
    assert.equal(a.peek('k'), undefined);
    const read = await a.get('k');
    assert.deepEqual([read.value, read.version], ['v2', 2]);
    assert.notEqual(read.servedFrom, 'l2');
    await a.close();
  });

  test('an invalidation lost while the shared tier is down is retried until it lands', async () => {
    const { clock, l2, node } = rig();
    const a = node();
    await a.get('k');
    await clock.advanceAsync(0);
    l2.isDown = true;
    assert.equal(await a.delete('k'), true);
    await clock.advanceAsync(1_000);
    assert.equal(l2.heldVersion('k'), 1, 'still down: nothing could be removed');
    l2.isDown = false;
    await clock.advanceAsync(1_000);
    assert.equal(l2.heldVersion('k'), undefined);
    await a.close();
  });

  test('a write the shared tier declines removes the older copy it holds, not a newer one', async () => {
    const clock = new VirtualClock(0);
    const l2 = new FlakyTier<string>(clock);
    const writer = new SharedTierWriter(l2, clock, new VersionFloors(clock));
    l2.set(entry('k', 1));
    l2.maxEntryBytes = 50;
    await writer.set(entry('k', 2, 100));
    assert.equal(l2.heldVersion('k'), undefined);
    l2.maxEntryBytes = Infinity;
    l2.set(entry('n', 5));
    await writer.set(entry('n', 3));
    assert.equal(l2.heldVersion('n'), 5);
    assert.equal(writer.stats().suspectKeys, 0);
  });

  test('a delete up to a version removes an older shared copy and keeps a newer one', async () => {
    const clock = new VirtualClock(0);
    const l2 = new FlakyTier<string>(clock);
    const writer = new SharedTierWriter(l2, clock, new VersionFloors(clock));
    l2.set(entry('new', 200));
    l2.set(entry('old', 50));
    assert.equal(await writer.delete('new', 100), false);
    assert.equal(l2.heldVersion('new'), 200, 'another node wrote it after the change being invalidated');
    assert.equal(await writer.delete('old', 100), true);
    assert.equal(l2.heldVersion('old'), undefined);
    assert.equal(await writer.delete('new'), true, 'no version: every copy goes');
    assert.equal(l2.heldVersion('new'), undefined);
  });

  test('a delete up to a version lost while the tier is down is repaired up to that version only', async () => {
    const clock = new VirtualClock(0);
    const l2 = new FlakyTier<string>(clock);
    const writer = new SharedTierWriter(l2, clock, new VersionFloors(clock));
    l2.set(entry('k', 50));
    l2.isDown = true;
    assert.equal(await writer.delete('k', 100), false);
    assert.equal(writer.isTrusted('k'), false);
    l2.isDown = false;
    l2.set(entry('k', 200));
    await clock.advanceAsync(1_000);
    assert.equal(l2.heldVersion('k'), 200, 'the repair removes only copies up to the lost delete');
    assert.deepEqual(writer.stats(), { suspectKeys: 0, isDistrusted: false, repaired: 1, floorKeys: 0, belowFloor: 0, floorsEvicted: 0 });
    l2.set(entry('j', 50));
    l2.isDown = true;
    await writer.set(entry('j', 300));
    l2.isDown = false;
    assert.equal(await writer.delete('j', 100), true);
    assert.equal(writer.isTrusted('j'), false, 'a lost write of v300 is not repaired by a delete up to v100');
    assert.equal(await writer.delete('j', 300), false);
    assert.equal(writer.isTrusted('j'), true);
  });

  test('nodes sharing a tier: invalidating an older version leaves the newer copy another node wrote', async () => {
    const { clock, l2, origin, node } = rig();
    const a = node();
    const c = node();
    await c.get('k');
    await clock.advanceAsync(0);
    origin.records.set('k', { key: 'k', value: 'v100', version: 100 });
    await a.set('k', 'v200', { version: 200 });
    assert.equal(l2.heldVersion('k'), 200);
    assert.equal(await c.delete('k', { maxVersion: 100 }), true, "c's own copy (v1) goes");
    assert.equal(l2.heldVersion('k'), 200);
    const read = await c.get('k');
    assert.deepEqual([read.value, read.version, read.servedFrom], ['v200', 200, 'l2']);
    await a.close();
    await c.close();
  });

  test('too many lost writes distrust the whole shared tier until a clear of it succeeds', async () => {
    const clock = new VirtualClock(0);
    const l2 = new FlakyTier<string>(clock);
    const writer = new SharedTierWriter(l2, clock, new VersionFloors(clock));
    l2.isDown = true;
    for (let i = 0; i <= 10_000; i++) await writer.delete(`k${i}`);
    assert.equal(writer.stats().isDistrusted, true);
    assert.equal(writer.isTrusted('anything'), false);
    await clock.advanceAsync(1_000);
    assert.equal(writer.stats().isDistrusted, true);
    l2.isDown = false;
    await clock.advanceAsync(1_000);
    assert.equal(l2.clears, 1);
    assert.equal(writer.isTrusted('anything'), true);
  });

  test('a tier without strict writes is written as before and never repaired', async () => {
    const clock = new VirtualClock(0);
    const l2 = new FlakyTier<string>(clock);
    const plain = { name: 'plain', get: l2.get.bind(l2), getMany: l2.getMany.bind(l2), set: l2.set.bind(l2), delete: l2.delete.bind(l2), clear: l2.clear.bind(l2), stats: l2.stats.bind(l2) };
    const writer = new SharedTierWriter(plain, clock, new VersionFloors(clock));
    l2.isDown = true;
    await writer.set(entry('k', 1));
    assert.equal(await writer.delete('k'), false);
    assert.deepEqual(writer.stats(), { suspectKeys: 0, isDistrusted: false, repaired: 0, floorKeys: 0, belowFloor: 0, floorsEvicted: 0 });
    // Only one strict method: still written as before (a repair could not delete anything).
    const halfStrict = new SharedTierWriter({ ...plain, setStrict: l2.setStrict.bind(l2) }, clock, new VersionFloors(clock));
    await halfStrict.set(entry('k', 2));
    assert.deepEqual(halfStrict.stats(), { suspectKeys: 0, isDistrusted: false, repaired: 0, floorKeys: 0, belowFloor: 0, floorsEvicted: 0 });
  });

  test('an older write that lands after a newer one was lost leaves the key suspect', async () => {
    const clock = new VirtualClock(0);
    const l2 = new FlakyTier<string>(clock);
    const writer = new SharedTierWriter(l2, clock, new VersionFloors(clock));
    await writer.set(entry('k', 1));
    l2.isDown = true;
    await writer.set(entry('k', 5));
    l2.isDown = false;
    await writer.set(entry('k', 3));
    assert.equal(l2.heldVersion('k'), 3);
    assert.equal(writer.isTrusted('k'), false, 'the tier holds v3, older than the lost v5');
    await clock.advanceAsync(1_000);
    assert.equal(l2.heldVersion('k'), undefined);
    assert.equal(writer.isTrusted('k'), true);
  });

  test('a prefix the tier cannot list distrusts the whole tier until a clear of it succeeds; a tier that can lists it', async () => {
    const clock = new VirtualClock(0);
    const l2 = new FlakyTier<string>(clock);
    let isListing = false;
    const listing = Object.assign(l2, {
      keysWithPrefix: async (prefix: string) => {
        if (!isListing) throw new Error('connection lost');
        return ['user:1', 'user:2'].filter((k) => k.startsWith(prefix));
      },
    });
    const writer = new SharedTierWriter(listing, clock, new VersionFloors(clock));
    assert.deepEqual(await writer.keysWithPrefix('user:'), []);
    assert.equal(writer.isTrusted('anything'), false, 'copies under the prefix cannot be found: nothing is read from the tier');
    await clock.advanceAsync(1_000);
    assert.equal(writer.isTrusted('anything'), true, 'the repair cleared the tier');
    isListing = true;
    assert.deepEqual(await writer.keysWithPrefix('user:'), ['user:1', 'user:2']);
    const plain = new SharedTierWriter({ name: 'plain', get: l2.get.bind(l2), getMany: l2.getMany.bind(l2), set: l2.set.bind(l2), delete: l2.delete.bind(l2), clear: l2.clear.bind(l2), stats: l2.stats.bind(l2) }, clock, new VersionFloors(clock));
    assert.deepEqual(await plain.keysWithPrefix('user:'), [], 'a tier without the method lists nothing');
  });

  test('a shared copy below its key\'s version floor is not read, and counted', () => {
    const clock = new VirtualClock(0);
    const floors = new VersionFloors(clock);
    const writer = new SharedTierWriter(new FlakyTier<string>(clock), clock, floors);
    floors.noteChange('k', 100); // a change notice at version 100 was applied
    assert.deepEqual([writer.isCurrent(entry('k', 99)), writer.isCurrent(entry('k', 100)), writer.isCurrent(entry('other', 1))], [false, true, true]);
    assert.deepEqual([writer.stats().floorKeys, writer.stats().belowFloor], [1, 1]);
  });

  test('a write that names no version, declined or lost, leaves no copy of any version to be read', async () => {
    const clock = new VirtualClock(0);
    const l2 = new FlakyTier<string>(clock);
    // A setNewest that stores at the entry's own version: the declined and lost paths are what this test is about.
    const newest = Object.assign(l2, {
      setNewest: async (e: Entry<string>) => {
        if (!(await l2.setStrict(e))) return undefined;
        return e.version;
      },
    });
    const writer = new SharedTierWriter(newest, clock, new VersionFloors(clock));
    l2.inner.set(entry('k', 9)); // another node's write, newer than this node's guess
    l2.maxEntryBytes = 50;
    assert.equal(await writer.setNewest(entry('k', 1, 100)), undefined, 'declined as too large');
    assert.equal(l2.heldVersion('k'), undefined, 'the older copy goes, though its version is above the write\'s');

    l2.inner.set(entry('k', 9));
    l2.isDown = true;
    assert.equal(await writer.setNewest(entry('k', 1)), undefined);
    assert.equal(writer.isTrusted('k'), false, 'lost: the copy in the tier may be older than this write');
    l2.isDown = false;
    await clock.advanceAsync(1_000);
    assert.equal(l2.heldVersion('k'), undefined, 'the repair removed every version, not only those up to the guess');
    assert.equal(writer.isTrusted('k'), true);

    l2.isDown = true;
    await writer.setNewest(entry('k', 1));
    l2.isDown = false;
    await writer.setNewest(entry('k', 2)); // stored above whatever the lost write left: nothing is suspect any more
    assert.equal(writer.isTrusted('k'), true);
    await clock.advanceAsync(1_000);
    assert.equal(l2.heldVersion('k'), 2, 'no repair pass removes the good copy');
  });
});

