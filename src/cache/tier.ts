/**
 * Tier: the contract every storage tier passes (MemoryTier now, RedisTier in its own entry point). The contract
 * suite in `test/contracts/tier.contract.ts` runs against every implementation.
 *
 * Methods may answer synchronously (the memory tier does, to keep the hit path free of promises) or with a
 * promise (a remote tier); callers `await` either.
 */
import type { Entry } from './entry.ts';

export type Awaitable<T> = T | Promise<T>;

/** Counters every tier reports. */
export type TierStats = {
  readonly name: string;
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  /** Anything else the tier wants to report (window size, connection state, ...). */
  readonly extra?: Readonly<Record<string, number | string | boolean>>;
};

export interface Tier<V = unknown> {
  readonly name: string;
  /** The entry for `key`, or undefined. Counts a hit or a miss and refreshes recency. Never returns expired entries past `expiresAt` unless `includeExpired`. */
  get(key: string, includeExpired?: boolean): Awaitable<Entry<V> | undefined>;
  /** Entries for `keys`, aligned with `keys`. */
  getMany(keys: readonly string[]): Awaitable<Array<Entry<V> | undefined>>;
  /**
   * Stores `entry`, replacing an older version. Returns false when the tier declined it (an older version than
   * the one held, admission refused, or larger than the whole tier).
   */
  set(entry: Entry<V>): Awaitable<boolean>;
  /** Removes `key`; true when something was removed. */
  delete(key: string): Awaitable<boolean>;
  /**
   * Optional strict `set`, for tiers that can fail to answer (a remote tier): resolves true when stored, false when
   * declined (a newer version held, too large, already expired), and rejects with ERR_TIER_FAILED when the tier
   * could not be reached or timed out, so the caller can tell "declined" from "unknown" and repair the key later.
   */
  setStrict?(entry: Entry<V>): Promise<boolean>;
  /**
   * Optional strict `set` of a write that named no version: stores `entry` as the newest, at its own version or,
   * when the tier holds that version or a newer one (another node's write), at one above the held version, decided
   * atomically in the tier so concurrent writers get distinct versions in the order the tier took them. Resolves
   * with the version stored (the held one itself past 2^53, where one more is the same number), undefined when
   * declined (too large, already expired); rejects like `setStrict`.
   */
  setNewest?(entry: Entry<V>): Promise<number | undefined>;
  /**
   * Optional strict `delete`: removes `key` when its held version is at most `maxVersion` (any version when omitted);
   * true when something was removed; rejects with ERR_TIER_FAILED when the tier could not be reached or timed out.
   */
  deleteStrict?(key: string, maxVersion?: number): Promise<boolean>;
  /**
   * Optional: the keys held that start with `prefix`, for `Cache.invalidate({ prefix })` to reach copies this node
   * never held (another node's writes to a shared tier). Rejects with ERR_TIER_FAILED when the tier cannot answer.
   */
  keysWithPrefix?(prefix: string): Promise<string[]>;
  /**
   * Optional: the keys held that were written with `tag` (possibly more: a key rewritten without it), for
   * `Cache.invalidate({ tag })` to reach copies no node holds any more. Rejects with ERR_TIER_FAILED when the tier
   * cannot answer.
   */
  keysWithTag?(tag: string): Promise<string[]>;
  /**
   * Optional, for a tier that keeps copies of its replies in this process (RedisTier's client-side cache): drops
   * those of `keys`, or all of them when undefined, so the next read asks the tier itself. Called when another node's
   * write notice, which may arrive before the tier's own invalidation, says the keys changed.
   */
  dropCachedReplies?(keys?: readonly string[]): void;
  /** Removes everything. */
  clear(): Awaitable<void>;
  stats(): Awaitable<TierStats>;
}
