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
 * The share adapts as ARC balances its two lists (Megiddo & Modha, FAST 2003): the keys of recently evicted unused
 * prefetches and of recently evicted demand entries are kept in two ghost lists of equal length. A miss on a key in
 * the prefetch ghost list means a correct prediction died for want of room: the share grows by that entry's size.
 * A miss on a key in the demand ghost list means demand lost an entry it needed: the share shrinks by as much.
 * So the share settles where one more byte is worth as much to either side, within [2%, 50%] of the capacity. An
 * earlier rule (grow when half the prefetches are used) starved the region on clickstreams, where a correct
 * prediction often waits long for its read and prefetch precision is 20-30%: the region shrank, prefetches died
 * unused, and precision fell further. Cost: O(1) per operation (at most `VICTIM_SAMPLE` nodes are looked at per
 * eviction, a few Map lookups per miss).
 */
import { GhostList } from './ghost-list.ts';
import { FIRST_SLOT, type NodeTable, PREFETCH } from './node-table.ts';

/** Options of a {@link PrefetchRegion}. */
export type PrefetchRegionOptions<V> = {
  /** Where the nodes live (shared with the tier). */
  readonly table: NodeTable<V>;
  /** The whole tier's capacity, in bytes. */
  readonly capacityBytes: number;
  /** Initial share of `capacityBytes` (0 disables prefetch storage: the share then stays 0). */
  readonly fraction: number;
  /** Whether the share adapts to how often prefetches are used. */
  readonly adaptive: boolean;
};

/** Oldest prefetches compared when choosing a victim. */
const VICTIM_SAMPLE = 4;
/** Lowest and highest share of the capacity the region may take. */
const MIN_SHARE = 0.02;
const MAX_SHARE = 0.5;
/**
 * An unused prefetch that waited while demand stored this many times the capacity has outlived its prediction: it
 * leaves when demand needs the room. Any finite value frees the room a few never-used guesses held for the whole of
 * LIRS 2_pools (BENCHMARKS.md); 2 cost orm-busy and LIRS sprite 0.3-0.4 points at 1% (correct guesses waited that
 * long in so small a cache), 8 left every other trace's figures where they were.
 */
const LIFETIME_TURNOVERS = 8;
/** Ghost lists remember at least this many keys, and otherwise a quarter of the entries held. */
const MIN_GHOSTS = 16;
const GHOST_SHARE = 0.25;

/** The list, byte count and share of the prefetched-but-unused entries. */
export class PrefetchRegion<V> {
  readonly #table: NodeTable<V>;
  #bytes = 0;
  #maxBytes: number;
  readonly #minBytes: number;
  readonly #limitBytes: number;
  readonly #adaptive: boolean;
  readonly #prefetchGhosts = new GhostList(MIN_GHOSTS);
  readonly #demandGhosts = new GhostList(MIN_GHOSTS);
  #growths = 0;
  #shrinks = 0;
  /** Bytes demand has stored so far: the clock prefetches age by. */
  #demandBytes = 0;
  /** `#demandBytes` when each slot arrived (or was last predicted again), by slot. */
  readonly #stamps: number[] = [];
  readonly #lifetimeBytes: number;

  constructor(options: PrefetchRegionOptions<V>) {
    this.#table = options.table;
    const initial = Math.floor(options.capacityBytes * options.fraction);
    this.#maxBytes = initial;
    this.#minBytes = Math.min(initial, Math.max(1, Math.floor(options.capacityBytes * MIN_SHARE)));
    // Fraction 0 refuses prefetches for good: the share never grows from 0.
    this.#limitBytes = options.fraction === 0 ? 0 : Math.max(initial, Math.floor(options.capacityBytes * MAX_SHARE));
    this.#adaptive = options.adaptive;
    this.#lifetimeBytes = LIFETIME_TURNOVERS * options.capacityBytes;
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
    this.#bytes += this.#table.size(slot);
    this.#stamps[slot] = this.#demandBytes;
  }

  /** A model predicted a held prefetch again: it becomes the newest, and its age (and second chance) starts over. */
  touch(slot: number): void {
    this.#table.moveToLast(slot);
    this.#table.unspare(slot);
    this.#stamps[slot] = this.#demandBytes;
  }

  /** Demand stored `sizeBytes` more: prefetches age by that much. */
  demandStored(sizeBytes: number): void {
    this.#demandBytes += sizeBytes;
  }

  /**
   * The oldest prefetch if it outlived its prediction (demand stored {@link LIFETIME_TURNOVERS} capacities since it
   * arrived), else -1. Why: with few prefetches the region is never pressed, so a guess that never came true would
   * keep its room for ever, room a demand-only cache would have used.
   */
  expired(): number {
    const oldest = this.#table.first(PREFETCH);
    if (oldest < FIRST_SLOT) return -1;
    return this.#demandBytes - this.#stamps[oldest] >= this.#lifetimeBytes ? oldest : -1;
  }

  /** Removes a slot of this region. An empty region holds exactly 0 bytes, whatever fractional sizes left in the sum. */
  remove(slot: number): void {
    const table = this.#table;
    table.remove(slot);
    this.#bytes = table.length(PREFETCH) === 0 ? 0 : this.#bytes - table.size(slot);
  }

  /**
   * The slot to evict next, or -1 when empty: the lowest-probability slot among the oldest few, unless the oldest
   * has already been spared once.
   */
  victim(): number {
    return this.#victim(undefined);
  }

  /**
   * The region's bytes after `victim` and `remove` while `demandBytes > capacityBytes - bytes` (the tier making room
   * for a demand entry that big), found without evicting or sparing anything: the same victims in the same order.
   */
  bytesAfterRoomFor(demandBytes: number, capacityBytes: number): number {
    const plan = { marked: new Set<number>(), spared: new Set<number>() };
    let bytes = this.#bytes;
    let length = this.length;
    while (demandBytes > capacityBytes - bytes && length > 0) {
      const slot = this.#victim(plan);
      plan.marked.add(slot);
      bytes = --length === 0 ? 0 : bytes - this.#table.size(slot);
    }
    return bytes;
  }

  /** `victim`, or in a `plan` its choice with the `marked` slots gone and the `spared` ones spared. */
  #victim(plan: { readonly marked: Set<number>; readonly spared: Set<number> } | undefined): number {
    const table = this.#table;
    const oldest = table.afterUnmarked(PREFETCH, plan?.marked);
    if (oldest < FIRST_SLOT) return -1;
    if (table.isSpared(oldest) || plan?.spared.has(oldest)) return oldest;
    let best = oldest;
    let bestProbability = table.probability(oldest);
    let slot = table.afterUnmarked(oldest, plan?.marked);
    for (let i = 1; i < VICTIM_SAMPLE && slot >= FIRST_SLOT; i++) {
      const probability = table.probability(slot);
      if (probability < bestProbability) {
        best = slot;
        bestProbability = probability;
      }
      slot = table.afterUnmarked(slot, plan?.marked);
    }
    if (best !== oldest) {
      if (plan === undefined) table.spare(oldest);
      else plan.spared.add(oldest);
    }
    return best;
  }

  /** Times the share grew and shrank (ghost hits on each side). */
  get adaptations(): { readonly growths: number; readonly shrinks: number } {
    return { growths: this.#growths, shrinks: this.#shrinks };
  }

  /** An unused prefetch was evicted from this region. */
  recordWaste(key: string): void {
    this.#prefetchGhosts.add(key);
  }

  /** A demand entry was evicted from the other regions. */
  recordDemandEviction(key: string): void {
    this.#demandGhosts.add(key);
  }

  /**
   * A read missed `key` (of `sizeBytes` when known, else one average entry): moves the share toward the side whose
   * ghost list held it. `entries` is the tier's entry count, which sizes the ghost lists. True when the demand
   * regions evicted `key` recently (a miss the region's room cost demand).
   */
  recordMiss(key: string, sizeBytes: number, entries: number): boolean {
    const want = Math.max(MIN_GHOSTS, Math.round(entries * GHOST_SHARE));
    if (want > 2 * this.#prefetchGhosts.capacity || 2 * want < this.#prefetchGhosts.capacity) {
      this.#prefetchGhosts.resize(want);
      this.#demandGhosts.resize(want);
    }
    if (!this.#adaptive) return this.#demandGhosts.take(key); // the share stays, but the displaced miss is still told
    if (this.#prefetchGhosts.take(key)) {
      this.#maxBytes = Math.min(this.#limitBytes, this.#maxBytes + sizeBytes);
      this.#growths++;
    } else if (this.#demandGhosts.take(key)) {
      this.#maxBytes = Math.max(this.#minBytes, this.#maxBytes - sizeBytes);
      this.#shrinks++;
      return true;
    }
    return false;
  }

  /** Forgets the byte count (the tier clears the table). */
  clear(): void {
    this.#bytes = 0;
    this.#prefetchGhosts.clear();
    this.#demandGhosts.clear();
  }
}
