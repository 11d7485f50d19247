/**
 * ListMixer: merges the ranked candidate lists of several sources into one list by a weighted sum of their
 * probabilities (a linear opinion pool), calibrated and ranked.
 *
 * Why: the ensemble's sources each name a few dozen candidates with a probability; the mixture probability of a
 * key is sum_j w_j p_j(key) / sum_j w_j (Genest & Zidek 1986, "Combining probability distributions"), which
 * keeps a key named by two sources above one named by a single source of the same confidence. Each candidate
 * remembers its leading source (the largest w_j p_j), whose calibration bins turn the raw score into the
 * probability reported (see ProbabilityCalibrator). Keys are dense ids, so the merge is a typed-array
 * accumulator (CandidateSet) with no string or object per candidate; only the final top `depth` are written out.
 * Cost: O(total candidates) to merge plus O(total x depth) worst case for the partial insertion sorts.
 */
import { CandidateSet } from './candidate-set.ts';
import type { ProbabilityCalibrator } from './probability-calibrator.ts';

/** The sources' lists: source j's `lens[j]` ids / probabilities at [j * stride, ...), highest first. */
export type SourceLists = {
  readonly ids: Int32Array;
  readonly probs: Float64Array;
  readonly lens: Int32Array;
  readonly stride: number;
  /** The one source whose candidates carry an ETA (-1: none), and those ETAs in ms (NaN: unknown), by rank. */
  readonly etaSource: number;
  readonly etas: Float64Array;
};

/** The mixed list written by `mix`: `n` entries, highest calibrated probability first. */
export type MixedList = {
  n: number;
  readonly ids: Int32Array;
  /** Mixed score before calibration, in [0, 1]. */
  readonly raw: Float64Array;
  readonly probability: Float64Array;
  /** ETA in ms, NaN when unknown. */
  readonly eta: Float64Array;
  /** Leading source. */
  readonly source: Int32Array;
};

/** Reusable weighted merger of ranked id lists (scratch sized for `sources` lists of up to `maxDepth`). */
export class ListMixer {
  readonly #set = new CandidateSet();
  readonly #best: Float64Array;
  readonly #src: Int32Array;
  readonly #eta: Float64Array;
  /** Positions in the set of the top candidates, by mixed score. */
  readonly #rankPositions: Int32Array;
  readonly #rankScores: Float64Array;
  readonly #order: Int32Array;
  readonly #tmp: Float64Array;
  readonly #maxDepth: number;

  /** @param sources most lists mixed; @param maxDepth longest list and longest output. */
  constructor(sources: number, maxDepth: number) {
    this.#maxDepth = maxDepth;
    this.#best = new Float64Array(sources * maxDepth);
    this.#src = new Int32Array(sources * maxDepth);
    this.#eta = new Float64Array(sources * maxDepth);
    this.#rankPositions = new Int32Array(maxDepth);
    this.#rankScores = new Float64Array(maxDepth);
    this.#order = new Int32Array(maxDepth);
    this.#tmp = new Float64Array(maxDepth * 2);
  }

  /**
   * Mixes the lists with `weights` (w_j <= 0 leaves list j out) into `out`, at most `depth` (<= maxDepth)
   * entries ordered by calibrated probability (stable on ties). Ids must be non-negative.
   */
  mix(lists: SourceLists, weights: Float64Array, calibrator: ProbabilityCalibrator, depth: number, out: MixedList): void {
    const set = this.#set;
    set.clear();
    const best = this.#best;
    const src = this.#src;
    const eta = this.#eta;
    const { ids, probs, lens, stride, etaSource, etas } = lists;
    let sumW = 0;
    for (let j = 0; j < lens.length; j++) {
      const len = lens[j];
      const w = weights[j];
      if (len === 0 || !(w > 0)) continue;
      sumW += w;
      const from = j * stride;
      const hasEta = j === etaSource;
      for (let r = 0; r < len; r++) {
        const part = w * probs[from + r];
        const size = set.size;
        const i = set.add(ids[from + r], part);
        const e = hasEta ? etas[r] : Number.NaN;
        if (i === size) {
          best[i] = part;
          src[i] = j;
          eta[i] = e;
        } else {
          if (part > best[i]) {
            best[i] = part;
            src[i] = j;
          }
          if (Number.isNaN(eta[i])) eta[i] = e;
        }
      }
    }
    out.n = 0;
    if (sumW === 0) return;
    const d = Math.min(depth, this.#maxDepth);
    const rank = this.#rankPositions;
    const n = set.topPositionsInto(d, rank, this.#rankScores);
    const tmp = this.#tmp;
    const order = this.#order;
    for (let r = 0; r < n; r++) {
      const i = rank[r];
      const score = Math.min(1, this.#rankScores[r] / sumW);
      const calibrated = calibrator.calibrate(score, src[i]);
      tmp[r] = score;
      tmp[d + r] = calibrated;
      let at = r;
      while (at > 0 && tmp[d + order[at - 1]] < calibrated) {
        order[at] = order[at - 1];
        at--;
      }
      order[at] = r;
    }
    const setIds = set.ids;
    for (let r = 0; r < n; r++) {
      const o = order[r];
      const i = rank[o];
      out.ids[r] = setIds[i];
      out.raw[r] = tmp[o];
      out.probability[r] = tmp[d + o];
      out.eta[r] = eta[i];
      out.source[r] = src[i];
    }
    out.n = n;
  }
}
