/**
 * OfferGenerations: which offer of each context is the current one, so the scheduler can tell the candidates of a
 * context's latest offer from those its newer offers superseded.
 *
 * Why its own module: staleness by context is one mechanism apart from sending and budgeting. Each offer takes the
 * next value of one scheduler-wide counter, never a per-context count: a context that falls out of the bounded map
 * and offers again must not restart at a generation its old, superseded candidates still carry (they would come
 * back to life). A candidate is current while its context's latest generation is its own; a context forgotten by
 * the map has no current generation, so its queued candidates are stale. Cost: O(1) per offer and per check;
 * memory bounded by `maxContexts` entries.
 */

/** Latest offer generation per context, the least recently offered forgotten past `maxContexts`. */
export class OfferGenerations {
  readonly #latest = new Map<string, number>();
  readonly #maxContexts: number;
  /** The last generation handed out, scheduler-wide; a double counts exactly past any realistic number of offers. */
  #counter = 0;
  /** The context of the last offer (the youngest in `#latest`). */
  #lastCtxKey: string | undefined;

  /** @param maxContexts most contexts remembered (a positive integer, checked by the owner). */
  constructor(maxContexts: number) {
    this.#maxContexts = maxContexts;
  }

  /** Starts a new offer for `ctxKey`: returns its generation, above every generation handed out before. */
  next(ctxKey: string): number {
    const generation = ++this.#counter;
    // Re-inserting moves a context to the young end of the map; the context offered last is there already, and
    // a delete then set of it would reallocate the map's table each time (one context offering in a row is the
    // common case of a block trace).
    if (ctxKey !== this.#lastCtxKey) {
      this.#latest.delete(ctxKey);
      this.#lastCtxKey = ctxKey;
    }
    this.#latest.set(ctxKey, generation);
    if (this.#latest.size > this.#maxContexts) {
      const oldest = this.#latest.keys().next().value;
      if (oldest !== undefined) this.#latest.delete(oldest);
    }
    return generation;
  }

  /** Whether `generation` is the latest offer of `ctxKey`. */
  isCurrent(ctxKey: string, generation: number): boolean {
    return this.#latest.get(ctxKey) === generation;
  }
}
