import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OfferGenerations } from '../../src/prefetch/offer-generations.ts';

describe('OfferGenerations', () => {
  test('a newer offer of a context supersedes the older one; other contexts stay current', () => {
    const g = new OfferGenerations(8);
    const a1 = g.next('A');
    const b1 = g.next('B');
    const a2 = g.next('A');
    assert.ok(!g.isCurrent('A', a1) && g.isCurrent('A', a2) && g.isCurrent('B', b1));
  });

  test('a context forgotten past maxContexts never gets back a generation it handed out before', () => {
    const g = new OfferGenerations(2);
    const old = g.next('A');
    g.next('B');
    g.next('C'); // A is forgotten: its candidates are stale
    assert.equal(g.isCurrent('A', old), false);
    const again = g.next('A');
    assert.ok(again > old, `generation ${again} after ${old}`);
    assert.equal(g.isCurrent('A', old), false, 'the superseded candidates stay stale');
  });
});
