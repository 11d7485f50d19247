/**
 * Origin: the slow store behind the cache. An origin returns its own records and knows nothing of the cache.
 */

/** A record as the origin holds it. */
export type OriginRecord<V = unknown> = {
  readonly key: string;
  readonly value: V;
  /** Monotonic per key; the cache keeps the highest version it has seen. */
  readonly version: number;
  /**
   * A tombstone: the key was deleted at `version`. `putMany` keeps it (so an older write arriving late still
   * loses) and `getMany` answers undefined for it; `changes` reports it so caches drop the key.
   */
  readonly deleted?: boolean;
};

/** Why a fetch is made: demand fetches always go before prefetches. */
export type FetchPurpose = 'demand' | 'prefetch';

export type FetchOptions = {
  readonly purpose?: FetchPurpose;
  readonly signal?: AbortSignal;
};

export interface Origin<V = unknown> {
  /**
   * Records for `keys`, aligned with `keys` (undefined where the origin has no such key), in as few round trips
   * as the store allows. Rejects when the store fails; the cache decides whether stale data can stand in.
   */
  getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>>;
  /** Idempotent upsert keeping the higher version per key (optional: read-only origins omit it). */
  putMany?(records: readonly OriginRecord<V>[]): Promise<void>;
  /** Records changed after `sinceVersion` (optional: origins with a change feed). */
  changes?(sinceVersion: number): Promise<OriginRecord<V>[]>;
  close?(): Promise<void>;
}
