/**
 * PrefetchRegion: the bounded part of the memory tier where prefetched entries wait until they are first used.
 *
 * Why: a prediction is a guess; letting guesses enter the W-TinyLFU regions would let a bad predictor push out
 * entries that demand proved useful (ARCHITECTURE principle 3, "prefetch must not hurt"). So an unused prefetch
 * competes only with other unused prefetches, inside a share of the capacity. Victim choice weighs recency and
 * predicted value: among the few oldest prefetches the one with the lowest predicted reuse (`probability`) goes,
 * but the oldest is spared at most once (a second-chance bit), so a confident prediction that never came true
 * still ages out after about one turnover of the region (cf. the expected-value eviction of prefetched blocks in
 * Patterson et al., "Informed Prefetching and Caching", SOSP 1995, reduced to a sampled comparison).
 *
 * The share adapts by a simple rule, once per sample period: when at least half of the prefetches that left the
 * region were used, grow it by a quarter; when fewer than a fifth were, shrink it by a fifth; bounded to
 * [share/4, min(4 x share, half the capacity)] of the initial share. Cost: O(1) per operation (at most
 * `VICTIM_SAMPLE` nodes are looked at per eviction).
 */
import { FIRST_SLOT, type NodeTable, PREFETCH } from './node-table.ts';

/** Options of a {@link PrefetchRegion}. */
export type PrefetchRegionOptions<V> = {
  /** Where the nodes live (shared with the tier). */
  readonly table: NodeTable<V>;
  /** The whole tier's capacity, in bytes. */
  readonly capacityBytes: number;
  /** Initial share of `capacityBytes` (0 disables prefetch storage). */
  readonly fraction: number;
  /** Whether the share adapts to how often prefetches are used. */
  readonly adaptive: boolean;
};

/** Oldest prefetches compared when choosing a victim. */
const VICTIM_SAMPLE = 4;
/** Prefetches leaving the region in a period (used or wasted) below which the share is left alone. */
const MIN_SIGNAL = 8;
/** Precision at or above which the share grows. */
const GROW_PRECISION = 0.5;
/** Precision below which the share shrinks. */
const SHRINK_PRECISION = 0.2;
/** Growth and shrink factors of the share per period. */
const GROW_FACTOR = 1.25;
const SHRINK_FACTOR = 0.8;
/** The share never exceeds this part of the capacity, however well prefetches do. */
const MAX_SHARE = 0.5;

/** The list, byte count and share of the prefetched-but-unused entries. */
export class PrefetchRegion<V> {
  readonly #table: NodeTable<V>;
  #bytes = 0;
  #maxBytes: number;
  readonly #minBytes: number;
  readonly #limitBytes: number;
  readonly #adaptive: boolean;
  #usedInPeriod = 0;
  #wastedInPeriod = 0;

  constructor(options: PrefetchRegionOptions<V>) {
    this.#table = options.table;
    const initial = Math.floor(options.capacityBytes * options.fraction);
    this.#maxBytes = initial;
    this.#minBytes = Math.floor(initial / 4);
    this.#limitBytes = Math.min(initial * 4, Math.floor(options.capacityBytes * MAX_SHARE));
    this.#adaptive = options.adaptive;
  }

  /** Bytes held by unused prefetches. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Current share, in bytes: the most the region may hold. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Number of unused prefetches held. */
  get length(): number {
    return this.#table.length(PREFETCH);
  }

  /** Adds a slot (in no list) as the newest prefetch. */
  add(slot: number): void {
    this.#table.push(PREFETCH, slot);
    this.#bytes += this.#table.entry(slot).sizeBytes;
  }

  /** Removes a slot of this region. */
  remove(slot: number): void {
    this.#table.remove(slot);
    this.#bytes -= this.#table.entry(slot).sizeBytes;
  }

  /**
   * The slot to evict next, or -1 when empty: the lowest-probability slot among the oldest few, unless the oldest
   * has already been spared once.
   */
  victim(): number {
    const table = this.#table;
    const oldest = table.first(PREFETCH);
    if (oldest < FIRST_SLOT) return -1;
    if (table.isSpared(oldest)) return oldest;
    let best = oldest;
    let bestProbability = table.entry(oldest).probability;
    let slot = table.after(oldest);
    for (let i = 1; i < VICTIM_SAMPLE && slot >= FIRST_SLOT; i++) {
      const probability = table.entry(slot).probability;
      if (probability < bestProbability) {
        best = slot;
        bestProbability = probability;
      }
      slot = table.after(slot);
    }
    if (best !== oldest) table.spare(oldest);
    return best;
  }

  /** Counts a prefetch used (first hit) in this period. */
  recordUse(): void {
    this.#usedInPeriod++;
  }

  /** Counts a prefetch evicted unused in this period. */
  recordWaste(): void {
    this.#wastedInPeriod++;
  }

  /** Ends a sample period: adapts the share (when adaptive) and starts counting afresh. */
  endPeriod(): void {
    const used = this.#usedInPeriod;
    const total = used + this.#wastedInPeriod;
    this.#usedInPeriod = 0;
    this.#wastedInPeriod = 0;
    if (!this.#adaptive || total < MIN_SIGNAL) return;
    const precision = used / total;
    if (precision >= GROW_PRECISION) {
      this.#maxBytes = Math.min(this.#limitBytes, Math.max(this.#maxBytes + 1, Math.floor(this.#maxBytes * GROW_FACTOR)));
    } else if (precision < SHRINK_PRECISION) {
      this.#maxBytes = Math.max(this.#minBytes, Math.floor(this.#maxBytes * SHRINK_FACTOR));
    }
  }

  /** Forgets the byte count (the tier clears the table). */
  clear(): void {
    this.#bytes = 0;
  }
}
