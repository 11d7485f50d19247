import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NodeTable } from '../../src/cache/node-table.ts';
import { PrefetchRegion } from '../../src/cache/prefetch-region.ts';

describe('PrefetchRegion', () => {
  test('fraction 0 keeps the share at 0, even on a miss on a wasted prefetch', () => {
    const region = new PrefetchRegion<string>({ table: new NodeTable<string>(), capacityBytes: 1000, fraction: 0, adaptive: true });
    region.recordWaste('k');
    region.recordMiss('k', 10, 100);
    assert.equal(region.maxBytes, 0);
  });

  test('a share above 0 grows on a miss on a wasted prefetch', () => {
    const region = new PrefetchRegion<string>({ table: new NodeTable<string>(), capacityBytes: 1000, fraction: 0.1, adaptive: true });
    region.recordWaste('k');
    region.recordMiss('k', 10, 100);
    assert.equal(region.maxBytes, 110);
  });
});
