/**
 * ConfidenceThreshold: the least probability at which the prefetch scheduler fetches a prediction, steered by the
 * precision prefetches are measured to have.
 *
 * Why: a fixed bar is wrong for most workloads — too low where predictions are vague (waste), too high where they
 * are sharp (missed hits). Every `adaptEvery` resolved outcomes (a prefetch used, or evicted unused) the bar rises by
 * 10% (plus a small step, so it leaves 0) while recent precision is under `targetPrecision`, and falls by 5% while it
 * is above, within [`minProbability`, `maxProbability`]: a slow multiplicative controller, quick to back off from
 * waste and slow to trust again. With `targetPrecision` 0 it stays at `minProbability`. Cost: O(1) per offer.
 * `valueFor(source)` keeps one such bar per source, steered by that source's own recent precision: with one bar for
 * all, a precise source kept it low for a wasteful one, whose fetches then spent the budget's tokens and the prefetch
 * region's room (cache2k web07 at 1%: the global Markov scope issued 9,292 prefetches and 84 were used; with its own
 * bar at ~0.09 it issued 905, delta's stayed at the floor, and the hit ratio went from 62.3% to 64.5% at 1.04× LRU's
 * fetches instead of 1.23×). `value` is the bar over all sources, for stats.
 */
import type { Feedback, SourceOutcomes } from './feedback.ts';

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

/** A bar and the outcomes it follows (the Feedback itself for the bar over all sources). */
type Bar = { value: number; lastOutcomes: number; readonly outcomes: Pick<SourceOutcomes, 'outcomes' | 'recentPrecision'> };

export class ConfidenceThreshold {
  readonly #o: ConfidenceThresholdOptions;
  readonly #all: Bar;
  readonly #bySource = new Map<string, Bar>();

  constructor(options: ConfidenceThresholdOptions) {
    this.#o = options;
    this.#all = { value: options.minProbability, lastOutcomes: 0, outcomes: options.feedback };
  }

  /** The current bar. */
  get value(): number {
    return this.#all.value;
  }

  /** The bar of each source asked about so far. */
  bySource(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, bar] of this.#bySource) out[name] = bar.value;
    return out;
  }

  /** Moves the bar over all sources toward the target precision once enough new outcomes arrived. */
  adapt(): void {
    this.#advance(this.#all);
  }

  /** The bar for predictions of `source`, first moved toward the target once the source has enough new outcomes. */
  valueFor(source: string): number {
    let bar = this.#bySource.get(source);
    if (bar === undefined) {
      bar = { value: this.#o.minProbability, lastOutcomes: 0, outcomes: this.#o.feedback.sourceOutcomes(source) };
      this.#bySource.set(source, bar);
    }
    this.#advance(bar);
    return bar.value;
  }

  /** One step of `bar` toward the target precision, when its outcomes grew by `adaptEvery` since the last. */
  #advance(bar: Bar): void {
    const { targetPrecision, minProbability, maxProbability } = this.#o;
    const outcomes = bar.outcomes.outcomes;
    if (outcomes - bar.lastOutcomes < adaptEvery || targetPrecision === 0) return;
    bar.lastOutcomes = outcomes;
    const next = bar.outcomes.recentPrecision < targetPrecision ? bar.value * raiseFactor + raiseStep : bar.value * lowerFactor;
    bar.value = Math.min(maxProbability, Math.max(minProbability, next));
  }
}
