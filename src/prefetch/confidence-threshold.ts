/**
 * ConfidenceThreshold: the least probability at which the prefetch scheduler fetches a prediction, steered by the
 * precision prefetches are measured to have.
 *
 * Why: a fixed bar is wrong for most workloads — too low where predictions are vague (waste), too high where they
 * are sharp (missed hits). Every `adaptEvery` resolved outcomes (a prefetch used, or evicted unused) the bar rises by
 * 10% (plus a small step, so it leaves 0) while recent precision is under `targetPrecision`, and falls by 5% while it
 * is above, within [`minProbability`, `maxProbability`]: a slow multiplicative controller, quick to back off from
 * waste and slow to trust again. With `targetPrecision` 0 it stays at `minProbability`. Cost: O(1) per offer.
 */
import type { Feedback } from './feedback.ts';

/** Outcomes between two threshold adjustments. */
const adaptEvery = 32;
/** Steps of the bar: up 10% (+0.001) while precision is short of the target, down 5% while above it. */
const raiseFactor = 1.1;
const raiseStep = 0.001;
const lowerFactor = 0.95;

export type ConfidenceThresholdOptions = {
  readonly feedback: Feedback;
  /** Starting and lowest bar, in [0, 1]. */
  readonly minProbability: number;
  /** Highest bar, in [minProbability, 1]. */
  readonly maxProbability: number;
  /** Precision to steer toward; 0 keeps the bar at `minProbability`. */
  readonly targetPrecision: number;
};

export class ConfidenceThreshold {
  readonly #o: ConfidenceThresholdOptions;
  #value: number;
  #lastOutcomes = 0;

  constructor(options: ConfidenceThresholdOptions) {
    this.#o = options;
    this.#value = options.minProbability;
  }

  /** The current bar. */
  get value(): number {
    return this.#value;
  }

  /** Moves the bar toward the target precision once enough new outcomes arrived. */
  adapt(): void {
    const { feedback, targetPrecision, minProbability, maxProbability } = this.#o;
    if (targetPrecision === 0) return;
    const outcomes = feedback.outcomes;
    if (outcomes - this.#lastOutcomes < adaptEvery) return;
    this.#lastOutcomes = outcomes;
    const next = feedback.recentPrecision < targetPrecision ? this.#value * raiseFactor + raiseStep : this.#value * lowerFactor;
    this.#value = Math.min(maxProbability, Math.max(minProbability, next));
  }
}
