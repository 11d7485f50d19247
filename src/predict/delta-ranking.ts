/**
 * DeltaRanking: DeltaPredictor's candidate merge and top-k ranking (its `predictValues` after the session lookup),
 * with the scratch and output arrays they fill.
 *
 * Why a class of its own: the ranking is most of a prediction's cost, and on session clickstreams with numeric item
 * ids (yoochoose) it runs on nearly every step for a source of small weight. So it does no more than the answer
 * needs: a session delta finds its global twin through a small hash index of the top deltas (built once per
 * re-rank), not by scanning them; off a run, the global deltas no session delta took are not copied but read by
 * rank, in non-increasing score, so the first that cannot enter the full list ends them. The candidates, their
 * order, every score's operations and the ties are those of a plain merge into one list (session deltas, then
 * global deltas, then near offsets) followed by one insertion pass: the lists are the same to the bit.
 * Cost: O(session deltas^2) to merge, O(want) offers per step; along a run, O(candidates x lookahead).
 */
import { deltaHash, type DeltaTable } from './delta-table.ts';

/** Offsets d (1..nearOffsets) whose near-future rate DeltaPredictor learns. */
export const nearOffsets = 4;
/** Most predictions returned by one predict (a larger limit is clipped to it). */
export const outLimit = 64;
/** Slots of the index of the top deltas per top delta (a sparse table: about one probe per lookup). */
const indexSpread = 4;

/** Scratch and output of DeltaPredictor's ranking. */
export class DeltaRanking {
  /** Key values of the last ranking, by rank. */
  readonly values = new Float64Array(outLimit);
  /** Their probabilities, highest first. */
  readonly probabilities = new Float64Array(outLimit);
  /** Their steps ahead (the caller turns them into ETAs). */
  readonly steps = new Float64Array(outLimit);
  /** Near rate of offset d (1..nearOffsets), set by the caller before a `step` with near offsets. */
  readonly nearRates = new Float64Array(nearOffsets + 1);
  /** Candidate deltas and scores: the session's first, then (along a run) the global ones, then near offsets. */
  readonly #deltas: Float64Array;
  readonly #scores: Float64Array;
  /** The table whose top deltas are ranked, and an open-addressing index of them: rank + 1, 0 for empty. */
  readonly #table: DeltaTable;
  readonly #topIndex: Int32Array;
  readonly #topShift: number;
  /** Per rank of the top deltas: `#stamp` when, in this ranking, a session delta took its score. */
  readonly #matched: Int32Array;
  #stamp = 0;
  /** Position among the session candidates of delta d (1..nearOffsets), or -1, as `session` leaves it. */
  readonly #nearAt = new Int32Array(nearOffsets + 1);
  /** Rank among the table's top deltas of delta d (1..nearOffsets), or -1 (see `ranked`). */
  readonly #nearRank = new Int32Array(nearOffsets + 1).fill(-1);
  readonly #lookahead: number;
  /** Probability of the other deltas folded into step j of a run (index j), in `run`. */
  readonly #folded: Float64Array;

  constructor(history: number, table: DeltaTable, lookahead: number) {
    const topSize = table.topDeltas.length;
    this.#deltas = new Float64Array(history + topSize + nearOffsets);
    this.#scores = new Float64Array(history + topSize + nearOffsets);
    this.#table = table;
    const slots = Math.max(8, 1 << (32 - Math.clz32(indexSpread * topSize - 1)));
    this.#topIndex = new Int32Array(slots);
    this.#topShift = Math.clz32(slots) + 1;
    this.#matched = new Int32Array(topSize);
    this.#lookahead = lookahead;
    this.#folded = new Float64Array(lookahead + 1);
  }

  /** Indexes the table's top deltas (and notes where the near offsets are): call after each `table.rank()`. */
  ranked(): void {
    const table = this.#table;
    const nearRank = this.#nearRank.fill(-1);
    const index = this.#topIndex.fill(0);
    const mask = index.length - 1;
    for (let r = 0; r < table.topLength; r++) {
      const d = table.topDeltas[r];
      if (d >= 1 && d <= nearOffsets) nearRank[d] = r;
      let h = deltaHash(d) >>> this.#topShift;
      while (index[h] !== 0) h = (h + 1) & mask;
      index[h] = r + 1;
    }
  }

  /** Rank of delta `d` among the top deltas, or -1. */
  #rankOf(d: number): number {
    const index = this.#topIndex;
    const top = this.#table.topDeltas;
    const mask = index.length - 1;
    for (let h = deltaHash(d) >>> this.#topShift; ; h = (h + 1) & mask) {
      const e = index[h];
      if (e === 0 || top[e - 1] === d) return e - 1;
    }
  }

  /**
   * Adds to each of the `ms` session candidates the share f x count of the same global delta among the first `topN`
   * (each meets at most one: the top deltas are distinct), stamping the ranks so taken; returns the stamp.
   */
  #matchTop(ms: number, topN: number, f: number): number {
    if (++this.#stamp > 0x3fffffff) {
      this.#matched.fill(0);
      this.#stamp = 1;
    }
    const stamp = this.#stamp;
    if (topN === 0) return stamp;
    const deltas = this.#deltas;
    const scores = this.#scores;
    const topCounts = this.#table.topCounts;
    for (let i = 0; i < ms; i++) {
      const r = this.#rankOf(deltas[i]);
      if (r >= 0 && r < topN) {
        scores[i] += topCounts[r] * f;
        this.#matched[r] = stamp;
      }
    }
    return stamp;
  }

  /** Merges the first `seen` of a session's deltas, 1 / `denom` each, into the candidates; returns how many. */
  session(deltas: Float64Array, seen: number, denom: number): number {
    const ds = this.#deltas;
    const scores = this.#scores;
    const nearAt = this.#nearAt;
    for (let d = 1; d <= nearOffsets; d++) nearAt[d] = -1; // a loop: TypedArray fill is a call into the runtime
    let m = 0;
    for (let i = 0; i < seen; i++) {
      const d = deltas[i];
      let j = 0;
      while (j < m && ds[j] !== d) j++;
      if (j < m) scores[j] += 1 / denom;
      else {
        if (d >= 1 && d <= nearOffsets) nearAt[d] = m;
        ds[m] = d;
        scores[m++] = 1 / denom;
      }
    }
    return m;
  }

  /**
   * Off a clean run, one step per candidate from key `last`: the `ms` session candidates (each global delta's
   * f x count added to the same delta's), the first `topN` global deltas no session delta took, then, with `near`,
   * the near offsets found nowhere else; with `near`, rate d raises delta d where it is. Writes the top `want`
   * and returns how many.
   */
  step(last: number, ms: number, topN: number, f: number, near: boolean, want: number): number {
    const deltas = this.#deltas;
    const scores = this.#scores;
    const topDeltas = this.#table.topDeltas;
    const topCounts = this.#table.topCounts;
    const matched = this.#matched;
    const stamp = this.#matchTop(ms, topN, f);
    let m = ms;
    /** Bit d: near offset d raises the global delta d (at rank `#nearRank[d]`, the last such rank `lastRaised`). */
    let raised = 0;
    let lastRaised = -1;
    const rates = this.nearRates;
    if (near) {
      for (let d = 1; d <= nearOffsets; d++) {
        const rate = rates[d];
        const i = this.#nearAt[d];
        const r = this.#nearRank[d];
        if (i >= 0) {
          if (rate > scores[i]) scores[i] = rate;
        } else if (r >= 0 && r < topN) {
          raised |= 1 << d;
          if (r > lastRaised) lastRaised = r;
        } else {
          deltas[m] = d;
          scores[m++] = rate;
        }
      }
    }
    let n = 0;
    for (let i = 0; i < ms; i++) {
      const d = deltas[i];
      if (d === 0) continue;
      const key = last + d;
      if (Number.isSafeInteger(key)) n = this.#offer(n, want, key, scores[i]);
    }
    // The global deltas no session delta took, by rank: the plain ones (no near rate raised them) score f x count,
    // non-increasing, so the first that cannot enter the full list ends them (the list's floor only rises).
    const probs = this.probabilities;
    let plainDone = false;
    for (let r = 0; r < topN; r++) {
      if (matched[r] === stamp) continue;
      const d = topDeltas[r];
      let p = topCounts[r] * f;
      if (d >= 1 && d <= nearOffsets && (raised & (1 << d)) !== 0) {
        if (rates[d] > p) p = rates[d];
      } else if (plainDone || (n === want && Math.min(1, p > 0 ? p : 0) <= probs[want - 1])) {
        plainDone = true;
        if (r > lastRaised) break;
        continue;
      }
      if (d === 0) continue;
      const key = last + d;
      if (Number.isSafeInteger(key)) n = this.#offer(n, want, key, p);
    }
    for (let i = ms; i < m; i++) {
      const key = last + deltas[i];
      if (Number.isSafeInteger(key)) n = this.#offer(n, want, key, scores[i]);
    }
    return n;
  }

  /**
   * Along a clean run of `lastDelta` from key `last`: the `ms` session candidates and the first `topN` global
   * deltas (f x count), merged; the run extended `lookahead` steps. Writes the top `want`, returns how many.
   */
  run(last: number, ms: number, topN: number, f: number, lastDelta: number, want: number): number {
    const deltas = this.#deltas;
    const scores = this.#scores;
    const topDeltas = this.#table.topDeltas;
    const topCounts = this.#table.topCounts;
    const stamp = this.#matchTop(ms, topN, f);
    let m = ms;
    for (let r = 0; r < topN; r++) {
      if (this.#matched[r] === stamp) continue;
      deltas[m] = topDeltas[r];
      scores[m++] = topCounts[r] * f;
    }
    // Along a clean run of delta d, key last + j·d (j = 2..lookahead) is also what a delta of j·d names: that delta
    // is folded into the run's step j, so each key is offered once, with the larger of the two probabilities and the
    // ETA of the route that gave it. Not their sum: both estimate that the same key is read soon, so they overlap
    // (the sum cost ARC OLTP at 1,000 entries 1.36 points, 62.62 → 61.26; the larger one leaves it where it was).
    const lookahead = this.#lookahead;
    const folded = this.#folded;
    for (let j = 0; j <= lookahead; j++) folded[j] = 0;
    for (let i = 0; i < m; i++) {
      const j = deltas[i] / lastDelta;
      if (j >= 2 && j <= lookahead && Number.isInteger(j)) {
        folded[j] += scores[i];
        deltas[i] = 0;
      }
    }
    // Top `want` (key, probability, steps) by probability, kept sorted in the output arrays.
    let n = 0;
    for (let i = 0; i < m; i++) {
      const d = deltas[i];
      if (d === 0) continue;
      const ahead = d === lastDelta ? lookahead : 1;
      for (let j = 1; j <= ahead; j++) {
        const key = last + d * j;
        if (!Number.isSafeInteger(key)) break;
        const alongRun = j === 1 ? scores[i] : scores[i] ** j; // x ** 1 is x: the power only from step 2
        const other = ahead > 1 ? folded[j] : 0;
        // A step left out does not end the run: a later step may carry a folded delta. The other delta's read is
        // the next one.
        n = this.#insert(n, want, key, Math.min(1, alongRun > other ? alongRun : other), other > alongRun ? 1 : j);
      }
    }
    return n;
  }

  /** Offers `key` at min(1, score), one step ahead, into the sorted top `want`; returns the new count. */
  #offer(n: number, want: number, key: number, score: number): number {
    return this.#insert(n, want, key, Math.min(1, score > 0 ? score : 0), 1);
  }

  /** Inserts (key, probability, step) into the sorted top `want` unless it ranks below a full list; returns the new count. */
  #insert(n: number, want: number, key: number, probability: number, step: number): number {
    const probs = this.probabilities;
    if (n === want && probability <= probs[want - 1]) return n;
    const keys = this.values;
    const steps = this.steps;
    let at = n < want ? n++ : want - 1;
    while (at > 0 && probs[at - 1] < probability) {
      probs[at] = probs[at - 1];
      keys[at] = keys[at - 1];
      steps[at] = steps[at - 1];
      at--;
    }
    probs[at] = probability;
    keys[at] = key;
    steps[at] = step;
    return n;
  }
}
