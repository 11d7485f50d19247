/**
 * The side table of hard deletes: its name beside the source table, and how its records merge into catch-up pages
 * (version order, cut at the page size but never between two records of one version).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPrescientError } from '../../src/errors.ts';
import { hardDeletesTable, mergeChanges } from '../../src/sync/hard-deletes.ts';

describe('hard deletes', () => {
  test('the side table sits in the source table\'s schema; a name past 63 bytes is refused naming the option', () => {
    assert.equal(hardDeletesTable('items'), 'prescient_deletes_items');
    assert.equal(hardDeletesTable('shop.items'), 'shop.prescient_deletes_items');
    assert.throws(() => hardDeletesTable('x'.repeat(50)), (e) => isPrescientError(e, 'ERR_INVALID_OPTION') && e.message.includes('`table`'));
  });

  test('merges rows and hard deletes in version order and cuts at the limit, but not inside one version', () => {
    const rows = [{ key: 'a', version: 1 }, { key: 'b', version: 3 }, { key: 'c', version: 5 }];
    const removals = [{ key: 'x', version: 2, removedVersion: 1 }, { key: 'y', version: 5, removedVersion: 4 }];
    assert.deepEqual(mergeChanges(rows, removals, 10).map((r) => r.key), ['a', 'x', 'b', 'c', 'y']);
    assert.deepEqual(mergeChanges(rows, removals, 2).map((r) => r.key), ['a', 'x']);
    assert.deepEqual(mergeChanges(rows, removals, 4).map((r) => r.key), ['a', 'x', 'b', 'c', 'y'], 'y shares version 5 with c: the next page would skip it');
    assert.deepEqual(mergeChanges(rows, [], 2), rows.slice(0, 2));
    assert.deepEqual(mergeChanges([], removals, 1), [removals[0]]);
  });
});
