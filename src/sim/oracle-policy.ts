/**
 * The next-request oracle (oracle-1): an LRU that, after each request, prefetches the true next request of the
 * same session (of the whole stream for requests without a session).
 *
 * Why: it bounds what a perfect one-step predictor could add on top of LRU with the same capacity and the same
 * one-fetch-per-request budget, so a real predictor's hit ratio and origin load can be read as a fraction of the
 * room there is (REFERENCE.md "oracle-1"; the next-item setting of session-based recommendation, e.g. Ludewig &
 * Jannach, "Evaluation of session-based recommendation algorithms", UMUAI 2018). A next key already held is
 * promoted instead of fetched. It needs a Future built from a first pass over the same trace.
 */
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { noNext, type Future } from './future.ts';
import { LruKeys } from './lru-policy.ts';
import { noPrefetch, type CapacityOptions, type SimAccess, type SimPolicy, type SimRequest } from './policy.ts';

/** Options of the oracle baseline. */
export type OracleOptions = CapacityOptions & {
  /** The trace's future, built from the same requests in the same order. */
  readonly future: Future;
};

/**
 * LRU plus a perfect one-step prefetch. `access` must receive the requests the future was built from, in order.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad capacity or a missing future
 */
export function createOraclePolicy(options: OracleOptions): SimPolicy {
  const cache = new LruKeys(options?.capacity);
  const future = options.future;
  if (future === undefined || !(future.nextInSession instanceof Int32Array)) {
    throw new InvalidOptionError('future', 'a Future from buildFuture, futureFromIds or FutureBuilder', future);
  }
  const { keyIds, keys, nextInSession } = future;
  return Object.freeze({
    name: 'oracle',
    access(request: SimRequest): SimAccess {
      const index = request.index;
      if (!(index >= 0 && index < future.length) || keys[keyIds[index]] !== request.key) {
        throw new PrescientError(
          'ERR_INVALID_OPTION',
          `oracle: request ${index} is ${JSON.stringify(request.key)}, not what the future holds; requests must come in the order the future was built`,
        );
      }
      const wasHeld = cache.touch(request.key);
      if (!wasHeld) cache.insert(request.key);
      const decision = wasHeld ? 'hit' : 'miss';
      const nextId = nextInSession[index];
      if (nextId === noNext) return { decision, prefetch: noPrefetch };
      const nextKey = keys[nextId];
      if (cache.touch(nextKey)) return { decision, prefetch: noPrefetch };
      return { decision, prefetch: [nextKey] };
    },
    prefetched(key: string): boolean {
      return cache.admitPrefetched(key);
    },
    peakEntries(): number {
      return cache.peak;
    },
  });
}
