/**
 * The options of a MemoryTier (memory-tier.ts) and their checking, apart so the tier's file keeps to its logic.
 */
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError } from '../errors.ts';
import { fn, hasMethods, numberInRange, positiveInt } from '../options.ts';
import type { Entry, RemovalCause } from './entry.ts';

/** Options of a {@link MemoryTier}. */
export type MemoryTierOptions<V> = {
  /**
   * Capacity in bytes, as charged by `entry.sizeBytes` (1 per entry gives an entry-count bound). Required. Entries of
   * size 0 cost nothing against it, so any number of them is held (as in Caffeine, whose weigher may return 0).
   */
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
   * demand is short of room, a miss the prefetch region's room may have cost, which the Cache's scheduler reads as
   * a cue to hold prefetches back. It fires whether or not prefetches held room at that eviction (so also in a tier
   * that never held a prefetch): counting only evictions made while they did was measured to cost up to 2 points of
   * hit ratio on LIRS multi2 and 0.5 on the demo sample (BENCHMARKS.md, 2026-12-07 eighth session). Called whether
   * or not the tier is `adaptive`.
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
  /**
   * Seed of the sketch hash and of the admission coin; any safe integer. It changes which keys of different 32-bit
   * hashes share sketch counters, not that keys of the same hash (an FNV-1a collision) do (frequency-sketch.ts).
   * @default 0
   */
  readonly seed?: number;
};

/** {@link MemoryTierOptions} checked, with their defaults filled in. */
export type ResolvedMemoryTierOptions<V> = {
  readonly maxBytes: number;
  readonly clock: Clock;
  readonly onRemoval: ((entry: Entry<V>, cause: RemovalCause) => void) | undefined;
  readonly onDisplacedMiss: (() => void) | undefined;
  readonly prefetchFraction: number;
  readonly initialWindowFraction: number;
  readonly adaptive: boolean;
  readonly seed: number;
};

/** @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the first bad option and its value. */
export function resolveMemoryTierOptions<V>(options: MemoryTierOptions<V>): ResolvedMemoryTierOptions<V> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
  const maxBytes = positiveInt('maxBytes', options.maxBytes);
  const clock = options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now']);
  const onRemoval = options.onRemoval === undefined ? undefined : fn<(entry: Entry<V>, cause: RemovalCause) => void>('onRemoval', options.onRemoval);
  const onDisplacedMiss = options.onDisplacedMiss === undefined ? undefined : fn<() => void>('onDisplacedMiss', options.onDisplacedMiss);
  const prefetchFraction = numberInRange('prefetchFraction', options.prefetchFraction, 0, 0.5, 0.1);
  const initialWindowFraction = numberInRange('initialWindowFraction', options.initialWindowFraction, 0, 1, 0.5);
  if (options.adaptive !== undefined && typeof options.adaptive !== 'boolean') {
    throw new InvalidOptionError('adaptive', 'a boolean', options.adaptive);
  }
  const adaptive = options.adaptive ?? true;
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new InvalidOptionError('seed', 'a safe integer', seed);
  return { maxBytes, clock, onRemoval, onDisplacedMiss, prefetchFraction, initialWindowFraction, adaptive, seed };
}
