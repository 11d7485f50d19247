import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EntryCells } from '../../src/cache/entry-cells.ts';
import { createEntry } from '../../src/cache/entry.ts';

const entry = (key: string, version: number, sizeBytes = 10, tags: string[] = []) =>
  createEntry({ key, value: `${key}@${version}`, version, sizeBytes, now: 0, ttlMs: 1000, staleAfterMs: 1000, tags });

describe('EntryCells', () => {
  test('one cell per key, shared by every reference, leaving the index with its last reference', () => {
    const cells = new EntryCells<string>();
    const e = entry('a', 1);
    const first = cells.acquire(e, 0);
    const second = cells.acquire(entry('a', 1), 0);
    assert.equal(first, second);
    assert.equal(first.refs, 2);
    assert.equal(cells.size, 1);
    cells.release('a', first);
    assert.equal(cells.size, 1);
    cells.release('a', first);
    assert.equal(cells.size, 0);
    assert.equal(cells.entry('a'), undefined);
  });

  test('a newer entry supersedes the cell, an older one does not', () => {
    const cells = new EntryCells<string>();
    const cell = cells.acquire(entry('a', 2), 0);
    cells.supersede(entry('a', 1), 0);
    assert.equal(cell.entry?.version, 2);
    cells.acquire(entry('a', 1), 0);
    assert.equal(cell.entry?.version, 2, 'acquire keeps the newer entry too');
    const v3 = entry('a', 3);
    cells.supersede(v3, 0);
    assert.equal(cell.entry, v3);
    cells.supersede(entry('b', 9), 0);
    assert.equal(cells.size, 1, 'an unreferenced key gets no cell');
  });

  test('an expired newer entry gives way to an older one (the cache replaced it with the origin\'s record)', () => {
    const cells = new EntryCells<string>();
    const cell = cells.acquire(entry('a', 10), 0); // expires at 1000
    cells.supersede(entry('a', 1), 999);
    assert.equal(cell.entry?.version, 10, 'not while it is unexpired');
    const origin = entry('a', 1);
    cells.supersede(origin, 1000);
    assert.equal(cell.entry, origin);
    const again = cells.acquire(entry('a', 12), 0);
    assert.equal(again, cell);
    cells.acquire(entry('a', 2), 2000);
    assert.equal(cell.entry?.version, 2, 'acquire alike');
  });

  test('a dropped key kills its cell for every holder; a later acquire makes a new one', () => {
    const cells = new EntryCells<string>();
    const old = cells.acquire(entry('a', 1), 0);
    assert.equal(cells.drop('a'), true);
    assert.equal(cells.drop('a'), false);
    assert.equal(old.entry, undefined);
    const fresh = cells.acquire(entry('a', 1), 0);
    assert.notEqual(fresh, old);
    cells.release('a', old);
    assert.equal(cells.entry('a')?.version, 1, 'releasing the dead cell leaves the new one');
  });

  test('finds keys by prefix and tag, and sums the bytes referenced and those held nowhere else', () => {
    const cells = new EntryCells<string>();
    const kept = entry('user:1', 1, 100, ['hot']);
    cells.acquire(kept, 0);
    cells.acquire(entry('item:1', 1, 30), 0);
    assert.deepEqual(cells.keysMatching('user:', undefined), ['user:1']);
    assert.deepEqual(cells.keysMatching(undefined, 'hot'), ['user:1']);
    assert.deepEqual(cells.bytes((e) => e === kept), { total: 130, only: 30 });
  });

  test('counts the bytes of entries held outside the tier at their current size, and trims the oldest past a budget', () => {
    const cells = new EntryCells<string>();
    for (const key of ['a', 'b', 'c']) cells.acquire(entry(key, 1, 10), 0);
    cells.markOutside('a');
    cells.markOutside('b');
    cells.markOutside('b'); // counted once
    assert.equal(cells.outsideBytes, 20);
    cells.supersede(entry('b', 2, 50), 0);
    cells.markOutside('b'); // the cell now points to a larger entry, still outside the tier
    assert.equal(cells.outsideBytes, 60);
    cells.markHeld('a');
    assert.equal(cells.outsideBytes, 50);
    cells.markOutside('a');
    cells.markOutside('c');
    assert.equal(cells.outsideBytes, 70);
    assert.equal(cells.trimOutside(15), 2, 'b (outside longest), then a (marked again before c), go; c stays');
    assert.deepEqual([cells.entry('a'), cells.entry('b'), cells.entry('c')?.version], [undefined, undefined, 1]);
    assert.equal(cells.outsideBytes, 10);
    cells.drop('c');
    assert.equal(cells.outsideBytes, 0, 'a dead cell counts nothing');
    assert.equal(cells.trimOutside(0), 0);
  });
});
