/**
 * cacheChangeTarget: a Cache seen as the target of a ChangeFeed (`sync/` knows nothing of `cache/`, so the
 * adapter lives here).
 */
import { isPrescientError } from '../errors.ts';
import type { ChangeTarget } from '../sync/change-target.ts';
import type { Cache } from './cache.ts';

/**
 * Adapts `cache` for a ChangeFeed:
 * - `peekVersion(key)`: the version of the memory entry (`cache.peek`, which touches no recency, stats or
 *   models), undefined when none is held;
 * - `invalidate(keys)`: `cache.invalidate({ keys })`, which removes them from memory and the shared tier and
 *   discards fetches of them in flight (so a read racing the change cannot store the old row); keys the cache
 *   refuses (longer than its `maxKeyLength`) cannot be held and are skipped; an invalidation the shared tier
 *   could not take is not lost: the cache distrusts the key and deletes the shared copy once the tier answers
 *   (SharedTierWriter);
 * - `refresh(keys)`: invalidates them, then `cache.prefetch(keys)` fetches them again in the background (the
 *   entries come back marked as prefetched, and count as 'manual' prefetches in the cache's feedback). Resolves
 *   once the invalidation is done, not when the fresh copies arrive; a closed cache only invalidates.
 */
export function cacheChangeTarget<V>(cache: Cache<V>): ChangeTarget {
  return {
    peekVersion: (key) => cache.peek(key)?.version,
    invalidate: (keys) => invalidate(cache, keys),
    async refresh(keys) {
      await invalidate(cache, keys);
      try {
        cache.prefetch(keys);
      } catch {
        // Closed, or a key the cache refuses: the invalidation already made it safe.
      }
    },
  };
}

/** `cache.invalidate({ keys })`, falling back to one delete per key, skipping refused keys, when one is refused. */
async function invalidate<V>(cache: Cache<V>, keys: readonly string[]): Promise<number> {
  try {
    return await cache.invalidate({ keys });
  } catch (error) {
    if (!isPrescientError(error, 'ERR_INVALID_KEY')) throw error;
  }
  let removed = 0;
  for (const key of keys) {
    try {
      if (await cache.delete(key)) removed++;
    } catch (error) {
      if (!isPrescientError(error, 'ERR_INVALID_KEY')) throw error;
    }
  }
  return removed;
}
