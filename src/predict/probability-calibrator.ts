/**
 * ProbabilityCalibrator: turns a mixed score in [0, 1] into an estimate of the chance the candidate is the next
 * access, from the hit rate observed for similar scores.
 *
 * Why: a mixture's score ranks well but is not a probability the prefetch scheduler can weigh against cost — a
 * diluted mixture under-states a sure thing and a sharp source over-states a guess. Histogram binning
 * (Zadrozny & Elkan 2001, "Obtaining calibrated probability estimates from decision trees and naive Bayesian
 * classifiers") counts, per score bin, how often a candidate in it was the next key; the bin's hit rate is the
 * calibrated probability. Bins are kept per group (the ensemble groups by leading source: the one that
 * contributed most to a candidate), so a sharp source outvoted in the mixture (delta's next block under a busy
 * Markov table) is calibrated on its own record instead of sharing a low bin with every weak guess.
 * Trade-off: a fresh bin knows nothing, so `prior` pseudo-observations pull it to the raw score; counts are
 * halved past `ceiling` so a bin follows drift. Cost: O(1) per record or lookup, groups x bins x 2 numbers.
 * Measured with bench/tune-prescient.ts against one shared set of bins: OLTP (ARC) hit 56.0% vs 53.2%, cache2k
 * orm-busy 76.6% vs 77.2%; half-octave bins helped OLTP further (58.1%) but cost orm-busy 4 points.
 */
import { nonNegativeNumber, positiveInt } from '../options.ts';

/** Options of ProbabilityCalibrator. */
export type ProbabilityCalibratorOptions = {
  /** Number of groups with their own bins (the ensemble: one per source). @default 1 */
  readonly groups?: number;
  /** Equal-width bins over [0, 1]. @default 20 */
  readonly bins?: number;
  /** Pseudo-observations that pull a bin towards the raw score. @default 2 */
  readonly prior?: number;
  /** A bin's counts are halved past this many observations. @default 10000 */
  readonly ceiling?: number;
};

/** Per-group histogram-binning calibration of scores in [0, 1]. */
export class ProbabilityCalibrator {
  readonly #bins: number;
  readonly #prior: number;
  readonly #ceiling: number;
  readonly #hits: Float64Array;
  readonly #count: Float64Array;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) on a bad option. */
  constructor(options: ProbabilityCalibratorOptions = {}) {
    const groups = positiveInt('groups', options.groups, 1);
    this.#bins = positiveInt('bins', options.bins, 20);
    this.#prior = nonNegativeNumber('prior', options.prior, 2);
    this.#ceiling = positiveInt('ceiling', options.ceiling, 10_000);
    this.#hits = new Float64Array(groups * this.#bins);
    this.#count = new Float64Array(groups * this.#bins);
  }

  /** Records whether a candidate of `group` with raw `score` turned out to be the next access. */
  record(score: number, group: number, isHit: boolean): void {
    const b = this.#bin(score, group);
    this.#count[b]++;
    if (isHit) this.#hits[b]++;
    if (this.#count[b] > this.#ceiling) {
      this.#count[b] /= 2;
      this.#hits[b] /= 2;
    }
  }

  /** The calibrated probability of a candidate of `group` with raw `score`, in [0, 1]. */
  calibrate(score: number, group: number): number {
    const b = this.#bin(score, group);
    const p = this.#prior;
    const n = this.#count[b] + p;
    return n > 0 ? Math.min(1, (this.#hits[b] + p * score) / n) : Math.min(1, Math.max(0, score));
  }

  #bin(score: number, group: number): number {
    const bins = this.#bins;
    return group * bins + Math.max(0, Math.min(bins - 1, Math.floor(score * bins)));
  }
}
