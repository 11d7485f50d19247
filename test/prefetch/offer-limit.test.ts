import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OfferLimit } from '../../src/prefetch/offer-limit.ts';

describe('OfferLimit', () => {
  test('starts at its most and shrinks after each starved pump, never below one', () => {
    const limit = new OfferLimit({ maxCandidates: 100, maxTokens: 16 });
    assert.equal(limit.value, 100);
    limit.starved();
    limit.offered(0);
    assert.equal(limit.value, 95);
    for (let i = 0; i < 500; i++) {
      limit.starved();
      limit.offered(0);
    }
    assert.equal(limit.value, 1);
  });

  test('grows only at offers that find three-quarters of the bucket full, up to its most', () => {
    const limit = new OfferLimit({ maxCandidates: 8, maxTokens: 16 });
    for (let i = 0; i < 100; i++) {
      limit.starved();
      limit.offered(0);
    }
    for (let i = 0; i < 100; i++) limit.offered(11);
    assert.equal(limit.value, 1, 'tokens below three-quarters of the bucket: held');
    for (let i = 0; i < 20; i++) limit.offered(12);
    assert.ok(limit.value > 1, `limit ${limit.value} after spare tokens`);
    for (let i = 0; i < 200; i++) limit.offered(16);
    assert.equal(limit.value, 8);
  });

  test('a starved pump outweighs spare tokens at the next offer', () => {
    const limit = new OfferLimit({ maxCandidates: 20, maxTokens: 16 });
    limit.starved();
    limit.offered(16);
    assert.equal(limit.value, 19);
    limit.offered(16);
    limit.offered(16);
    assert.equal(limit.value, 20, 'not starved since: spare tokens grow it back');
  });
});
