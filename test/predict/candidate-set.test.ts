import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CandidateSet } from '../../src/predict/candidate-set.ts';

describe('CandidateSet', () => {
  it('adds a run of ids as add does one by one, growing past its first capacity', () => {
    const source = new Int32Array(300);
    for (let i = 0; i < source.length; i++) source[i] = (i * 37) % 211 + (i % 3 === 0 ? 5000 : 0);
    const each = new CandidateSet();
    const one = new CandidateSet();
    for (const [from, n, score] of [[0, 150, 0.5], [100, 200, 0.25], [7, 3, 1]] as const) {
      each.addEach(source, from, n, score);
      for (let j = from; j < from + n; j++) one.add(source[j], score);
    }
    assert.equal(each.size, one.size);
    assert.deepEqual([...each.ids.subarray(0, each.size)], [...one.ids.subarray(0, one.size)]);
    assert.deepEqual([...each.scores.subarray(0, each.size)], [...one.scores.subarray(0, one.size)]);
    each.clear();
    assert.equal(each.size, 0);
    each.addEach(source, 0, 2, 1);
    assert.equal(each.indexOf(source[1]), 1);
    assert.equal(each.indexOf(source[2]), -1);
  });
});
