/**
 * How the hard deletes of the side table merge into catch-up pages: version order, cut at the page size but never
 * between two records of one version (the next page starts above the last version returned).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergeChanges } from '../../src/sync/hard-deletes.ts';

describe('hard deletes', () => {
  test('merges rows and hard deletes in version order and cuts at the limit, but not inside one version', () => {
    const rows = [{ key: 'a', version: 1 }, { key: 'b', version: 3 }, { key: 'c', version: 5 }];
    const removals = [{ key: 'x', version: 2, removedVersion: 1 }, { key: 'y', version: 5, removedVersion: 4 }];
    assert.deepEqual(mergeChanges(rows, removals, 10).map((r) => r.key), ['a', 'x', 'b', 'c', 'y']);
    assert.deepEqual(mergeChanges(rows, removals, 2).map((r) => r.key), ['a', 'x']);
    assert.deepEqual(mergeChanges(rows, removals, 4).map((r) => r.key), ['a', 'x', 'b', 'c', 'y'], 'y shares version 5 with c: the next page would skip it');
    assert.deepEqual(mergeChanges([], removals, 1), removals);
  });

  test('a page of rows longer than the limit (its last version tied) comes back whole when there is nothing to merge', () => {
    const tied = [{ key: 'a', version: 1 }, { key: 'b', version: 2 }, { key: 'c', version: 2 }];
    assert.deepEqual(mergeChanges(tied, [], 2), tied);
    assert.deepEqual(mergeChanges(tied, [{ key: 'z', version: 9, removedVersion: 1 }], 2).map((r) => r.key), ['a', 'b', 'c']);
  });
});
