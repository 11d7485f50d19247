/**
 * CacheWrites: the Cache's write path — `set`, `delete` and `invalidate` across the memory tier, the shadow catalogs,
 * the shared tier and the loads in flight.
 *
 * Why apart from Cache: a write must reach every place a key can live (and cancel a load that would bring back the
 * value it replaces) in one order, last writer winning by version; the read path only needs to know the places
 * exist. Keeping the writes here keeps that order in one mechanism.
 */
import { InvalidOptionError, isPrescientError, PrescientError, ValueTooLargeError } from '../errors.ts';
import { nonNegativeNumber, versionOption } from '../options.ts';
import type { ResolvedCacheOptions } from './cache-options.ts';
import type { DeleteOptions, InvalidateSelector, SetOptions } from './cache-results.ts';
import { checkKey, type Entry } from './entry.ts';
import type { Loader } from './loader.ts';
import type { LocalStores, TierWriter } from './tier-writer.ts';
import { WriteBusLink, type WriteBusStats } from './write-bus-link.ts';
import type { KeyChange, WriteBus, WriteNotice } from './write-bus.ts';
import { applyNotice, heldVersion } from './notice-receiver.ts';
import { checkDeleteOptions, checkSelector, checkSetOptions } from './write-arguments.ts';

/** Keys `invalidate` deletes at once. */
const invalidateBatch = 64;

/** What the write path reaches. */
export type CacheWritesOptions<V> = LocalStores<V> & {
  readonly options: Pick<ResolvedCacheOptions<V>, 'maxKeyLength' | 'sizeOf' | 'maxEntryBytes' | 'clock'>;
  readonly loader: Loader<V>;
  readonly writer: TierWriter<V>;
  /** The other nodes' end (the write bus), when the cache has one: told of every write once the shared tier holds it. */
  readonly bus: WriteBus | undefined;
  /** Where the bus's faults go (a publish or subscribe that failed, a notice that could not be read). */
  readonly onBusFault: (error: unknown) => void;
};

/**
 * The version a `set` without one takes: above `held`, at least `floor`.
 * @throws PrescientError ERR_INVALID_VALUE when that is not a safe integer (a version held at 2^53 - 1 or beyond,
 *   NaN): past 2^53 `held + 1 === held`, and a write at the held version would lose to it or repeat it
 */
function nextVersion(key: string, held: number, floor: number): number {
  const version = Math.max(held + 1, floor);
  if (Number.isSafeInteger(version)) return version;
  throw new PrescientError(
    'ERR_INVALID_VALUE',
    `Cannot write key ${JSON.stringify(key)}: it holds version ${Math.max(held, floor)}, and no version above it is a safe integer`,
  );
}

/** The rejection of a write made after `close()`. */
function closedError(): PrescientError {
  return new PrescientError('ERR_CLOSED', 'The cache is closed');
}

export class CacheWrites<V> {
  readonly #w: CacheWritesOptions<V>;
  readonly #link: WriteBusLink | undefined;
  /** Writes begun and not settled: `close` waits for them, so what they stored is announced. */
  readonly #inProgress = new Set<Promise<unknown>>();
  #isClosed = false;

  constructor(options: CacheWritesOptions<V>) {
    this.#w = options;
    const { bus } = options;
    const link = bus && new WriteBusLink({ bus, clock: options.options.clock, apply: (notice) => this.applyNotice(notice), onFault: options.onBusFault, onSentLate: (notice) => this.#deleteAgain(notice) });
    this.#link = link;
    if (link === undefined) return;
    // The shared tier was cleared after a listing failed (or lost writes overflowed): the other nodes may have read,
    // from it, copies an invalidation announced meanwhile was meant to remove. They forget what they hold.
    options.shared?.whenCleared(() => void link.announce({ all: true }));
    // A repair deleted stale shared copies of writes the tier lost: the other nodes may hold copies read from it after
    // the first notice's floors ended. The deletes are announced again (up to the version deleted).
    const again = (r: { readonly key: string; readonly version: number }): KeyChange => (Number.isFinite(r.version) ? { key: r.key, upTo: r.version } : { key: r.key });
    options.shared?.whenRepaired((repaired) => void link.announce({ keys: repaired.map(again) }));
  }

  /**
   * A delete announced late (the bus refused its notice first): a load another node began before it may have landed
   * before the notice and stored the deleted row in the shared tier, where every node would read it back once the
   * delete windows end. The shared copies go again, up to the version the delete covered, now that the notice is out
   * (a load landing later is discarded by it); a newer write made meanwhile at a version as low goes too (reloaded).
   */
  #deleteAgain(notice: WriteNotice): void {
    const shared = this.#w.shared;
    if (shared === undefined) return;
    for (const change of notice.keys ?? []) {
      if (change.below !== undefined) continue; // a write's notice
      const max = change.upTo ?? (change.under === undefined ? Infinity : change.under - 1);
      if (max >= 0) void shared.delete(change.key, max).catch(this.#w.onBusFault);
    }
  }

  /** Resolves once the write bus listens (at once without one), or once the cache closed. */
  whenSubscribed(): Promise<void> {
    return this.#link?.whenSubscribed() ?? Promise.resolve();
  }

  /** The write bus's counters; undefined without one. */
  busStats(): WriteBusStats | undefined {
    return this.#link?.stats();
  }

  /**
   * Refuses new writes (ERR_CLOSED), waits for the ones in progress — each bounded by the shared tier's command
   * deadline and the bus's publish timeout — so their notices go out, then stops listening to the write bus.
   */
  async close(): Promise<void> {
    this.#isClosed = true;
    while (this.#inProgress.size > 0) await Promise.allSettled([...this.#inProgress]);
    await this.#link?.close();
  }

  /** `work` (a write begun now), tracked until it settles; rejects with ERR_CLOSED instead once closed. */
  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#isClosed) return Promise.reject(closedError());
    const running = work();
    this.#inProgress.add(running);
    const settled = (): void => void this.#inProgress.delete(running);
    running.then(settled, settled);
    return running;
  }

  /** See `Cache.set`. Rejects with ERR_CLOSED after `close()`. */
  set(key: string, value: V, options: SetOptions): Promise<Entry<V>> {
    return this.#track(() => this.#set(key, value, options));
  }

  async #set(key: string, value: V, options: SetOptions): Promise<Entry<V>> {
    const { options: o, memory, loader, writer } = this.#w;
    checkKey(key, o.maxKeyLength);
    checkSetOptions(options);
    this.#w.absent?.delete(key); // written, so no longer known absent, even if the value is refused below
    const sizeBytes = o.sizeOf(value, key);
    if (sizeBytes > o.maxEntryBytes) throw new ValueTooLargeError(key, sizeBytes, o.maxEntryBytes);
    if (options.ttlMs !== undefined && !(nonNegativeNumber('ttlMs', options.ttlMs, 0, true) > 0)) throw new InvalidOptionError('ttlMs', 'a positive number or Infinity', options.ttlMs);
    // One above every version held here: a catalog may still name a copy the memory tier evicted.
    const cataloged = this.#w.shadow?.held(key);
    const held = Math.max(memory.versionOf(key) ?? 0, cataloged?.version ?? 0);
    // ...and not below a deleted version's floor, or the shared tier's copy of this write would not be read back here.
    const version = options.version === undefined ? nextVersion(key, held, this.#w.floors.floorOf(key)) : versionOption('version', options.version);
    // A newer unexpired copy only a catalog holds wins too, as one in the memory tier does (MemoryTier.set refuses
    // an older version): storing this one would serve it to other readers after the catalog's newer one was served.
    if (cataloged !== undefined && cataloged.version > version && o.clock.now() < cataloged.expiresAt) return cataloged;
    loader.discard(key);
    const entry = writer.entry(key, value, version, sizeBytes, undefined, options.ttlMs, options.tags);
    const written = await writer.put(entry, options.version === undefined);
    if (this.#link !== undefined) await this.#link.announceKey({ key, below: written.version });
    // A newer version held here since wins (last writer by version): say so.
    const current = memory.peek(key);
    return current !== undefined && current.version > written.version ? current : written;
  }

  /** See `Cache.delete`. Rejects with ERR_CLOSED after `close()`. */
  delete(key: string, options: DeleteOptions): Promise<boolean> {
    return this.#track(async () => {
      checkDeleteOptions(options);
      return this.#delete(key, options, options.announce !== false);
    });
  }

  async #delete(key: string, options: DeleteOptions, isAnnounced: boolean): Promise<boolean> {
    checkKey(key, this.#w.options.maxKeyLength);
    const below = options.below === undefined ? undefined : versionOption('below', options.below);
    if (below !== undefined && options.maxVersion !== undefined) throw new InvalidOptionError('below', 'absent when `maxVersion` is given', below);
    // `below` v removes copies up to v - 1 (versions are integers), and its floor keeps v readable: the changed row.
    const max = below === undefined ? versionOption('maxVersion', options.maxVersion, Infinity, true) : below - 1;
    const held = heldVersion(this.#w, key);
    const wasLocal = this.#dropLocal(key, max, held, below ?? max);
    const wasShared = max >= 0 && ((await this.#w.shared?.delete(key, max)) ?? false);
    // The other nodes take the floor this node keeps: `below` itself for a delete below it (not `upTo: below - 1`,
    // whose floor is one lower and let them cache the deleted version below - 1).
    if (isAnnounced && this.#link !== undefined && max >= 0) await this.#link.announceKey(max === Infinity ? { key, held } : below !== undefined ? { key, under: below } : { key, upTo: max });
    return wasLocal || wasShared;
  }

  /**
   * Removes `key`'s local copies (memory tier, shadow catalogs) up to version `max` (Infinity: every one), where
   * versions up to `held` are held (heldVersion); discards a load in flight and forgets a known absence; leaves a
   * version floor (copies below `floor` are not cached for a while) so an older copy handed over meanwhile is not
   * cached. True when a copy went.
   */
  #dropLocal(key: string, max: number, held: number, floor: number): boolean {
    const { memory, loader, shadow } = this.#w;
    loader.discard(key);
    this.#w.absent?.delete(key); // its absence is no longer known either
    const inMemory = memory.versionOf(key) ?? 0;
    // Every version goes (a hard DELETE, or the application's delete): the shared tier's copies up to the one held
    // here are the deleted data, whoever writes one back (a change notice with a version sets its own floor).
    if (max === Infinity) this.#w.floors.noteDeleted(key, held);
    else this.#w.floors.noteChange(key, floor);
    const wasHeld = inMemory <= max && memory.delete(key);
    return shadow?.drop(key, max) === true || wasHeld;
  }

  /** Applies another node's notice to the local copies (see applyNotice in notice-receiver.ts). */
  applyNotice(notice: WriteNotice): number {
    return applyNotice(this.#w, notice);
  }

  /** See `Cache.invalidate`. Rejects with ERR_CLOSED after `close()`. */
  invalidate(selector: InvalidateSelector): Promise<number> {
    return this.#track(() => this.#invalidate(selector));
  }

  async #invalidate(selector: InvalidateSelector): Promise<number> {
    const { memory, loader, shadow, shared } = this.#w;
    checkSelector(selector, this.#w.options.maxKeyLength);
    const keys = new Set(selector.keys ?? []);
    const { prefix, tag } = selector;
    if (prefix !== undefined || tag !== undefined) {
      for (const { key } of memory.matching(prefix, tag)) keys.add(key);
      for (const key of [...(shadow?.keysMatching(prefix, tag) ?? []), ...loader.keysStartingWith(prefix)]) keys.add(key);
      if (prefix !== undefined) this.#w.absent?.deleteStartingWith(prefix);
      // Copies in the shared tier this node never held (other nodes' writes, or entries this node evicted): found by
      // a scan of the tier for a prefix, by the tier's tag index for a tag.
      if (prefix !== undefined && shared !== undefined) for (const key of await shared.keysWithPrefix(prefix)) keys.add(key);
      if (tag !== undefined && shared !== undefined) for (const key of await shared.keysWithTag(tag)) keys.add(key);
    }
    // Deletes of different keys are independent: a few dozen at a time, so a prefix over many shared copies costs
    // a round trip per batch rather than per key.
    const removeOne = async (key: string): Promise<number> => {
      try {
        return (await this.#delete(key, {}, false)) ? 1 : 0;
      } catch (error) {
        // A key another node stored that this one refuses (longer than its maxKeyLength): it cannot be held here.
        if (!isPrescientError(error, 'ERR_INVALID_KEY')) throw error;
        return 0;
      }
    };
    const all = [...keys];
    // The keys named, and those found by tag outside the prefix, with what they held here (taken before the deletes
    // below), for the other nodes' floors: a receiver ends its floors on them as the deletes here do (the key's next
    // write may take a lower version; a floor left from an earlier write would refuse it for 30 s). A prefix's keys a
    // receiver finds itself.
    const explicit = new Set(selector.keys);
    const isNamed = (key: string): boolean => explicit.has(key) || (tag !== undefined && !(prefix !== undefined && key.startsWith(prefix)));
    const named = this.#link === undefined ? [] : all.filter(isNamed).map((key): KeyChange => ({ key, held: heldVersion(this.#w, key) }));
    let removed = 0;
    for (let i = 0; i < all.length; i += invalidateBatch) {
      for (const n of await Promise.all(all.slice(i, i + invalidateBatch).map(removeOne))) removed += n;
    }
    // The other nodes expand the selector over what they hold themselves (the shared tier is done).
    if (this.#link !== undefined) await this.#link.announce({ keys: named, prefix, tag });
    return removed;
  }
}
