/**
 * MemoryTier: the in-process tier, a byte-bounded W-TinyLFU cache with a separate region for unused prefetches.
 *
 * Why: W-TinyLFU (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", ACM ToS 2017)
 * is near-optimal on a wide range of workloads at LRU's cost. We follow Caffeine's BoundedLocalCache: a small LRU
 * admission window; a segmented-LRU main region (probation, and protected at ~80% of main); a window victim enters
 * main only when its sketch frequency beats main's probation victim (ties refused; a candidate with frequency >= 6
 * is admitted at random 1 time in 128, which defeats hash-flooding); and the window size adapts by hill climbing
 * (see hill-climber.ts) because a fixed 1% window collapses on recency-heavy traces.
 *
 * Prediction-aware: a prefetched entry not yet used waits in the prefetch region (prefetch-region.ts), where it
 * competes only with other unused prefetches. Its first hit moves it to the window as a new demand access (the
 * hit counts in the sketch), so from then on TinyLFU judges it like any demand entry. The region's share is a
 * reservation, not a partition: while prefetches do not fill it, demand entries use the room (a demand-only
 * workload gets the whole capacity); when prefetches arrive, the region takes back at most its share by evicting
 * demand entries in W-TinyLFU's own victim order. Prefetches never take more than that share, and demand entries
 * never evict unused prefetches (except, as a last resort, an entry bigger than the room demand has left).
 *
 * Eviction weighs: recency (window LRU order, probation/protected LRU order), frequency (the sketch decides
 * between the window's candidate and main's victim) and predicted reuse (inside the prefetch region, the
 * lowest `probability` among the oldest prefetches goes first). Cost per operation: O(1) amortised; one Map
 * lookup and no allocation per hit; each window resize moves at most the step's worth of entries once per sample.
 */
import { clear as clearRegions, type Regions } from './memory-regions.ts';
import { FrequencySketch, hashKey } from './frequency-sketch.ts';
import { HillClimber } from './hill-climber.ts';
import { PrefetchRegion } from './prefetch-region.ts';
import { CacheNode, PREFETCH, PROBATION, PROTECTED, SegmentList, WINDOW } from './segment-list.ts';
import type { Entry, RemovalCause } from './entry.ts';
import type { Tier, TierStats } from './tier.ts';
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError } from '../errors.ts';
import { fn, hasMethods, numberInRange, positiveInt } from '../options.ts';
