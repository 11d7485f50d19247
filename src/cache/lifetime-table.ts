/**
 * LifetimeTable: the distinct (stale offset, expiry offset) pairs of the entries a memory tier holds, numbered, so a
 * slot keeps a 16-bit number where an entry kept two times (node-table.ts). Applications use a handful of TTL
 * settings, so the table stays small; it never forgets a pair, and once full (65,535 pairs) `indexOf` answers
 * {@link NO_LIFETIME} and the tier keeps such entries whole.
 */
import type { Lifetime } from './entry.ts';

/** Not in the table: the slot's entry keeps its own times. */
export const NO_LIFETIME = 0xffff;

export class LifetimeTable {
  readonly #lifetimes: Lifetime[] = [];
  /** min(staleMs, ttlMs) of each pair: an entry is fresh until `createdAt` plus this. */
  readonly #freshMs: number[] = [];
  readonly #byStale = new Map<number, Map<number, number>>();
  #last: Lifetime | undefined;
  #lastIndex = NO_LIFETIME;

  /** The number of the pair (registered on first sight), or NO_LIFETIME when the table is full. */
  indexOf(staleMs: number, ttlMs: number): number {
    const last = this.#last;
    if (last !== undefined && Object.is(last.staleMs, staleMs) && Object.is(last.ttlMs, ttlMs)) return this.#lastIndex;
    let byTtl = this.#byStale.get(staleMs);
    let index = byTtl?.get(ttlMs);
    if (index === undefined) {
      if (this.#lifetimes.length === NO_LIFETIME) return NO_LIFETIME;
      index = this.#lifetimes.length;
      this.#lifetimes.push({ staleMs, ttlMs });
      this.#freshMs.push(Math.min(staleMs, ttlMs));
      if (byTtl === undefined) this.#byStale.set(staleMs, (byTtl = new Map()));
      byTtl.set(ttlMs, index);
    }
    this.#last = this.#lifetimes[index];
    this.#lastIndex = index;
    return index;
  }

  lifetime(index: number): Lifetime {
    return this.#lifetimes[index];
  }

  freshMs(index: number): number {
    return this.#freshMs[index];
  }

  ttlMs(index: number): number {
    return this.#lifetimes[index].ttlMs;
  }
}
