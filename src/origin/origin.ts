/**
 * Origin: the slow store behind the cache. An origin returns its own records and knows nothing of the cache.
 */
import type { PrescientError } from '../errors.ts';

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

/**
 * The answer `getManySettled` gives for a key it could not read while it did read other keys of the same call
 * (a composite origin such as TieredOrigin whose second store failed). A cache settles it as a failure of that
 * key only: it serves a stale copy within grace or rejects that read with `error`; the other keys succeed.
 */
export class OriginFailure {
  /** Why the key could not be read; its `code` (e.g. ERR_ORIGIN_FAILED) is what the reader of the key sees. */
  readonly error: PrescientError;
  constructor(error: PrescientError) {
    this.error = error;
  }
}

/** One answer of `getManySettled`: a record, undefined when the origin has no such key, or that key's failure. */
export type OriginAnswer<V = unknown> = OriginRecord<V> | OriginFailure | undefined;

/** True when `answer` is a per-key failure rather than a record or an absence. */
export function isOriginFailure(answer: unknown): answer is OriginFailure {
  return answer instanceof OriginFailure;
}

/**
 * What `putMany` reports: the keys of records it did not apply because the store already held an equal or newer
 * version (a write from elsewhere got there first, or a replay of a record already applied). Keys of the call only.
 */
export type PutManyOutcome = { readonly declined: readonly string[] };

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
  /**
   * Optional: as `getMany`, but a key the origin could not read while it read others answers an OriginFailure
   * instead of failing the whole call; rejects as a whole only when nothing could be read. The cache's loader
   * prefers it when present. It is a separate method so that `getMany` keeps its all-or-nothing answer for
   * every caller that does not know about per-key failures (a marker is never mistaken for a record).
   */
  getManySettled?(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginAnswer<V>>>;
  /**
   * Idempotent upsert keeping the higher version per key (optional: read-only origins omit it). May resolve with the
   * keys it declined (PutManyOutcome), which a writer uses to drop its own older copies; resolving with nothing
   * says nothing about them (an origin written before the outcome existed).
   */
  putMany?(records: readonly OriginRecord<V>[]): Promise<PutManyOutcome | void>;
  /** Records changed after `sinceVersion` (optional: origins with a change feed). */
  changes?(sinceVersion: number): Promise<OriginRecord<V>[]>;
  close?(): Promise<void>;
}

/**
 * An origin that can also answer tombstones: `getRecords` is `getMany` but a deleted key answers its tombstone
 * (`{ key, version, deleted: true }`) instead of undefined (PostgresOrigin, PgliteOrigin, MapOrigin). A
 * TieredOrigin asks it so a key deleted live is not looked up in the archive; the write-back reader so another
 * node's newer delete wins over a pending write.
 */
export type RecordsOrigin<V = unknown> = Origin<V> & {
  getRecords(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>>;
};

/** True when `origin` offers `getRecords`. */
export function hasRecords<V>(origin: Origin<V>): origin is RecordsOrigin<V> {
  return typeof (origin as Partial<RecordsOrigin<V>>).getRecords === 'function';
}

/**
 * An origin with per-key failures (`getManySettled`) that can also answer tombstones: `getRecordsSettled` is
 * `getManySettled` answering a deleted key's tombstone as `getRecords` does (TieredOrigin over a live store that
 * reports them), so the write-back reader sees another node's delete through it too.
 */
export type SettledRecordsOrigin<V = unknown> = Origin<V> & {
  getRecordsSettled(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginAnswer<V>>>;
};

/** True when `origin` offers `getRecordsSettled`. */
export function hasSettledRecords<V>(origin: Origin<V>): origin is SettledRecordsOrigin<V> {
  return typeof (origin as Partial<SettledRecordsOrigin<V>>).getRecordsSettled === 'function';
}
