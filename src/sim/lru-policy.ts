/**
 * The LRU baseline, run on the lru-cache package itself (get on every request, set on a miss), so the figure is
 * the one a Node service using lru-cache would see; it matches exact LRU hit for hit (ARC OLTP at 250 / 500 /
 * 1000 / 2000 entries: 16.47 / 23.45 / 32.83 / 42.47 %, Megiddo & Modha, FAST '03). Also the base the oracle and
 * readahead baselines build on: a bounded LRU that prefetched keys enter at the most-recent end.
 */
import { LRUCache } from 'lru-cache';
import { positiveInt } from '../options.ts';
import { noPrefetch, type CapacityOptions, type SimAccess, type SimPolicy, type SimRequest } from './policy.ts';

const hit: SimAccess = Object.freeze({ decision: 'hit', prefetch: noPrefetch });
const miss: SimAccess = Object.freeze({ decision: 'miss', prefetch: noPrefetch });

/** A bounded LRU set of keys on lru-cache that tracks its peak size. */
export class LruKeys {
  #cache: LRUCache<string, true>;
  #peak = 0;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) unless `capacity` is a positive integer */
  constructor(capacity: number) {
    this.#cache = new LRUCache<string, true>({ max: positiveInt('capacity', capacity) });
  }

  /** True (and the key becomes most recent) when held. */
  touch(key: string): boolean {
    return this.#cache.get(key) !== undefined;
  }

  /** True when held; does not change recency. */
  has(key: string): boolean {
    return this.#cache.has(key);
  }

  /** Inserts at the most-recent end, evicting the least recent when full. */
  insert(key: string): void {
    this.#cache.set(key, true);
    if (this.#cache.size > this.#peak) this.#peak = this.#cache.size;
  }

  /** Inserts `key` unless held; returns whether it was inserted. */
  admitPrefetched(key: string): boolean {
    if (this.#cache.has(key)) return false;
    this.insert(key);
    return true;
  }

  /** Most keys held at once so far. */
  get peak(): number {
    return this.#peak;
  }
}

/** Demand-only LRU with `capacity` entries. */
export function createLruPolicy(options: CapacityOptions): SimPolicy {
  const keys = new LruKeys(options?.capacity);
  return Object.freeze({
    name: 'lru',
    access(request: SimRequest): SimAccess {
      if (keys.touch(request.key)) return hit;
      keys.insert(request.key);
      return miss;
    },
    prefetched(key: string): boolean {
      return keys.admitPrefetched(key);
    },
    peakEntries(): number {
      return keys.peak;
    },
  });
}
