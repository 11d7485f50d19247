/**
 * The readahead baseline: an LRU that, after a miss on a numeric key k, prefetches k+1 ... k+n (those not held).
 *
 * Why: sequential readahead is what block caches and file systems already do (Linux's on-demand readahead; the
 * ARC traces are block traces), so a learned predictor on numeric keys must beat it, not just LRU. Prefetching
 * only on a miss keeps a sequential scan from refetching what it has already pulled in. Non-numeric keys never
 * prefetch. Keys are compared as decimal integers (`'007'` is 7, and prefetches `'8'`).
 */
import { InvalidOptionError } from '../errors.ts';
import { positiveInt } from '../options.ts';
import { LruKeys } from './lru-policy.ts';
import { noPrefetch, type CapacityOptions, type SimAccess, type SimPolicy, type SimRequest } from './policy.ts';

/** Options of the readahead baseline. */
export type ReadaheadOptions = CapacityOptions & {
  /** Keys after a missed numeric key to prefetch. @default 4 */
  readonly readaheadCount?: number;
};

/** Default readahead window: 4 blocks, a small fraction of typical 128 KiB readahead, so it stays conservative. */
const defaultReadaheadCount = 4;

const integerKey = /^-?\d{1,15}$/;
const hit: SimAccess = Object.freeze({ decision: 'hit', prefetch: noPrefetch });
const miss: SimAccess = Object.freeze({ decision: 'miss', prefetch: noPrefetch });

/** Most keys fetched after one miss: block devices read ahead tens to hundreds of blocks, never millions. */
export const maxReadaheadCount = 1024;

/**
 * LRU with sequential readahead on misses.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad capacity or readaheadCount
 */
export function createReadaheadPolicy(options: ReadaheadOptions): SimPolicy {
  const cache = new LruKeys(options?.capacity);
  const count = positiveInt('readaheadCount', options.readaheadCount, defaultReadaheadCount);
  if (count > maxReadaheadCount) throw new InvalidOptionError('readaheadCount', `at most ${maxReadaheadCount}`, count);
  return Object.freeze({
    name: `readahead-${count}`,
    access(request: SimRequest): SimAccess {
      const key = request.key;
      if (cache.touch(key)) return hit;
      cache.insert(key);
      if (!integerKey.test(key)) return miss;
      const k = Number(key);
      const prefetch: string[] = [];
      for (let i = 1; i <= count; i++) {
        const next = String(k + i);
        if (!cache.has(next)) prefetch.push(next);
      }
      return prefetch.length === 0 ? miss : { decision: 'miss', prefetch };
    },
    prefetched(key: string): boolean {
      return cache.admitPrefetched(key);
    },
    peakEntries(): number {
      return cache.peak;
    },
  });
}
