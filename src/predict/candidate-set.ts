/**
 * CandidateSet: a scratch accumulator of (key id -> score) reused across predictions, with O(1) reset.
 *
 * Why: every predict merges a few short successor lists; a Map per call allocates and hashes. Dense key ids let
 * a stamp array answer "is this id already a candidate, and where" in one typed-array read, and a new stamp
 * clears the set without touching it. Top-k selection is a partial insertion sort over at most a few dozen
 * candidates, cheaper than a heap at that size.
 */

/** Reusable id -> score accumulator for dense ids. */
export class CandidateSet {
  #stamp = new Int32Array(1024);
  #index = new Int32Array(1024);
  #current = 1;
  #size = 0;
  /** Candidate ids in insertion order (the first `size` entries are valid; the array is replaced when it grows). */
  ids = new Int32Array(64);
  /** Scores, parallel to `ids`. */
  scores = new Float64Array(64);

  /** Empties the set. */
  clear(): void {
    this.#current++;
    if (this.#current === 0x7fffffff) {
      this.#stamp.fill(0);
      this.#current = 1;
    }
    this.#size = 0;
  }

  /** Number of candidates. */
  get size(): number {
    return this.#size;
  }

  /** Position of `id` in `ids`, or -1. */
  indexOf(id: number): number {
    return id < this.#stamp.length && this.#stamp[id] === this.#current ? this.#index[id] : -1;
  }

  /** Adds `score` to id's score, inserting it with `score` when absent; returns its position. */
  add(id: number, score: number): number {
    if (id >= this.#stamp.length) this.#grow(id);
    if (this.#stamp[id] === this.#current) {
      const i = this.#index[id];
      this.scores[i] += score;
      return i;
    }
    this.#stamp[id] = this.#current;
    const i = this.#size++;
    if (i === this.ids.length) this.#growList();
    this.#index[id] = i;
    this.ids[i] = id;
    this.scores[i] = score;
    return i;
  }

  /**
   * Adds `score` to each of `source[from]` .. `source[from + n - 1]` (ids), as `add` does one by one, with the
   * set's arrays read once: the session-kNN vote adds every item of each neighbour (hundreds per prediction).
   */
  addEach(source: Int32Array, from: number, n: number, score: number): void {
    let stamp = this.#stamp;
    let index = this.#index;
    const current = this.#current;
    let ids = this.ids;
    let scores = this.scores;
    for (let j = from, end = from + n; j < end; j++) {
      const id = source[j];
      if (id >= stamp.length) {
        this.#grow(id);
        stamp = this.#stamp;
        index = this.#index;
      }
      if (stamp[id] === current) {
        scores[index[id]] += score;
        continue;
      }
      stamp[id] = current;
      const i = this.#size++;
      if (i === ids.length) {
        this.#growList();
        ids = this.ids;
        scores = this.scores;
      }
      index[id] = i;
      ids[i] = id;
      scores[i] = score;
    }
  }

  /** Positions of the `limit` highest scores (ties by insertion order), highest first, skipping scores <= 0. */
  top(limit: number): number[] {
    const out: number[] = [];
    const scores = this.scores;
    for (let i = 0, n = this.#size; i < n; i++) {
      const s = scores[i];
      if (!(s > 0)) continue;
      if (out.length === limit && s <= scores[out[limit - 1]]) continue;
      let j = out.length < limit ? out.length : limit - 1;
      while (j > 0 && scores[out[j - 1]] < s) {
        out[j] = out[j - 1];
        j--;
      }
      out[j] = i;
    }
    return out;
  }

  /**
   * Writes the ids and scores of the `limit` highest scores (ties by insertion order, scores <= 0 skipped),
   * highest first, into `ids` / `outScores` (each of length >= limit) and returns how many. Allocates nothing.
   */
  topInto(limit: number, ids: Int32Array, outScores: Float64Array): number {
    const n = this.topPositionsInto(limit, ids, outScores);
    const own = this.ids;
    for (let k = 0; k < n; k++) ids[k] = own[ids[k]];
    return n;
  }

  /**
   * As `topInto`, but writes the candidates' positions in `ids` / `scores` (same order, same ties) into
   * `positions`, so a caller keeping data by position needs no `indexOf` per result. Allocates nothing.
   */
  topPositionsInto(limit: number, positions: Int32Array, outScores: Float64Array): number {
    const scores = this.scores;
    let n = 0;
    for (let i = 0, size = this.#size; i < size; i++) {
      const s = scores[i];
      if (!(s > 0)) continue;
      if (n === limit && s <= outScores[limit - 1]) continue;
      let j = n < limit ? n++ : limit - 1;
      while (j > 0 && outScores[j - 1] < s) {
        outScores[j] = outScores[j - 1];
        positions[j] = positions[j - 1];
        j--;
      }
      outScores[j] = s;
      positions[j] = i;
    }
    return n;
  }

  #growList(): void {
    const ids = new Int32Array(this.ids.length * 2);
    ids.set(this.ids);
    this.ids = ids;
    const scores = new Float64Array(this.scores.length * 2);
    scores.set(this.scores);
    this.scores = scores;
  }

  #grow(id: number): void {
    let n = this.#stamp.length;
    while (n <= id) n *= 2;
    const stamp = new Int32Array(n);
    stamp.set(this.#stamp);
    this.#stamp = stamp;
    const index = new Int32Array(n);
    index.set(this.#index);
    this.#index = index;
  }
}
