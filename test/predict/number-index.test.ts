import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NumberIndex } from '../../src/predict/number-index.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

describe('NumberIndex', () => {
  test('agrees with a Map over 200,000 random sets, gets and deletes of colliding and 52-bit keys', () => {
    const random = seededRandom(17);
    const index = new NumberIndex();
    const reference = new Map<number, number>();
    // Few distinct keys (so deletes hit present keys and runs form), half of them beyond the small-integer range.
    const pool = Array.from({ length: 3000 }, (_, i) => (i % 2 === 0 ? i : Math.floor(random() * 2 ** 52)));
    for (let op = 0; op < 200_000; op++) {
      const key = pool[Math.floor(random() * pool.length)];
      const r = random();
      if (r < 0.45) {
        const value = Math.floor(random() * 1e6);
        index.set(key, value);
        reference.set(key, value);
      } else if (r < 0.75) {
        assert.equal(index.delete(key), reference.delete(key), `delete ${key} at op ${op}`);
      } else {
        assert.equal(index.get(key), reference.get(key) ?? -1, `get ${key} at op ${op}`);
      }
      assert.equal(index.size, reference.size);
    }
    for (const key of pool) assert.equal(index.get(key), reference.get(key) ?? -1);
  });

  test('-0 and 0 are one key; a missing key reads -1; growing keeps every entry', () => {
    const index = new NumberIndex();
    index.set(0, 7);
    assert.equal(index.get(-0), 7);
    assert.equal(index.delete(-0), true);
    assert.equal(index.get(0), -1);
    for (let i = 0; i < 10_000; i++) index.set(i * 2 ** 26 + 3, i);
    for (let i = 0; i < 10_000; i++) assert.equal(index.get(i * 2 ** 26 + 3), i);
    assert.equal(index.size, 10_000);
    assert.equal(index.get(12345.5), -1);
  });
});
