/**
 * PendingReferences: predictions for a user or segment whose item was not cached when they were made, waiting for
 * the item to be stored so the catalogs can reference it.
 *
 * Why: when several users are predicted the same item in one drain of the access buffer, the scheduler fetches it
 * once, for the first of them (the others find it in flight and skip it). Without this list the other users'
 * catalogs would name the item only after their next read re-predicted it. Bounded and lossy by design: at most
 * `maxPendingKeys` keys (the oldest dropped first) and `maxWaitersPerKey` waiters per key, and a wait older than
 * `maxWaitS` is dropped when met (by then the scheduler has dropped the prediction too). Cost: one Map lookup per
 * prediction of an uncached item and per stored entry.
 */
import type { ReadContext } from '../context.ts';

/**
 * Keys waited for at once. A drain predicts for at most a few hundred contexts × `predictLimit` keys; 4096 keys
 * hold several drains' worth, about 0.5 MB at worst.
 */
const maxPendingKeys = 4096;
/** Contexts waiting for one key: the default `shadow.perUserLimit`, plenty for one item in one drain. */
const maxWaitersPerKey = 64;
/** Seconds a wait lasts: the scheduler's default candidate lifetime (5 s), after which no prefetch will come. */
const maxWaitS = 5;

/** One catalog waiting for an item: who, with what probability and model, since when (seconds). */
export type PendingReference = {
  readonly ctx: ReadContext;
  readonly probability: number;
  readonly source: string;
  readonly atS: number;
};

/** The waits by key, in arrival order of their first waiter. */
export class PendingReferences {
  readonly #byKey = new Map<string, PendingReference[]>();

  /** Keys waited for. */
  get size(): number {
    return this.#byKey.size;
  }

  /** `ctx` waits for `key`; dropped when the key or the list is full. */
  add(key: string, waiter: PendingReference): void {
    let list = this.#byKey.get(key);
    if (list === undefined) {
      if (this.#byKey.size >= maxPendingKeys) {
        const oldest = this.#byKey.keys().next().value;
        if (oldest !== undefined) this.#byKey.delete(oldest);
      }
      list = [];
      this.#byKey.set(key, list);
    }
    if (list.length < maxWaitersPerKey) list.push(waiter);
  }

  /** Removes and returns the waits for `key` not older than `maxWaitS` at `nowS`. */
  take(key: string, nowS: number): PendingReference[] {
    const list = this.#byKey.get(key);
    if (list === undefined) return [];
    this.#byKey.delete(key);
    return list.filter((w) => nowS - w.atS <= maxWaitS);
  }

  /** Forgets the waits for `key` (it was deleted). */
  forget(key: string): void {
    this.#byKey.delete(key);
  }
}
