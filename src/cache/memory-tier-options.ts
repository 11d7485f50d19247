/**
 * The options of a MemoryTier (memory-tier.ts), apart so the tier's file keeps to its logic.
 */
import type { Clock } from '../clock.ts';
import type { Entry, RemovalCause } from './entry.ts';

/** Options of a {@link MemoryTier}. */
export type MemoryTierOptions<V> = {
  /** Capacity in bytes, as charged by `entry.sizeBytes` (1 per entry gives an entry-count bound). Required. */
  readonly maxBytes: number;
  /** Time source, used only to tell expired entries (in `get`, and the cause of an eviction). @default systemClock */
  readonly clock?: Clock;
  /**
   * Called after an entry leaves (or is refused by) the tier: 'evicted' (size), 'expired' (evicted after its
   * `expiresAt`), 'deleted', 'replaced' (a newer version took its place), 'rejected' (a `set` declined). Called
   * when the operation that removed the entry has finished, so it may call back into the tier (what its own calls
   * remove is told next); the first exception it throws is rethrown then, by that operation.
   */
  readonly onRemoval?: (entry: Entry<V>, cause: RemovalCause) => void;
  /**
   * Called at a miss on a key the demand regions evicted recently (it is in the prefetch region's demand ghost list):
   * a miss the prefetch region's room likely cost, which the same tier without prefetch would have served.
   */
  readonly onDisplacedMiss?: () => void;
  /** Initial share of `maxBytes` reserved for unused prefetches, 0 to 0.5 (0 refuses prefetches). @default 0.1 */
  readonly prefetchFraction?: number;
  /**
   * Initial share of `maxBytes` of the admission window, 0 to 1. Caffeine starts at 1%; starting at half the
   * capacity and letting the climber move it measured better on every shared trace but one (ARC OLTP at 250
   * entries: -0.6 points), up to +10 points on recency-heavy ones (BENCHMARKS.md). @default 0.5
   */
  readonly initialWindowFraction?: number;
  /** Whether the window (hill climbing) and the prefetch share adapt as the workload runs. @default true */
  readonly adaptive?: boolean;
  /** Seed of the sketch hash and of the admission coin; any safe integer. @default 0 */
  readonly seed?: number;
};
