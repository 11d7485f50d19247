/**
 * OfferLimit: how many of one offer's candidates the prefetch scheduler queues, paced to the load budget.
 *
 * Why: when the token budget binds, tokens should go to each offer's best few guesses rather than to whole offers in
 * turn. Unpaced, an offer's 4th-8th guesses spent the tokens the next request's 1st guess needed (scarab-500k at 5%:
 * 8,133 misses on keys offered in the last 10 requests and still waiting for a token). The limit paces itself as
 * TCP's congestion window paces a sender (Jacobson, "Congestion Avoidance and Control", SIGCOMM 1988, with a
 * multiplicative increase in place of the additive one): it shrinks by 5% after a pump that left candidates waiting
 * for tokens, and grows by 5% at an offer that finds the bucket at least three-quarters full (tokens saved up, so
 * budget going unspent). It caps a rank, not a probability: the probabilities of an ensemble are not comparable
 * across contexts and sources, and a probability bar adapted the same way lost 1.6-4.6 points on cache2k web07 while
 * this limit gained there. Cost: O(1) per offer and per pump.
 */

/** Options of an {@link OfferLimit}. */
export type OfferLimitOptions = {
  /** Highest (and starting) limit, in candidates. */
  readonly maxCandidates: number;
  /** Size of the token bucket the scheduler spends (its `maxBurst`). */
  readonly maxTokens: number;
};

/** Factor applied after a starved pump. 5% steps: 10% steps measured within 0.2 points on six traces. */
const DECREASE = 0.95;
/** Factor applied at an offer with tokens to spare, plus a constant so a limit of 1 grows past its floor. */
const INCREASE = 1.05;
const INCREASE_STEP = 0.01;
/**
 * Share of the bucket that must be full at an offer for the limit to grow. Three-quarters measured a little above
 * one-half and above "any token" on scarab, cache2k web07 and LIRS multi2 (bench/tune-prescient.ts).
 */
const SPARE_SHARE = 0.75;

/** A self-pacing cap on the candidates queued per offer, between 1 and `maxCandidates`. */
export class OfferLimit {
  readonly #max: number;
  readonly #spareTokens: number;
  /** Real-valued; its floor applies. */
  #limit: number;
  #isStarved = false;

  constructor(options: OfferLimitOptions) {
    this.#max = options.maxCandidates;
    this.#limit = options.maxCandidates;
    this.#spareTokens = SPARE_SHARE * options.maxTokens;
  }

  /** Most candidates the next offer may queue. */
  get value(): number {
    return Math.floor(this.#limit);
  }

  /** A pump ended with candidates queued and no token left. */
  starved(): void {
    this.#isStarved = true;
  }

  /** An offer arrives with `tokens` in the bucket: moves the limit (down if starved since the last offer). */
  offered(tokens: number): void {
    if (this.#isStarved) {
      this.#limit = Math.max(1, this.#limit * DECREASE);
      this.#isStarved = false;
    } else if (tokens >= this.#spareTokens) {
      this.#limit = Math.min(this.#max, this.#limit * INCREASE + INCREASE_STEP);
    }
  }
}
