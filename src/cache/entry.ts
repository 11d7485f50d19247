import type { ReadContext } from '../context.ts';
import { InvalidKeyError } from '../errors.ts';

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
  /**
   * The Cache's answer to a plain memory hit on this entry (a frozen `ReadResult`), made on the first such hit and
   * returned by every later one: a hit then allocates nothing, where a fresh 7-field result per hit cost more than
   * the tier's own bookkeeping (BENCHMARKS.md, Hit throughput). Undefined until then; owned by the Cache (typed
   * loosely because entry.ts sits below the read results).
   */
  hitResult?: object;
};

/** The tags of an entry that has none, shared. */
export const noTags: readonly string[] = Object.freeze([]);

/**
 * A fresh entry stored at `now`: stale after min(staleAfterMs, ttlMs), expired after ttlMs; a `prediction` makes it
 * a prefetched entry carrying the probability, the model and the context it was predicted with.
 */
export function createEntry<V>(fields: {
  readonly key: string;
  readonly value: V;
  readonly version: number;
  readonly sizeBytes: number;
  readonly now: number;
  readonly ttlMs: number;
  readonly staleAfterMs: number;
  readonly prediction?: { readonly probability: number; readonly source: string; readonly ctx: ReadContext };
  readonly tags?: readonly string[];
}): Entry<V> {
  const { now, ttlMs, prediction: p } = fields;
  return {
    key: fields.key,
    value: fields.value,
    version: fields.version,
    sizeBytes: fields.sizeBytes,
    createdAt: now,
    staleAt: now + Math.min(fields.staleAfterMs, ttlMs),
    expiresAt: now + ttlMs,
    source: p === undefined ? 'demand' : 'prefetch',
    probability: p?.probability ?? 1,
    tags: fields.tags ?? noTags,
    predictedFor: p?.ctx,
    predictedBy: p?.source,
    hits: 0,
    hitResult: undefined,
  };
}

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

/** Checks a cache key: a non-empty string of at most `maxKeyLength` characters. @throws InvalidKeyError */
export function checkKey(key: unknown, maxKeyLength: number): asserts key is string {
  if (typeof key !== 'string') throw new InvalidKeyError(key, 'expected a string');
  if (key.length === 0) throw new InvalidKeyError(key, 'expected a non-empty string');
  if (key.length > maxKeyLength) throw new InvalidKeyError(key, `longer than ${maxKeyLength} characters`);
}
