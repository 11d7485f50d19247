/**
 * ChangeTarget: what the change feed acts on, and the records it reads. A structural interface so that `sync/`
 * needs nothing from `cache/`; `cacheChangeTarget(cache)` in `src/cache/cache-change-target.ts` adapts a `Cache`.
 */

/**
 * The side of a cache the change feed touches. Every method may be called with keys the cache does not hold
 * (a shared tier may still hold them).
 */
export interface ChangeTarget {
  /**
   * Version of the entry held in memory for `key`, or undefined when none is held. A change whose version is not
   * newer than this is ignored, so the service's own writes (already held) survive their NOTIFY coming back.
   */
  peekVersion(key: string): number | undefined;
  /**
   * Removes `keys` from every tier (memory and shared). `versions`, aligned with `keys`, bounds what goes:
   * `versions[i]` is the version of the change to `keys[i]`, and only copies below it are removed: a copy at it is
   * the changed row itself (as one held in memory is, see peekVersion), such as the shared tier's copy of the write
   * another node flushed, and a newer copy another node wrote (acknowledged by its write-back, not flushed yet)
   * survives the NOTIFY of an older flush. An undefined version, or no `versions`, removes every version (the feed sends none
   * for a hard DELETE). Rejects when the target fails; the feed retries. (A Cache does not reject when only its
   * shared tier is unreachable: it distrusts the key and repairs the shared copy itself once the tier answers;
   * see SharedTierWriter.)
   */
  invalidate(keys: readonly string[], versions?: readonly (number | undefined)[]): Promise<unknown>;
  /**
   * Replaces the held entries for `keys` with fresh copies from the origin (mode 'refresh'); `versions` bounds
   * what the replaced copies may be, as for `invalidate`. Optional: without it, a refreshing feed invalidates instead.
   */
  refresh?(keys: readonly string[], versions?: readonly (number | undefined)[]): Promise<unknown>;
  /**
   * Removes every key the target holds that came from the table: the feed calls it when the table was truncated
   * (a TRUNCATE names no keys). `cacheChangeTarget` invalidates the whole cache (`cache.invalidate({ prefix: '' })`,
   * every tier): a cache is built over one origin, so everything it holds came from that origin. Optional (looked up once, when
   * the feed is built): a feed whose target lacks it reports each TRUNCATE as 'feed:failed' (ERR_CHANGE_FEED_FAILED)
   * and goes on.
   */
  invalidateAll?(): Promise<unknown>;
}

/**
 * `target` with an `invalidateAll`: its own, or one that reports (through `report`) that a TRUNCATE could not be
 * applied and resolves, so one TRUNCATE never stalls the feed.
 */
export function withInvalidateAll(target: ChangeTarget, report: () => void): ChangeTarget {
  if (target.invalidateAll !== undefined) return target;
  const refresh = target.refresh;
  const completed: ChangeTarget = {
    peekVersion: (key) => target.peekVersion(key),
    invalidate: (keys, versions) => target.invalidate(keys, versions),
    invalidateAll: async () => report(),
  };
  if (refresh !== undefined) completed.refresh = (keys, versions) => refresh.call(target, keys, versions);
  return completed;
}

/** One changed row as the change feed sees it. `OriginRecord` (which also carries the value) fits. */
export type ChangeRecord = {
  readonly key: string;
  /** Version of the row after the change; JS-safe integer, growing table-wide (see ChangeFeed). */
  readonly version: number;
  /** A tombstone: the key was deleted at `version`. */
  readonly deleted?: boolean;
  /**
   * A hard DELETE found by the catch-up (see hard-deletes.ts): the row's last version. `version` is then the
   * record's place in the catch-up order, not a version of the row.
   */
  readonly removedVersion?: number;
  /**
   * The table was truncated (found by the catch-up in the side table; `key` is ''): every key goes. `version` is
   * the record's place in the catch-up order.
   */
  readonly isTruncate?: boolean;
};

/**
 * The catch-up query: rows with `version > sinceVersion`, ascending by version, at most `limit` of them.
 * `PostgresOrigin.prototype.changes` fits.
 */
export type ChangesFunction = (sinceVersion: number, limit: number) => Promise<readonly ChangeRecord[]>;

/** The listening seam: postgres.js `sql.listen` fits. `onListen` runs after the first LISTEN and every re-LISTEN. */
export type ListenFunction = (
  channel: string,
  onNotify: (payload: string) => void,
  onListen: () => void,
) => Promise<{ unlisten(): Promise<unknown> }>;

/** 'invalidate' drops changed keys from every tier; 'refresh' re-fetches the changed keys the cache holds. */
export type ChangeFeedMode = 'invalidate' | 'refresh';

/** One change as reported by the 'changes:applied' event. */
export type AppliedChange = {
  /** The changed key; '' for a TRUNCATE (action 'invalidated-all'). */
  readonly key: string;
  readonly version: number;
  readonly action: 'invalidated' | 'refreshed' | 'ignored' | 'invalidated-all';
  /** Commit-to-apply lag in ms, when the notification carried its trigger time. */
  readonly lagMs: number | undefined;
};
