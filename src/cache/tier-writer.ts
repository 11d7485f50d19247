/**
 * TierWriter: makes entries and places them in the local tiers — the memory tier, the shadow catalogs that reference
 * them, and (as a copy) the shared tier.
 *
 * Why apart from Cache: a load that completes (a miss, a refresh, a prefetch) and a caller's `set` make entries the
 * same way — times from the clock, expiry and staleness from the options, the prediction a prefetch carried — and
 * land them in the same three places; one mechanism does both, the Cache only decides when. A loaded value larger
 * than `maxEntryBytes` is served to its readers but not kept (counted in `oversize`).
 */
import type { Clock } from '../clock.ts';
import type { AbsentKeys } from './absent-keys.ts';
import type { ResolvedCacheOptions } from './cache-options.ts';
import { createEntry, noTags, restoreEntry, type Entry } from './entry.ts';
import type { Flight, LoadOutcome } from './flight.ts';
import type { MemoryTier } from './memory-tier.ts';
import type { ShadowCatalogs } from './shadow-catalog.ts';
import type { SharedTierWriter } from './shared-tier-writer.ts';
import type { VersionFloors } from './version-floors.ts';

/** The places a key can live locally: what a write reaches (TierWriter, CacheWrites). */
export type LocalStores<V> = {
  readonly memory: MemoryTier<V>;
  readonly shadow: ShadowCatalogs<V> | undefined;
  readonly shared: SharedTierWriter<V> | undefined;
  /** Negative answers remembered (absentTtlMs), or undefined when off. */
  readonly absent: AbsentKeys | undefined;
  /** Versions the deletes and change notices applied here made stale (version-floors.ts). */
  readonly floors: VersionFloors;
};

export type TierWriterOptions<V> = Pick<ResolvedCacheOptions<V>, 'sizeOf' | 'maxEntryBytes' | 'ttlMs' | 'staleAfterMs'> & LocalStores<V> & {
  readonly clock: Clock;
};

export class TierWriter<V> {
  readonly #o: TierWriterOptions<V>;
  #oversize = 0;
  #belowFloor = 0;

  constructor(options: TierWriterOptions<V>) {
    this.#o = options;
  }

  /** Loaded values too large to keep (served, not stored). */
  get oversize(): number {
    return this.#oversize;
  }

  /** Loads served but not cached because a change notice applied here had made them stale. */
  get belowFloor(): number {
    return this.#belowFloor;
  }

  /** A fresh entry made now: stale after min(staleAfterMs, ttlMs), expired after `ttlMs`; a prediction makes it prefetched. */
  entry(key: string, value: V, version: number, sizeBytes: number, prediction?: Flight<V>['prediction'], ttlMs = this.#o.ttlMs, tags: readonly string[] = noTags): Entry<V> {
    return createEntry({ key, value, version, sizeBytes, now: this.#o.clock.now(), ttlMs, staleAfterMs: this.#o.staleAfterMs, prediction, tags });
  }

  /** Stores what a flight loaded (the Loader's `onLoaded`, before any waiter resumes). */
  storeLoaded(flight: Flight<V>, outcome: LoadOutcome<V>): void {
    const { memory, shadow, shared } = this.#o;
    const key = flight.key;
    if (outcome.from === 'none') {
      // An absence carries no version, so an entry held here goes (a row deleted at the origin must stop being
      // served), but only a key nothing here held is remembered absent: one written here that the origin has not
      // seen yet is asked for again on its next read.
      const wasHeld = memory.delete(key);
      shadow?.drop(key);
      if (!wasHeld) this.#o.absent?.add(key, this.#o.clock.now());
      return;
    }
    this.#o.absent?.delete(key);
    const p = flight.purpose === 'prefetch' ? flight.prediction : undefined;
    // A prefetch a read joined is used already: stored with its first hit, it goes where demand entries go (not
    // into the prefetch region, whose share could refuse it while the read that waited for it is served).
    const hits = p !== undefined && flight.isDemandJoined ? 1 : 0;
    if (outcome.from === 'l2') {
      const e = outcome.entry;
      // Not a spread: the stored entry's times are getters. hits start over, as for any entry newly stored here.
      const { key: k, value, version, sizeBytes, createdAt, staleAt, expiresAt, tags } = e;
      const stored = restoreEntry({ key: k, value, version, sizeBytes, createdAt, staleAt, expiresAt, tags, prediction: p, hits });
      memory.set(stored);
      shadow?.stored(stored, p);
      return;
    }
    const { value, version } = outcome.record;
    // Older than a change this cache applied (the write-back reader's pending write, answering alone for a slow
    // origin, can be): served to this read, never cached, or it would be served until its TTL with no notice to come.
    if (this.#o.floors.isBelow(key, version)) {
      this.#belowFloor++;
      return;
    }
    // What the key holds here: the memory tier's entry, or the one a shadow catalog kept after the tier evicted it
    // (its version, tags and TTL count as much: a refresh through a catalog must keep them too).
    const held = memory.peek(key) ?? shadow?.held(key);
    const now = this.#o.clock.now();
    if (held !== undefined && held.version > version && now < held.expiresAt) {
      // The origin is behind a newer version held here (a local set, a write not flushed yet): last writer by version
      // keeps it, and it counts as refreshed until its expiry, or every read past its stale time would start another
      // load. Its expiry stays: at `ttlMs` it goes, and the origin's record is stored then (below).
      const renewed = this.#renewed(held, now);
      memory.set(renewed);
      shadow?.stored(renewed, undefined); // catalogs naming the key serve the renewed copy, not the stale one
      return;
    }
    // An expired entry is gone whatever its version: the origin's record replaces it (MemoryTier.set lets it).
    if (held !== undefined && held.version > version) memory.delete(key);
    const sizeBytes = this.#o.sizeOf(value, key);
    if (sizeBytes > this.#o.maxEntryBytes) {
      this.#oversize++;
      return;
    }
    // A refresh keeps what the application gave the key when it wrote it: its tags (an invalidation by tag must still
    // find it) and its time to live.
    const ttlMs = held === undefined ? this.#o.ttlMs : held.expiresAt - held.createdAt;
    const entry = this.entry(key, value, version, sizeBytes, p, ttlMs > 0 ? ttlMs : this.#o.ttlMs, held?.tags);
    if (hits !== 0) entry.hits = hits;
    memory.set(entry);
    shadow?.stored(entry, p);
    // The shared tier is a copy; failing to write it never fails a read (the writer repairs the key later).
    if (shared !== undefined) void Promise.resolve().then(() => shared.set(entry)).catch(() => {});
  }

  /** `held` fresh again from `now` for its stale period, never past its expiry (same value, version, hits, tags, prediction). */
  #renewed(held: Entry<V>, now: number): Entry<V> {
    const { key, value, version, sizeBytes, createdAt, staleAt, expiresAt, tags, hits } = held;
    const prediction = held.source === 'prefetch' ? { probability: held.probability, source: held.predictedBy, ctx: held.predictedFor } : undefined;
    return restoreEntry({ key, value, version, sizeBytes, tags, hits, prediction, createdAt, staleAt: Math.min(now + (staleAt - createdAt), expiresAt), expiresAt });
  }

  /**
   * Stores a caller's entry in every tier; resolves, once the shared tier has it (or refused it), with the entry as
   * written: `entry`, or the newer one held here that refused it. With `isNewest` (a write that named no version)
   * the shared tier may store it above a copy another node wrote there: the entry written then carries that version,
   * and so do the copies held here, unless a later write or delete replaced them meanwhile.
   */
  async put(entry: Entry<V>, isNewest = false): Promise<Entry<V>> {
    const { memory, shadow, shared } = this.#o;
    memory.set(entry);
    // A newer version held wins (MemoryTier.set refused this one): the catalogs must not take it either, nor a
    // user whose prediction waited for the key (pending-references.ts) be served it.
    const held = memory.peek(entry.key);
    if (held !== undefined && held.version > entry.version) return held;
    shadow?.stored(entry, undefined);
    if (!isNewest) {
      await shared?.set(entry);
      return entry;
    }
    const version = await shared?.setNewest(entry);
    if (version === undefined) return entry;
    const { key, value, sizeBytes, createdAt, staleAt, expiresAt, tags, hits } = entry;
    const above = restoreEntry({ key, value, version, sizeBytes, tags, hits, createdAt, staleAt, expiresAt, prediction: undefined });
    if (memory.holds(entry)) memory.set(above);
    if (shadow !== undefined && shadow.held(key) === entry) shadow.stored(above, undefined);
    return above;
  }
}
