/**
 * Entry: one cached value with everything the tiers, the scheduler and the feedback loop need to know about it.
 */

/** Where an entry came from: a read that missed, or a prefetch made on a prediction. */
export type EntrySource = 'demand' | 'prefetch';

/** A cached value. Times are milliseconds on the cache's clock. */
export type Entry<V = unknown> = {
  readonly key: string;
  readonly value: V;
  /** Version from the origin (or the hybrid logical clock of a local write); higher wins. */
  readonly version: number;
  /** Size charged against the tier's `maxBytes`. */
  readonly sizeBytes: number;
  readonly createdAt: number;
  /** After this time the entry is stale: served while it is refreshed in the background. */
  readonly staleAt: number;
  /** After this time the entry is expired: never served, except within the origin-failure grace period. */
  readonly expiresAt: number;
  readonly source: EntrySource;
  /** Probability the entry was predicted with (1 for demand entries). */
  readonly probability: number;
  readonly tags: readonly string[];
  /** Context the prefetch was made for (a shadow-catalog reference); undefined for demand entries. */
  readonly predictedFor?: { readonly session?: string; readonly user?: string; readonly segment?: string };
  /** Name of the model whose prediction brought the entry in; undefined for demand entries. */
  readonly predictedBy?: string;
  /**
   * Number of times the entry was served. A prefetched entry with `hits === 0` has not been used yet; tiers
   * increment it on `get`.
   */
  hits: number;
};

/** True when `now` is past the entry's stale time. */
export function isStale(entry: Entry, now: number): boolean {
  return now >= entry.staleAt;
}

/** True when `now` is past the entry's expiry time. */
export function isExpired(entry: Entry, now: number): boolean {
  return now >= entry.expiresAt;
}

/** Why an entry left a tier. */
export type RemovalCause = 'evicted' | 'expired' | 'deleted' | 'replaced' | 'rejected';
