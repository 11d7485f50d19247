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
 * among the oldest prefetches goes first). Cost: one hash-index lookup and no allocation per hit (`hit` builds no Entry); O(1) amortised per
 * operation.
 */
import { hashKey } from './frequency-sketch.ts';
import { PrefetchRegion } from './prefetch-region.ts';
import { RemovalQueue } from './removal-queue.ts';
import { PREFETCH } from './node-table.ts';
import { TierReads } from './tier-reads.ts';
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
export class MemoryTier<V = unknown> extends TierReads<V> implements Tier<V> {
  readonly name = 'memory';
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
    super();
    const { maxBytes, clock, onRemoval, onDisplacedMiss, prefetchFraction, initialWindowFraction, adaptive, seed } = resolveMemoryTierOptions(options);
    this.#clock = clock;
    this.#removals = onRemoval === undefined ? undefined : new RemovalQueue(onRemoval);
    this.#onDisplacedMiss = onDisplacedMiss;
    this.#maxBytes = maxBytes;
    const table = this.table;
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

  /**
   * The entry for `key`, or undefined (a miss). A hit increments `entry.hits`, counts in the sketch and refreshes
   * recency; the first hit of a prefetched entry moves it out of the prefetch region. An entry whose `expiresAt`
   * has passed is a miss, with no hit, recency or promotion; `includeExpired` only makes the miss return it (the
   * cache reloads it, and may serve it within grace). It is kept either way.
   */
  get(key: string, includeExpired = false): Entry<V> | undefined {
    const slot = this.table.findAgain(key); // the Cache asks `hit` first: a key it could not serve is not hashed twice
    if (slot < 0) {
      this.#misses++;
      if (this.#prefetch.recordMiss(key, this.#averageEntryBytes(), this.table.used)) this.#onDisplacedMiss?.();
      // A share the miss shrank is restored at once, not at the sample's end (#endSample trims the region).
      if (this.#main.recordMiss(hashKey(key)) || this.#prefetch.bytes > this.#prefetch.maxBytes) this.#endSample();
      return undefined;
    }
    const table = this.table;
    const expiresAt = table.expiresAt(slot);
    if (expiresAt !== Infinity && this.#clock.now() >= expiresAt) {
      this.#misses++;
      if (this.#main.recordMiss(table.hash(slot))) this.#endSample();
      return includeExpired ? table.entry(slot) : undefined;
    }
    table.countHit(slot);
    this.#hits++;
    const entry = table.entry(slot); // before the slot moves: a first use may evict it (a big entry)
    if (table.queue(slot) === PREFETCH) this.#usePrefetch(slot);
    else if (this.#main.recordHit(slot)) this.#endSample();
    return entry;
  }

  /**
   * The repeated-hit path, which builds no Entry: when `key` holds a fresh entry that is not an unused prefetch, counts
   * a hit as `get` does and returns `answer(key, value, version)` with the entry's own key string; otherwise undefined,
   * with no side effect (ask `get`, which also answers stale entries and first uses).
   */
  hit<R>(key: string, answer: (key: string, value: V, version: number) => R): R | undefined {
    const slot = this.table.find(key);
    if (slot < 0) return undefined;
    const table = this.table;
    if (table.isUnused(slot)) return undefined;
    const until = table.freshUntil(slot);
    if (until !== Infinity && this.#clock.now() >= until) return undefined;
    table.countUsedHit(slot);
    this.#hits++;
    const result = answer(table.key(slot), table.value(slot), table.version(slot));
    if (this.#main.recordHit(slot)) this.#endSample();
    return result;
  }

  /**
   * Marks `key` as predicted to be reused soon: moves it to the most recent end of its region without counting a
   * read (no hit, no sketch count), so eviction weighs the prediction. Returns false when `key` is not held.
   */
  touch(key: string): boolean {
    return this.touchIfFresh(key, -Infinity) === true;
  }

  /**
   * `touch` for an entry still fresh at `now` (`now < staleAt`): true when touched, false when held but stale (left as
   * it is), undefined when not held. One lookup where `peek` then `touch` take two (the scheduler asks it of each key).
   */
  touchIfFresh(key: string, now: number): boolean | undefined {
    const slot = this.table.find(key);
    if (slot < 0) return undefined;
    if (!(now < this.table.staleAt(slot))) return false;
    if (this.table.queue(slot) === PREFETCH) this.#prefetch.touch(slot);
    else this.#main.touch(slot);
    return true;
  }

  /** Entries for `keys`, aligned with `keys`; each lookup counts as a `get`. */
  getMany(keys: readonly string[]): Array<Entry<V> | undefined> {
    return keys.map((key) => this.get(key));
  }

  /** Sketch estimate (0-15) of how often `key` was accessed recently. */
  frequency(key: string): number {
    const slot = this.table.find(key);
    return this.#main.frequency(slot < 0 ? hashKey(key) : this.table.hash(slot));
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
    const table = this.table;
    const old = table.findAgain(key);
    let held: boolean;
    if (!(size >= 0 && size <= this.#maxBytes) || (old >= 0 && entry.version < table.version(old))) {
      this.#notify(entry, 'rejected');
      held = false;
    } else if (old >= 0 && table.queue(old) !== PREFETCH) {
      // Already a demand entry (a prefetch of it only refreshes the value): replace in place.
      const previousSize = table.size(old);
      this.#notifySlot(old, 'replaced');
      table.setEntry(old, entry);
      this.#main.resized(old, size - previousSize);
      this.#evict(old);
      held = this.table.find(key) === old;
    } else {
      let slot = old;
      if (slot < 0) {
        slot = table.allocate(entry, hashKey(key));
        this.#main.ensureCapacity(table.used);
      } else {
        this.#prefetch.remove(slot);
        this.#notifySlot(slot, 'replaced');
        table.setEntry(slot, entry);
      }
      held = isUnusedPrefetch(entry) ? this.#addPrefetch(slot) : this.#addDemand(slot);
    }
    this.#peakBytes = Math.max(this.#peakBytes, this.bytes);
    this.#deliver();
    return held;
  }

  /** Removes `key` (reported 'deleted'); true when something was removed. */
  delete(key: string): boolean {
    const slot = this.table.find(key);
    if (slot < 0) return false;
    this.#notifySlot(slot, 'deleted');
    if (this.table.queue(slot) === PREFETCH) this.#prefetch.remove(slot);
    else this.#main.remove(slot);
    this.table.release(slot);
    this.#deliver();
    return true;
  }

  /** Removes every entry (each reported 'deleted', in no particular order). The sketch keeps its counts, the window's climber its state. */
  clear(): void {
    const removed = this.#removals === undefined ? [] : [...this.entries()];
    this.table.clear();
    this.#main.clear();
    this.#prefetch.clear();
    for (const entry of removed) this.#notify(entry, 'deleted');
    this.#deliver();
  }

  /** Counters, with the regions' sizes in `extra`. */
  stats(): TierStats {
    return {
      name: this.name,
      entries: this.table.used,
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
    this.#prefetch.demandStored(this.table.size(slot));
    const ended = this.#main.recordHit(slot);
    this.#evict();
    if (ended) this.#endSample();
    this.#deliver();
  }

  /** Adds a slot (in no list) to the window and restores the bounds. */
  #addDemand(slot: number): boolean {
    const key = this.table.key(slot);
    this.#main.add(slot);
    this.#prefetch.demandStored(this.table.size(slot));
    this.#evict(slot);
    return this.table.find(key) === slot;
  }

  /** Adds a slot (in no list) to the prefetch region, making room among prefetches, then in demand's lent room. */
  #addPrefetch(slot: number): boolean {
    const table = this.table;
    const key = table.key(slot);
    const size = table.size(slot);
    if (size > this.#prefetch.maxBytes) {
      // No ghost: ghosts are prefetches the region held and let go; a size refusal is not one (and fraction 0 must not grow).
      this.#notifySlot(slot, 'rejected');
      this.table.release(slot);
      return false;
    }
    // The length check stops the loop on an empty region whatever float residue fractional sizes left in its count.
    while (this.#prefetch.bytes + size > this.#prefetch.maxBytes && this.#prefetch.length > 0) this.#evictPrefetch();
    this.#prefetch.add(slot);
    this.#evict();
    return this.table.find(key) === slot;
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
    const demandBytes = slot < 0 ? 0 : this.table.size(slot);
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
    const table = this.table;
    const key = table.key(slot);
    const wasUnusedPrefetch = table.queue(slot) === PREFETCH && table.hits(slot) === 0;
    const expiresAt = table.expiresAt(slot);
    const expired = expiresAt !== Infinity && this.#clock.now() >= expiresAt;
    this.#notifySlot(slot, expired ? 'expired' : 'evicted');
    this.table.release(slot);
    this.#evictions++;
    if (wasUnusedPrefetch) {
      this.#prefetchEvictedUnused++;
      // A prefetch that outlived its prediction did not die for want of room: its ghost would grow the region.
      if (remember) this.#prefetch.recordWaste(key);
    } else {
      this.#prefetch.recordDemandEviction(key);
    }
  }

  /** Mean size of the entries held (1 when empty): the step of a prefetch-share adjustment. */
  #averageEntryBytes(): number {
    const size = this.table.used;
    return size === 0 ? 1 : Math.max(1, Math.round(this.bytes / size));
  }

  /** A sample period ended (the window already adapted), or a miss shrank the share: restore the prefetch region's bound. */
  #endSample(): void {
    while (this.#prefetch.bytes > this.#prefetch.maxBytes && this.#prefetch.length > 0) this.#evictPrefetch();
    this.#deliver();
  }

  #notify(entry: Entry<V>, cause: RemovalCause): void {
    this.#removals?.push(entry, cause);
  }

  /** `#notify` of the slot's entry, built only when someone listens. */
  #notifySlot(slot: number, cause: RemovalCause): void {
    this.#removals?.push(this.table.entry(slot), cause);
  }

  /** Ends a public operation: `onRemoval` hears of the removals it made (removal-queue.ts). */
  #deliver(): void {
    this.#removals?.deliver();
  }
}

function isUnusedPrefetch(entry: Entry): boolean {
  return entry.source === 'prefetch' && entry.hits === 0;
}
