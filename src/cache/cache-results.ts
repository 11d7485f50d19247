/**
 * What a Cache answers and reports: the result of a read, its counters (`stats()`) and its events (`on`).
 */
import type { FetchPurpose } from '../origin/origin.ts';
import type { FeedbackEvent } from '../prefetch/feedback.ts';
import type { ReadStatus } from './access-buffer.ts';
import type { PredictionLoopStats } from './prediction-loop.ts';
import type { ShadowStats } from './shadow-catalog.ts';
import type { SharedTierWriterStats } from './shared-tier-writer.ts';
import type { Entry } from './entry.ts';
import type { LoadOutcome } from './flight.ts';
import type { TierStats } from './tier.ts';
import type { WriteBusStats } from './write-bus-link.ts';
import type { PrescientError } from '../errors.ts';

/** The answer to one read. */
export type ReadResult<V> = {
  readonly key: string;
  /** The value, or undefined when the origin has no such key. */
  readonly value: V | undefined;
  readonly isFound: boolean;
  /** Version of the value served (0 when not found). */
  readonly version: number;
  /** hit: fresh from cache; prefetched: first read of an entry a prediction brought in (from a shadow catalog: the
   * first read of an item predicted for this user or segment); stale: served past its stale time (refreshing) or,
   * with `error` set, past expiry because the origin failed; miss: loaded on demand. */
  readonly status: ReadStatus;
  /** shadow: from the catalog of the read's `ctx.user` (or `ctx.segment`), see ShadowCatalogs. */
  readonly servedFrom: 'shadow' | 'memory' | 'l2' | 'origin';
  /** True when the read found its key already being fetched (by a prefetch or another read) and joined it. */
  readonly wasInflight: boolean;
  /** The origin failure a stale entry stood in for (grace period). */
  readonly error?: PrescientError;
};

export type CacheStats = PredictionLoopStats & {
  readonly reads: Readonly<Record<ReadStatus, number>>;
  readonly readErrors: number;
  /** Event listener calls that threw (counted and dropped: a listener cannot fail the cache's work). */
  readonly listenerErrors: number;
  /** Loaded values that could not be stored (a `sizeOf` that throws, say): served all the same, not cached. */
  readonly storeFailures: number;
  readonly graceServed: number;
  readonly refreshes: number;
  readonly oversize: number;
  /** Loads served but not cached because they were older than a change notice applied here (version-floors.ts). */
  readonly belowFloor: number;
  readonly origin: {
    readonly demandBatches: number;
    readonly prefetchBatches: number;
    readonly demandKeys: number;
    readonly prefetchKeys: number;
    readonly failedBatches: number;
    readonly inflight: number;
  };
  readonly memory: TierStats;
  /** The write bus (notices sent and heard); undefined without one. */
  readonly writeBus: WriteBusStats | undefined;
  /** The shared tier's write repair (keys distrusted after a lost write); undefined without a shared tier. */
  readonly sharedTier: SharedTierWriterStats | undefined;
  /** Shadow catalogs; undefined when `shadow: false`. */
  readonly shadow: ShadowStats | undefined;
  /** Negative caching (`absentTtlMs`): absent keys remembered and reads they answered; undefined when off. */
  readonly absent: { readonly keys: number; readonly hits: number } | undefined;
};

/** Options of a local write. */
export type SetOptions = {
  /**
   * Version to store, a non-negative safe integer; defaults to one above the highest version held here (memory tier
   * or a shadow catalog), and at least a delete's floor (1 for a key held nowhere).
   */
  readonly version?: number;
  /** Overrides the cache's `ttlMs` for this entry. */
  readonly ttlMs?: number;
  readonly tags?: readonly string[];
};

/** Options of `Cache.delete`. */
export type DeleteOptions = {
  /**
   * Remove only copies at or below this version, in every tier and shadow catalog; a newer one (another node's
   * write in the shared tier) stays. Anything but a non-negative safe integer or Infinity throws InvalidOptionError
   * (ERR_INVALID_OPTION).
   * @default Infinity (every version)
   */
  readonly maxVersion?: number;
  /**
   * Instead of `maxVersion`: remove only copies below this version (a non-negative safe integer); one at it stays.
   * The change feed's deletes (cacheChangeTarget): a copy at a change's version is the changed row itself, such as
   * the shared tier's copy of the write another node just flushed, which the NOTIFY of that flush must not delete.
   * Copies below it are not read from the shared tier or cached for 30 s, as with `maxVersion`: on this node and,
   * when announced, on the nodes that hear it (the same floor).
   */
  readonly below?: number;
  /**
   * Tell the other nodes (the cache's write bus). `false` when every node learns of the change itself: the change
   * feed's deletes (cacheChangeTarget).
   * @default true
   */
  readonly announce?: boolean;
};

/** What `invalidate` removes: any combination; an entry matching any part goes. */
export type InvalidateSelector = {
  readonly keys?: readonly string[];
  readonly prefix?: string;
  readonly tag?: string;
};

/** Events a cache emits; listeners cost nothing when absent. */
export type CacheEvents = {
  'prefetch:issued': [FeedbackEvent];
  'prefetch:used': [FeedbackEvent];
  'prefetch:wasted': [FeedbackEvent];
  /** A batch of origin fetches failed: the keys that failed (every key of a rejected call). */
  'origin:failed': [{ readonly keys: readonly string[]; readonly purpose: FetchPurpose }];
};

/**
 * The answer of a read that loaded `outcome`, where the memory tier holds `kept` for the key now (undefined when the
 * load was discarded): a newer version kept there (a local write the origin has not seen) is what the read serves.
 */
export function loadedResult<V>(key: string, outcome: LoadOutcome<V>, kept: Entry<V> | undefined, wasInflight: boolean): ReadResult<V> {
  if (outcome.from === 'none') return { key, value: undefined, isFound: false, version: 0, status: 'miss', servedFrom: 'origin', wasInflight };
  const { value, version } = outcome.from === 'l2' ? outcome.entry : outcome.record;
  if (kept !== undefined && kept.version > version) {
    return { key, value: kept.value, isFound: true, version: kept.version, status: 'miss', servedFrom: 'memory', wasInflight };
  }
  return { key, value, isFound: true, version, status: 'miss', servedFrom: outcome.from, wasInflight };
}

/** The answer to a plain memory hit on the entry with this key string, value and version. */
export function hitResult<V>(key: string, value: V, version: number): ReadResult<V> {
  return { key, value, isFound: true, version, status: 'hit', servedFrom: 'memory', wasInflight: false };
}
