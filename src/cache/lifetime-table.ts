/**
 * LifetimeTable: the distinct (stale offset, expiry offset) pairs of the entries a memory tier holds, numbered, so a
 * slot keeps a 16-bit number where an entry kept two times (node-table.ts). Applications use a handful of TTL
 * settings, so the table stays small. Each number counts the slots holding it and is freed when the last one goes, so
 * pairs that come and go (jittered TTLs, the per-entry offsets of a renewed entry) do not fill the table for good; past
 * {@link MAX_LIFETIMES} pairs alive at once, `acquire` answers -1 and the slot keeps its offsets itself.
 */
import type { Lifetime } from './entry.ts';

/** Lifetime numbers alive at once, at most. */
export const MAX_LIFETIMES = 4096;

export class LifetimeTable {
  readonly #lifetimes: Array<Lifetime | undefined> = [];
  /** min(staleMs, ttlMs) of each pair: an entry is fresh until `createdAt` plus this. */
  readonly #freshMs: number[] = [];
  readonly #refs: number[] = [];
  readonly #free: number[] = [];
  readonly #byStale = new Map<number, Map<number, number>>();
  #last = -1;

  /**
   * The number of the pair, counted once more (registered on first sight); -1 when MAX_LIFETIMES pairs are alive. -0
   * counts as 0 (the two give the same times).
   */
  acquire(staleMs: number, ttlMs: number): number {
    staleMs += 0;
    ttlMs += 0;
    let index = this.#last;
    const last = index < 0 ? undefined : this.#lifetimes[index];
    if (last === undefined || !Object.is(last.staleMs, staleMs) || !Object.is(last.ttlMs, ttlMs)) {
      let byTtl = this.#byStale.get(staleMs);
      const found = byTtl?.get(ttlMs);
      if (found !== undefined) index = found;
      else {
        if (this.#free.length === 0 && this.#lifetimes.length === MAX_LIFETIMES) return -1;
        index = this.#free.pop() ?? this.#lifetimes.length;
        this.#lifetimes[index] = { staleMs, ttlMs };
        this.#freshMs[index] = Math.min(staleMs, ttlMs);
        this.#refs[index] = 0;
        if (byTtl === undefined) this.#byStale.set(staleMs, (byTtl = new Map()));
        byTtl.set(ttlMs, index);
      }
      this.#last = index;
    }
    this.#refs[index]++;
    return index;
  }

  /** One slot less holds the number; the last one frees it. */
  release(index: number): void {
    if (--this.#refs[index] > 0) return;
    const { staleMs, ttlMs } = this.#lifetimes[index] as Lifetime;
    const byTtl = this.#byStale.get(staleMs) as Map<number, number>;
    byTtl.delete(ttlMs);
    if (byTtl.size === 0) this.#byStale.delete(staleMs);
    this.#lifetimes[index] = undefined;
    this.#free.push(index);
    if (this.#last === index) this.#last = -1;
  }

  /** Forgets every pair (the tier let every slot go). */
  clear(): void {
    this.#lifetimes.length = 0;
    this.#freshMs.length = 0;
    this.#refs.length = 0;
    this.#free.length = 0;
    this.#byStale.clear();
    this.#last = -1;
  }

  /** Pairs alive. */
  get size(): number {
    return this.#lifetimes.length - this.#free.length;
  }

  lifetime(index: number): Lifetime {
    return this.#lifetimes[index] as Lifetime;
  }

  freshMs(index: number): number {
    return this.#freshMs[index];
  }
}
