/**
 * cacheChangeTarget: a Cache seen as the target of a ChangeFeed (`sync/` knows nothing of `cache/`, so the
 * adapter lives here).
 */
import { isPrescientError } from '../errors.ts';
import { bool, optionsObject } from '../options.ts';
import type { ChangeTarget } from '../sync/change-target.ts';
import type { Cache } from './cache.ts';

/** Options of {@link cacheChangeTarget}. */
export type CacheChangeTargetOptions = {
  /** A WriteBack with a conflict resolver writes through the cache (see cacheChangeTarget). @default false */
  readonly mergedWrites?: boolean;
};

/**
 * Adapts `cache` for a ChangeFeed:
 * - `peekVersion(key)`: the version of the memory entry (`cache.peek`, which touches no recency, stats or
 *   models), undefined when none is held;
 * - `invalidate(keys, versions)`: `cache.delete(key, { below: version })` for each key, which removes from memory,
 *   the shadow catalogs and the shared tier only the copies below the change's version (every copy when its
 *   version is undefined: a hard DELETE), so a copy at it (the changed row itself: the write another node flushed,
 *   already in the shared tier) or newer (another node's later write) survives, and
 *   discards fetches of them in flight (so a read racing the change cannot store the old row); keys the cache
 *   refuses (longer than its `maxKeyLength`) cannot be held and are skipped; an invalidation the shared tier
 *   could not take is not lost: the cache distrusts the key and deletes the shared copy (up to that version)
 *   once the tier answers (SharedTierWriter);
 * - `refresh(keys, versions)`: invalidates them likewise, then `cache.prefetch(keys)` fetches them again in the
 *   background (the entries come back marked as prefetched, and count as 'manual' prefetches in the cache's
 *   feedback; a newer copy left in the shared tier is what they load). Resolves once the invalidation is done,
 *   not when the fresh copies arrive; a closed cache only invalidates;
 * - `invalidateAll()` (the table was truncated): `cache.invalidate({ prefix: '' })`, every entry of every tier
 *   (a cache is built over one origin, so everything it holds came from the truncated table).
 *
 * With `mergedWrites` (a WriteBack with a conflict resolver writes through this cache) a version does not identify a
 * value: a read merges pending deltas into the origin's record at the write's version, and the flush merges into
 * what the origin holds then, so the same version can carry two totals. There `peekVersion` answers -1 for a held
 * key (held, so a refreshing feed refreshes it, but no held copy makes a change old news) and every copy up to the
 * change's version goes (`maxVersion`), the one at it too.
 * @throws InvalidOptionError for options that are not an object, or a `mergedWrites` that is not a boolean
 */
export function cacheChangeTarget<V>(cache: Cache<V>, options: CacheChangeTargetOptions = {}): ChangeTarget {
  optionsObject(options);
  const merged = bool('mergedWrites', options.mergedWrites, false);
  return {
    // Merged: -1 for a held key says "held" (a refreshing feed refreshes it) while no change is old news to it.
    peekVersion: merged ? (key) => (cache.peek(key) === undefined ? undefined : -1) : (key) => cache.peek(key)?.version,
    invalidate: (keys, versions) => invalidate(cache, keys, versions, merged),
    invalidateAll: () => cache.invalidate({ prefix: '' }),
    async refresh(keys, versions) {
      await invalidate(cache, keys, versions, merged);
      try {
        cache.prefetch(keys);
      } catch {
        // Closed, or a key the cache refuses: the invalidation already made it safe.
      }
    },
  };
}

/** One `cache.delete(key, { maxVersion })` per key, in order, skipping refused keys; resolves with how many went. */
async function invalidate<V>(cache: Cache<V>, keys: readonly string[], versions: readonly (number | undefined)[] = [], merged: boolean): Promise<number> {
  let removed = 0;
  for (let i = 0; i < keys.length; i++) {
    try {
      // Not announced on the write bus: every node follows the feed itself.
      const version = versions[i];
      const bound = version === undefined ? {} : merged ? { maxVersion: version } : { below: version };
      if (await cache.delete(keys[i], { ...bound, announce: false })) removed++;
    } catch (error) {
      if (!isPrescientError(error, 'ERR_INVALID_KEY')) throw error;
    }
  }
  return removed;
}
