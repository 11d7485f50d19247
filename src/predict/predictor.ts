/**
 * Predictor: learns online from the stream of accesses and says what will be asked for next.
 */
import type { ReadContext } from '../context.ts';

/** One observed read. `at` is milliseconds on the cache's clock. */
export type Access = {
  readonly key: string;
  readonly at: number;
  readonly ctx: ReadContext;
};

/** One predicted next access. */
export type Prediction = {
  readonly key: string;
  /** Estimated probability that `key` is among the context's next accesses, in [0, 1]. */
  readonly probability: number;
  /** Estimated milliseconds until the access, when the model knows. */
  readonly etaMs?: number;
  /** Name of the model that produced it (for per-predictor feedback). */
  readonly source?: string;
};

export interface Predictor {
  readonly name: string;
  /** Learns from one access. Must be cheap: it runs for every read, off the read path, in batches. */
  observe(access: Access): void;
  /**
   * Up to `limit` predictions for the context's next access, highest probability first. An unknown session or
   * user is not an error: the answer falls back to wider models or is empty.
   */
  predict(ctx: ReadContext, limit: number): Prediction[];
  /** Called by the feedback loop when a prediction from this predictor was used (true) or wasted (false). */
  feedback?(key: string, ctx: ReadContext, wasUsed: boolean): void;
  /** Approximate count of model states held (for memory reporting). */
  readonly stateCount?: number;
  /**
   * For a predictor whose models work elsewhere (another thread): registers the one listener it calls when it has
   * fresh predictions for a context. A cache whose predictor has this asks `predict` for the contexts it is told
   * about, rather than right after observing each access (the answer would still be the one from before it).
   */
  onFresh?(listener: (ctx: ReadContext) => void): void;
  /**
   * For a predictor that queues accesses for models working elsewhere: true while an access observed now would be
   * dropped (its queue is full). The cache asks on the read path and then records nothing, so an access the models
   * have no time for costs one call, not a clock read, a buffer slot and a drain.
   */
  isBehind?(): boolean;
}
