import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SuccessorTable } from '../../src/predict/successor-table.ts';

describe('SuccessorTable', () => {
  it('keeps the shares of fractionally weighted successors within 0.1% over millions of adds (Float32 counts are halved, never saturate)', () => {
    // Weights 1 and 1/5 (sequential rules at distances 1 and 5): the second successor's share is 1/6. Left to grow,
    // the Float32 count of weight 1/5 rounds every add by the same few percent once it is large, and stops moving
    // at all at 2^24 adds.
    const t = new SuccessorTable({ maxStates: 4, maxSuccessors: 4, halfLife: Infinity });
    for (let i = 1; i <= 2 ** 21; i++) {
      t.add(7, 1, i, 1);
      t.add(7, 2, i, 0.2);
    }
    const s = t.find(7);
    const share = (id: number): number => {
      for (let r = 0; r < t.length(s); r++) if (t.idAt(s, r) === id) return t.countAt(s, r) / t.total(s);
      return 0;
    };
    assert.ok(Math.abs(share(2) - 1 / 6) < 1e-3, `share of the weight-1/5 successor ${share(2)}, expected 1/6`);
    assert.ok(Math.abs(share(1) - 5 / 6) < 1e-3, `share of the weight-1 successor ${share(1)}, expected 5/6`);
    assert.ok(t.total(s) < 2 ** 20, `total ${t.total(s)} is bounded`);
  });

  it('keeps an always-true transition at probability 1 past 2^24 observations', () => {
    const t = new SuccessorTable({ maxStates: 4, maxSuccessors: 4, halfLife: Infinity });
    for (let i = 1; i <= 2 ** 24 + 2 ** 22; i++) t.add(7, 1, i);
    const s = t.find(7);
    const p = t.countAt(s, 0) / t.total(s);
    assert.ok(Math.abs(p - 1) < 1e-6, `p = ${p}`);
  });
});
