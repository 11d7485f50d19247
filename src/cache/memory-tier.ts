/**
 * MemoryTier: the in-process tier, a synchronous byte-bounded W-TinyLFU cache (window-tiny-lfu.ts) with a separate
 * region for prefetched entries not used yet (prefetch-region.ts).
 *
 * Why: demand entries are best kept by W-TinyLFU with an adaptive window, as Caffeine does (Einziger, Friedman,
 * Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", ACM ToS 2017). A prediction is only a guess, so an
 * unused prefetch waits in its own region, where it competes only with other unused prefetches (ARCHITECTURE
 * principle 3, "prefetch must not hurt"). Its first hit moves it to the window as a new demand access (the hit
 * counts in the sketch), so from then on TinyLFU judges it like any demand entry; we chose the window over direct
 * entry into probation because a first use is exactly the evidence a new demand entry brings.
 *
 * The prefetch share is a reservation, not a partition: while prefetches do not fill it, demand entries use the
 * room (a demand-only workload gets the whole capacity); when prefetches arrive, the region takes back at most its
 * share by evicting demand entries in W-TinyLFU's own victim order. Prefetches never hold more than that share,
 * and demand entries never evict unused prefetches, except one that outlived its prediction (demand stored eight times
 * the capacity since it arrived or was last predicted) and, as a last resort, for a demand entry bigger than the room left
 * to demand that TinyLFU will keep. So demand entries within `maxBytes - share` are never displaced by prefetches.
 *
 * Eviction weighs recency (window and probation/protected LRU order), frequency (the sketch decides between the
 * window's candidate and main's victim) and predicted reuse (inside the prefetch region, the lowest `probability`
 * among the oldest prefetches goes first). Cost: one Map lookup and no allocation per hit; O(1) amortised per
 * operation.
 */
import { hashKey } from './frequency-sketch.ts';
import { PrefetchRegion } from './prefetch-region.ts';
import { RemovalQueue } from './removal-queue.ts';
import { NodeTable, PREFETCH } from './node-table.ts';
import { WindowTinyLfu } from './window-tiny-lfu.ts';
import type { Entry, RemovalCause } from './entry.ts';
import { resolveMemoryTierOptions, type MemoryTierOptions } from './memory-tier-options.ts';
import type { Tier, TierStats } from './tier.ts';
import type { Clock } from '../clock.ts';

export type { MemoryTierOptions } from './memory-tier-options.ts';

/**
 * A synchronous, byte-bounded W-TinyLFU tier with a prefetch region. Every method answers synchronously (never a
 * promise). Bytes held never exceed `maxBytes`; entries of size 0 are not bounded by it (as in Caffeine).
 */
export class MemoryTier<V = unknown> implements Tier<V> {
  readonly name = 'memory';
  readonly #map = new Map<string, number>();
  readonly #table = new NodeTable<V>();
  readonly #main: WindowTinyLfu<V>;
  readonly #prefetch: PrefetchRegion<V>;
  readonly #maxBytes: number;
  readonly #clock: Clock;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #prefetchHits = 0;
  #prefetchEvictedUnused = 0;
  #peakBytes = 0;
  /** Removals told to `onRemoval` once the operation that made them ends; undefined without a listener. */
  readonly #removals: RemovalQueue<V> | undefined;
  readonly #onDisplacedMiss: (() => void) | undefined;

  /** @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the first bad option and its value. */
  constructor(options: MemoryTierOptions<V>) {
    const { maxBytes, clock, onRemoval, onDisplacedMiss, prefetchFraction, initialWindowFraction, adaptive, seed } = resolveMemoryTierOptions(options);
    this.#clock = clock;
    this.#removals = onRemoval === undefined ? undefined : new RemovalQueue(onRemoval);
    this.#onDisplacedMiss = onDisplacedMiss;
    this.#maxBytes = maxBytes;
    const table = this.#table;
    this.#main = new WindowTinyLfu<V>({ table, maxBytes, initialWindowFraction, adaptive, seed, onEvict: (slot) => this.#evicted(slot) });
    this.#prefetch = new PrefetchRegion<V>({ table, capacityBytes: maxBytes, fraction: prefetchFraction, adaptive });
  }

  /** Capacity in bytes. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Bytes held (never above `maxBytes`). */
  get bytes(): number {
    return this.#main.bytes + this.#prefetch.bytes;
  }

  /** Number of entries held, expired ones included. */
  get size(): number {
    return this.#map.size;
  }

  /**
   * The entry for `key`, or undefined (a miss). A hit increments `entry.hits`, counts in the sketch and refreshes
   * recency; the first hit of a prefetched entry moves it out of the prefetch region. An entry whose `expiresAt`
   * has passed is a miss, with no hit, recency or promotion; `includeExpired` only makes the miss return it (the
   * cache reloads it, and may serve it within grace). It is kept either way.
   */
  get(key: string, includeExpired = false): Entry<V> | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) {
      this.#misses++;
      if (this.#prefetch.recordMiss(key, this.#averageEntryBytes(), this.#map.size)) this.#onDisplacedMiss?.();
      // A share the miss shrank is restored at once, not at the sample's end (#endSample trims the region).
      if (this.#main.recordMiss(hashKey(key)) || this.#prefetch.bytes > this.#prefetch.maxBytes) this.#endSample();
      return undefined;
    }
    const entry = this.#table.entry(slot);
    if (entry.expiresAt !== Infinity && this.#clock.now() >= entry.expiresAt) {
      this.#misses++;
      if (this.#main.recordMiss(this.#table.hash(slot))) this.#endSample();
      return includeExpired ? entry : undefined;
    }
    entry.hits++;
    this.#hits++;
    if (this.#table.queue(slot) === PREFETCH) this.#usePrefetch(slot);
    else if (this.#main.recordHit(slot)) this.#endSample();
    return entry;
  }

  /**
   * The answer attached to `key`'s entry (`attachAnswer`) while the entry is fresh, counting a hit as `get` does
   * without reading the entry (node-table.ts); otherwise undefined, with no side effect (ask `get`).
   */
  hitAnswer(key: string): unknown {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    const table = this.#table;
    const answer = table.answer(slot);
    if (answer === undefined) return undefined;
    const until = table.freshUntil(slot);
    if (until !== Infinity && this.#clock.now() >= until) return undefined;
    table.countAnswerHit(slot);
    this.#hits++;
    if (this.#main.recordHit(slot)) this.#endSample();
    return answer;
  }

  /** Attaches `answer` for `hitAnswer` to `entry`, if held and used (an unused prefetch's first use goes through `get`). */
  attachAnswer(entry: Entry<V>, answer: unknown): void {
    const slot = this.#map.get(entry.key);
    if (slot !== undefined && this.#table.entry(slot) === entry && this.#table.queue(slot) !== PREFETCH) this.#table.setAnswer(slot, answer);
  }

  /**
   * Marks `key` as predicted to be reused soon: moves it to the most recent end of its region without counting a
   * read (no hit, no sketch count), so eviction weighs the prediction. Returns false when `key` is not held.
   */
  touch(key: string): boolean {
    const slot = this.#map.get(key);
    if (slot === undefined) return false;
    this.#touchSlot(slot);
    return true;
  }

  /**
   * `touch` for an entry still fresh at `now` (`now < staleAt`): true when touched, false when held but stale (left as
   * it is), undefined when not held. One lookup where `peek` then `touch` take two (the scheduler asks it of each key).
   */
  touchIfFresh(key: string, now: number): boolean | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    if (!(now < this.#table.entry(slot).staleAt)) return false;
    this.#touchSlot(slot);
    return true;
  }

  #touchSlot(slot: number): void {
    if (this.#table.queue(slot) === PREFETCH) this.#prefetch.touch(slot);
    else this.#main.touch(slot);
  }

  /** Entries for `keys`, aligned with `keys`; each lookup counts as a `get`. */
  getMany(keys: readonly string[]): Array<Entry<V> | undefined> {
    return keys.map((key) => this.get(key));
  }

  /** The entry for `key` without side effect (no hit, recency or sketch count), expired or not. */
  peek(key: string): Entry<V> | undefined {
    const slot = this.#map.get(key);
    return slot === undefined ? undefined : this.#table.entry(slot);
  }

  /** True when an entry (expired or not) is held for `key`. No side effect. */
  has(key: string): boolean {
    return this.#map.has(key);
  }

  /** Keys held, in no particular order. */
  keys(): IterableIterator<string> {
    return this.#map.keys();
  }

  /** Entries held, in no particular order. */
  *entries(): IterableIterator<Entry<V>> {
    for (const slot of this.#map.values()) yield this.#table.entry(slot);
  }

  /** Sketch estimate (0-15) of how often `key` was accessed recently. */
  frequency(key: string): number {
    const slot = this.#map.get(key);
    return this.#main.frequency(slot === undefined ? hashKey(key) : this.#table.hash(slot));
  }

  /**
   * Stores `entry`. A held entry with a newer version wins (returns false, the argument is reported 'rejected');
   * an equal or newer version replaces it ('replaced'). An entry larger than `maxBytes` (or, for an unused
   * prefetch, than the prefetch share) is rejected. Unused prefetches (`source` 'prefetch', `hits` 0) go to the
   * prefetch region, unless the key is already held as a demand entry; everything else goes to the window.
   * Returns whether the entry is held afterwards (TinyLFU may evict a new entry at once when the window is tiny).
   */
  set(entry: Entry<V>): boolean {
    const key = entry.key;
    const size = entry.sizeBytes;
    const table = this.#table;
    const old = this.#map.get(key);
    let held: boolean;
    if (!(size >= 0 && size <= this.#maxBytes) || (old !== undefined && entry.version < table.entry(old).version)) {
      this.#notify(entry, 'rejected');
      held = false;
    } else if (old !== undefined && table.queue(old) !== PREFETCH) {
      // Already a demand entry (a prefetch of it only refreshes the value): replace in place.
      const previous = table.entry(old);
      table.setEntry(old, entry);
      this.#main.resized(old, size - previous.sizeBytes);
      this.#notify(previous, 'replaced');
      this.#evict(old);
      held = this.#map.get(key) === old;
    } else {
      let slot = old;
      if (slot === undefined) {
        slot = table.allocate(entry, hashKey(key));
        this.#map.set(key, slot);
        this.#main.ensureCapacity(this.#map.size);
      } else {
        this.#prefetch.remove(slot);
        const previous = table.entry(slot);
        table.setEntry(slot, entry);
        this.#notify(previous, 'replaced');
      }
      held = isUnusedPrefetch(entry) ? this.#addPrefetch(slot) : this.#addDemand(slot);
    }
    this.#peakBytes = Math.max(this.#peakBytes, this.bytes);
    this.#deliver();
    return held;
  }

  /** Removes `key` (reported 'deleted'); true when something was removed. */
  delete(key: string): boolean {
    const slot = this.#map.get(key);
    if (slot === undefined) return false;
    const entry = this.#table.entry(slot);
    if (this.#table.queue(slot) === PREFETCH) this.#prefetch.remove(slot);
    else this.#main.remove(slot);
    this.#map.delete(key);
    this.#table.release(slot);
    this.#notify(entry, 'deleted');
    this.#deliver();
    return true;
  }

  /** Removes every entry (each reported 'deleted'). The sketch keeps its counts, and the window's climber its state. */
  clear(): void {
    const removed = [...this.entries()];
    this.#map.clear();
    this.#table.clear();
    this.#main.clear();
    this.#prefetch.clear();
    for (const entry of removed) this.#notify(entry, 'deleted');
    this.#deliver();
  }

  /** Counters, with the regions' sizes in `extra`. */
  stats(): TierStats {
    return {
      name: this.name,
      entries: this.#map.size,
      bytes: this.bytes,
      maxBytes: this.#maxBytes,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      extra: {
        ...this.#main.regions(),
        prefetchBytes: this.#prefetch.bytes,
        prefetchMaxBytes: this.#prefetch.maxBytes,
        prefetchHits: this.#prefetchHits,
        prefetchEvictedUnused: this.#prefetchEvictedUnused,
        peakBytes: this.#peakBytes,
      },
    };
  }

  /** First hit of a prefetched entry: it leaves the prefetch region and enters the window as a demand access. */
  #usePrefetch(slot: number): void {
    this.#prefetch.remove(slot);
    this.#prefetchHits++;
    this.#main.add(slot);
    this.#prefetch.demandStored(this.#table.entry(slot).sizeBytes);
    const ended = this.#main.recordHit(slot);
    this.#evict();
    if (ended) this.#endSample();
    this.#deliver();
  }

  /** Adds a slot (in no list) to the window and restores the bounds. */
  #addDemand(slot: number): boolean {
    const entry = this.#table.entry(slot);
    this.#main.add(slot);
    this.#prefetch.demandStored(entry.sizeBytes);
    this.#evict(slot);
    return this.#map.get(entry.key) === slot && this.#table.entry(slot).key === entry.key;
  }

  /** Adds a slot (in no list) to the prefetch region, making room among prefetches, then in demand's lent room. */
  #addPrefetch(slot: number): boolean {
    const entry = this.#table.entry(slot);
    const size = entry.sizeBytes;
    if (size > this.#prefetch.maxBytes) {
      this.#map.delete(entry.key);
      this.#table.release(slot);
      // No ghost: ghosts are prefetches the region held and let go; a size refusal is not one (and fraction 0 must not grow).
      this.#notify(entry, 'rejected');
      return false;
    }
    // The length check stops the loop on an empty region whatever float residue fractional sizes left in its count.
    while (this.#prefetch.bytes + size > this.#prefetch.maxBytes && this.#prefetch.length > 0) this.#evictPrefetch();
    this.#prefetch.add(slot);
    this.#evict();
    return this.#map.get(entry.key) === slot;
  }

  /**
   * Restores `bytes <= maxBytes`: demand gives back what it borrowed; prefetches go only as a last resort, first for
   * the demand entry in `slot` when it is bigger than the room prefetches leave (else demand would evict every other
   * demand entry, then that one, and the prefetches would stay), and only if TinyLFU will then keep it: an entry it
   * would evict anyway is evicted alone, before it costs a prefetch or another entry.
   */
  #evict(slot = -1): void {
    const main = this.#main;
    const prefetch = this.#prefetch;
    if (main.bytes + prefetch.bytes > this.#maxBytes) {
      for (let expired = prefetch.expired(); expired >= 0; expired = prefetch.expired()) this.#evictPrefetch(expired, false);
    }
    let candidate = main.overflowWindow();
    const demandBytes = slot < 0 ? 0 : this.#table.entry(slot).sizeBytes;
    if (demandBytes > this.#maxBytes - prefetch.bytes && prefetch.length > 0) {
      if (main.wouldEvict(slot, candidate, this.#maxBytes - prefetch.bytesAfterRoomFor(demandBytes, this.#maxBytes))) {
        main.remove(slot);
        this.#evicted(slot);
        candidate = -1; // the rest fits as it did before the entry came
      } else {
        while (demandBytes > this.#maxBytes - prefetch.bytes && prefetch.length > 0) this.#evictPrefetch();
      }
    }
    main.evict(this.#maxBytes - prefetch.bytes, candidate);
    while (main.bytes + prefetch.bytes > this.#maxBytes && prefetch.length > 0) this.#evictPrefetch();
  }

  #evictPrefetch(slot = this.#prefetch.victim(), remember = true): void {
    if (slot < 0) return;
    this.#prefetch.remove(slot);
    this.#evicted(slot, remember);
  }

  /** Forgets a slot already unlinked from its region, and reports its entry. */
  #evicted(slot: number, remember = true): void {
    const entry = this.#table.entry(slot);
    const wasUnusedPrefetch = this.#table.queue(slot) === PREFETCH && entry.hits === 0;
    this.#map.delete(entry.key);
    this.#table.release(slot);
    this.#evictions++;
    if (wasUnusedPrefetch) {
      this.#prefetchEvictedUnused++;
      // A prefetch that outlived its prediction did not die for want of room: its ghost would grow the region.
      if (remember) this.#prefetch.recordWaste(entry.key);
    } else {
      this.#prefetch.recordDemandEviction(entry.key);
    }
    const expired = entry.expiresAt !== Infinity && this.#clock.now() >= entry.expiresAt;
    this.#notify(entry, expired ? 'expired' : 'evicted');
  }

  /** Mean size of the entries held (1 when empty): the step of a prefetch-share adjustment. */
  #averageEntryBytes(): number {
    return this.#map.size === 0 ? 1 : Math.max(1, Math.round(this.bytes / this.#map.size));
  }

  /** A sample period ended (the window already adapted), or a miss shrank the share: restore the prefetch region's bound. */
  #endSample(): void {
    while (this.#prefetch.bytes > this.#prefetch.maxBytes && this.#prefetch.length > 0) this.#evictPrefetch();
    this.#deliver();
  }

  #notify(entry: Entry<V>, cause: RemovalCause): void {
    this.#removals?.push(entry, cause);
  }

  /** Ends a public operation: `onRemoval` hears of the removals it made (removal-queue.ts). */
  #deliver(): void {
    this.#removals?.deliver();
  }
}

function isUnusedPrefetch(entry: Entry): boolean {
  return entry.source === 'prefetch' && entry.hits === 0;
}
