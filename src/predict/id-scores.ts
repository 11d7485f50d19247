/**
 * IdScores: session-kNN's scratch (id -> score) sets, as CandidateSet but with the id range reserved per prediction.
 *
 * Why: a session-kNN prediction adds about 50 ring entries (by session slot) and 100 neighbour items (by key id)
 * with the ensemble's options (yoochoose, msnbc). CandidateSet checks on every add whether its arrays must grow
 * and keeps its size in a field; here the caller names the id bound once per prediction (`reset`), and the adds
 * keep the size and arrays in locals, so an add is a stamp read, a compare and an index read (or the insertion):
 * the kNN scan inlines its adds (the arrays are public), and the vote is one call per prediction, not one per
 * neighbour (each call rereads the set's fields). Every add, tie and ordering is CandidateSet's: the same scores,
 * summed in the same order, come out in the same order.
 * Cost: O(1) per add, no allocation once grown; memory 8 bytes per id (stamp and index) up to twice the largest
 * bound reserved (they grow by doubling), plus 12 bytes per candidate. The vote's bound is the interner's size, so
 * its set covers every key the models know (16 MB at a million keys), where CandidateSet grew to the largest id
 * actually added. Ids at or past the bound are the caller's error: their stamp write is lost, not checked.
 */

/** Reusable id -> score accumulator for ids below a bound given per use. */
export class IdScores {
  /** Per id, the generation that last inserted it (the set holds id when it is `current`). */
  stamp = new Int32Array(0);
  /** Per id held, its position in `ids` / `scores`. */
  index = new Int32Array(0);
  current = 0;
  /** Candidates held: the first `size` entries of `ids` / `scores`, in insertion order. */
  size = 0;
  ids: Int32Array;
  scores: Float64Array;

  constructor(capacity: number) {
    this.ids = new Int32Array(Math.max(1, capacity));
    this.scores = new Float64Array(this.ids.length);
  }

  /** Empties the set, for ids below `bound` until the next reset (the stamp and index arrays grow to cover it). */
  reset(bound: number): void {
    if (this.stamp.length < bound) {
      // Fresh zeroed arrays: no id is held after a reset, and 0 is never `current`.
      const n = Math.max(bound, 2 * this.stamp.length, 64);
      this.stamp = new Int32Array(n);
      this.index = new Int32Array(n);
    }
    if (++this.current === 0x7fffffff) {
      this.stamp.fill(0);
      this.current = 1;
    }
    this.size = 0;
  }

  /** Room for `n` candidates in all (`ids` / `scores` are replaced when they grow). */
  reserve(n: number): void {
    if (n <= this.ids.length) return;
    const ids = new Int32Array(Math.max(n, 2 * this.ids.length));
    ids.set(this.ids);
    this.ids = ids;
    const scores = new Float64Array(ids.length);
    scores.set(this.scores);
    this.scores = scores;
  }

  /** Adds `score` to id's score, inserting it with `score` when absent; returns its position. */
  add(id: number, score: number): number {
    if (this.stamp[id] === this.current) {
      const i = this.index[id];
      this.scores[i] += score;
      return i;
    }
    const i = this.size++;
    this.reserve(i + 1);
    this.stamp[id] = this.current;
    this.index[id] = i;
    this.ids[i] = id;
    this.scores[i] = score;
    return i;
  }

  /**
   * The session-kNN vote without position decay: the first `k` of the `found` candidate sessions scoring at least
   * `threshold` (by slot in `simIds`, similarity in `simScores`) add their similarity to each of their items
   * (`itemCount[slot]` ids from `items[slot * len]`), in that order, as `add` one by one, with the arrays read once per
   * prediction; returns the weight given (similarity x items, summed in order).
   */
  voteSessions(items: Int32Array, itemCount: Uint8Array, len: number, simIds: Int32Array, simScores: Float64Array, found: number, k: number, threshold: number): number {
    const stamp = this.stamp;
    const index = this.index;
    const current = this.current;
    let ids = this.ids;
    let scores = this.scores;
    let size = this.size;
    let total = 0;
    let taken = 0;
    for (let i = 0; i < found && taken < k; i++) {
      const s = simScores[i];
      if (s < threshold) continue;
      taken++;
      const slot = simIds[i];
      const n = itemCount[slot];
      if (size + n > ids.length) {
        this.reserve(size + n);
        ids = this.ids;
        scores = this.scores;
      }
      for (let j = slot * len, end = j + n; j < end; j++) {
        const id = items[j];
        if (stamp[id] === current) {
          scores[index[id]] += s;
          continue;
        }
        stamp[id] = current;
        index[id] = size;
        ids[size] = id;
        scores[size++] = s;
      }
      total += s * n;
    }
    this.size = size;
    return total;
  }

  /**
   * Writes the ids and scores of the `limit` highest scores (ties by insertion order, scores <= 0 skipped),
   * highest first, into `outIds` / `outScores` (each of length >= limit) and returns how many: CandidateSet's
   * `topInto`, carrying ids instead of positions to map afterwards.
   */
  topInto(limit: number, outIds: Int32Array, outScores: Float64Array): number {
    const ids = this.ids;
    const scores = this.scores;
    let n = 0;
    // What a score must exceed to enter: 0 until the list is full (outScores are all > 0), then its last score;
    // one compare does CandidateSet's two (a NaN fails both).
    let floor = 0;
    for (let i = 0, size = this.size; i < size; i++) {
      const s = scores[i];
      if (!(s > floor)) continue;
      let j = n < limit ? n++ : limit - 1;
      while (j > 0 && outScores[j - 1] < s) {
        outScores[j] = outScores[j - 1];
        outIds[j] = outIds[j - 1];
        j--;
      }
      outScores[j] = s;
      outIds[j] = ids[i];
      if (n === limit) floor = outScores[limit - 1];
    }
    return n;
  }
}
