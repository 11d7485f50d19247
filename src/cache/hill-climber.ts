/**
 * HillClimber: decides, once per sample period, how far to move the boundary between the admission window and
 * the main region of a W-TinyLFU cache.
 *
 * Why: a fixed 1% window is right for frequency-heavy workloads and badly wrong for recency-heavy ones (it loses
 * to plain LRU by 15+ points on some traces). Caffeine tunes the window online by simple hill climbing (Einziger,
 * Eytan, Friedman, Manes, "Adaptive Software Cache Management", Middleware 2018): compare the hit rate of this
 * sample with the previous one; if it did not get worse keep stepping the same way, otherwise turn back. Steps
 * start at 6.25% of the capacity and decay by 2% per sample so the window settles; a jump of the hit rate by 5
 * points or more (a phase change) restarts the step at full size. This class holds only that decision; the tier
 * moves the entries. Cost: O(1) per sample.
 */

/** Options of a {@link HillClimber}. */
export type HillClimberOptions = {
  /** Capacity being split between window and main, in bytes (entries when sizes are 1). */
  readonly maxBytes: number;
};

/** First step, and the step after a restart, as a share of the capacity (Caffeine: 0.0625). */
const STEP_FRACTION = 0.0625;
/** Each sample's step is the previous one times this (Caffeine: 0.98). */
const STEP_DECAY = 0.98;
/** A hit-rate change at least this large (absolute) restarts the step at full size (Caffeine: 0.05). */
const RESTART_THRESHOLD = 0.05;

/** Hill climbing over the window size. Positive adjustments grow the window, negative ones shrink it. */
export class HillClimber {
  readonly #maxBytes: number;
  #previousHitRate = 0;
  /** Signed: the sign is the direction of the next step. Caffeine starts by shrinking. */
  #stepSize: number;

  constructor(options: HillClimberOptions) {
    this.#maxBytes = options.maxBytes;
    this.#stepSize = -STEP_FRACTION * options.maxBytes;
  }

  /** Current signed step, in bytes. */
  get stepSize(): number {
    return this.#stepSize;
  }

  /**
   * Takes the hit rate (0..1) of the sample that just ended and returns the window adjustment to apply, in whole
   * bytes (positive: grow the window; negative: shrink it; 0: stay).
   */
  adjust(hitRate: number): number {
    const change = hitRate - this.#previousHitRate;
    const amount = change >= 0 ? this.#stepSize : -this.#stepSize;
    this.#stepSize =
      Math.abs(change) >= RESTART_THRESHOLD ? STEP_FRACTION * this.#maxBytes * (amount >= 0 ? 1 : -1) : STEP_DECAY * amount;
    this.#previousHitRate = hitRate;
    return Math.trunc(amount);
  }

  /**
   * Forgets the previous sample (after the sketch was resized, which restarts the sample). Clearing the tier does
   * not reset the climber, as it keeps the sketch's counts.
   */
  reset(): void {
    this.#previousHitRate = 0;
  }
}
