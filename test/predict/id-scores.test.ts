/**
 * IdScores (session-kNN's scratch sets) against CandidateSet, which it must match add for add: the same scores in the
 * same positions and the same top lists, ties included, across resets that grow the id bound.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CandidateSet } from '../../src/predict/candidate-set.ts';
import { IdScores } from '../../src/predict/id-scores.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

describe('IdScores', () => {
  it('matches CandidateSet on random adds, votes and top lists over 200 seeded rounds', () => {
    const random = seededRandom(7);
    const own = new IdScores(4);
    const reference = new CandidateSet();
    for (let round = 0; round < 200; round++) {
      const bound = 1 + Math.floor(random() * (round < 100 ? 50 : 3000));
      own.reset(bound);
      reference.clear();
      // Scores from a small set of values, so ties are common.
      const score = () => [0.5, 1, 0.25, 2, 0][Math.floor(random() * 5)] * (random() < 0.8 ? 1 : 3);
      for (let i = Math.floor(random() * 60); i > 0; i--) {
        const id = Math.floor(random() * bound);
        const s = score();
        assert.equal(own.add(id, s), reference.add(id, s), `position of ${id} (round ${round})`);
      }
      // A vote: sessions of items in a slab, the first k at or above the threshold vote with their similarity.
      const len = 4;
      const sessions = 6;
      const items = new Int32Array(sessions * len).map(() => Math.floor(random() * bound));
      const itemCount = new Uint8Array(sessions).map(() => Math.floor(random() * (len + 1)));
      const simIds = Int32Array.from({ length: sessions }, (_, i) => i);
      const simScores = Float64Array.from({ length: sessions }, () => score());
      const k = 1 + Math.floor(random() * sessions);
      const threshold = [0, 0.5, 1][Math.floor(random() * 3)];
      let expectedTotal = 0;
      let taken = 0;
      for (let i = 0; i < sessions && taken < k; i++) {
        if (simScores[i] < threshold) continue;
        taken++;
        reference.addEach(items, i * len, itemCount[i], simScores[i]);
        expectedTotal += simScores[i] * itemCount[i];
      }
      assert.equal(own.voteSessions(items, itemCount, len, simIds, simScores, sessions, k, threshold), expectedTotal);
      assert.equal(own.size, reference.size);
      assert.deepEqual([...own.ids.subarray(0, own.size)], [...reference.ids.subarray(0, reference.size)]);
      assert.deepEqual([...own.scores.subarray(0, own.size)], [...reference.scores.subarray(0, reference.size)]);
      for (const limit of [1, 3, 10, 100]) {
        const a = { ids: new Int32Array(limit), scores: new Float64Array(limit) };
        const b = { ids: new Int32Array(limit), scores: new Float64Array(limit) };
        const n = own.topInto(limit, a.ids, a.scores);
        assert.equal(n, reference.topInto(limit, b.ids, b.scores), `top ${limit} (round ${round})`);
        assert.deepEqual([...a.ids.subarray(0, n)], [...b.ids.subarray(0, n)]);
        assert.deepEqual([...a.scores.subarray(0, n)], [...b.scores.subarray(0, n)]);
      }
    }
  });

  it('holds nothing after a reset, even for ids added before it', () => {
    const set = new IdScores(2);
    set.reset(10);
    set.add(3, 1);
    set.add(9, 2);
    set.reset(100); // grows: fresh arrays
    assert.equal(set.add(3, 5), 0, 'id 3 is new again');
    set.reset(100); // same arrays, new generation
    assert.equal(set.size, 0);
    assert.equal(set.add(9, 1), 0);
    assert.equal(set.add(9, 1), 0, 'a second add finds it');
    assert.equal(set.scores[0], 2);
  });
});
