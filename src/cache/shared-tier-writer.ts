/**
 * SharedTierWriter: the cache's writes to its shared tier (Redis), and the repair of keys whose write was lost.
 *
 * Why: the shared tier is a copy, so a failed write never fails a read or a write of the cache — but a failed write
 * is not harmless either. If `set(k, v2)` or an invalidation of `k` fails while Redis is unreachable, Redis keeps the
 * older `v1`, and every node would keep serving `v1` from it for the rest of its TTL, after `v2` was acknowledged.
 * So a key whose shared write was lost becomes *suspect*: this node stops trusting the shared tier's copy of it
 * (reads go to the origin), and a repair pass on the Clock deletes the stale copy from the shared tier once it
 * answers again (only versions up to the one this node knows of, so a newer write by another node survives).
 * A write the tier *declined* (too large, already expired) leaves an older copy behind as well, so the older
 * versions are removed at once.
 *
 * Telling "declined" from "lost" needs the tier's strict methods (`setStrict`, `deleteStrict`, see Tier); a tier
 * without them (the memory tier, a test double) is written as before and never repaired. The suspect set is bounded;
 * when it overflows, or a listing of the tier (an invalidation's prefix or tag) fails, the whole shared tier is
 * distrusted until a `clear()` of it succeeds; then `whenCleared`'s listener runs (the cache announces `all` on its
 * write bus: the other nodes may have read copies from the tier meanwhile that the invalidation was meant to remove).
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { Entry } from './entry.ts';
import type { Tier } from './tier.ts';
import type { VersionFloors } from './version-floors.ts';

/** Keys whose shared copy is distrusted at most; past it the whole tier is (a clear repairs it). */
const maxSuspects = 10_000;
/** Wait between repair passes while keys are suspect, in ms: a restart of Redis takes about this long to notice. */
const repairIntervalMs = 1_000;
/** Keys repaired per pass, so a long outage does not turn into one burst of commands. */
const repairBatch = 500;

export type SharedTierWriterStats = {
  /** Keys whose shared copy is distrusted now. */
  readonly suspectKeys: number;
  /** True while the whole shared tier is distrusted (the suspect set overflowed, a listing failed, or its cached replies could not be dropped). */
  readonly isDistrusted: boolean;
  /** Stale copies removed by the repair pass. */
  readonly repaired: number;
  /** Keys with a live version floor or delete window (version-floors.ts): their older shared copies are not read. */
  readonly floorKeys: number;
  /** Shared copies not read because of such a floor or window. */
  readonly belowFloor: number;
  /** Floors and delete windows forgotten before their 30 s because `maxFloorKeys` keys had one (oldest first). */
  readonly floorsEvicted: number;
};

export class SharedTierWriter<V> {
  readonly #tier: Tier<V>;
  readonly #clock: Clock;
  readonly #floors: VersionFloors;
  /** key → the highest version whose shared copy may be stale (Infinity: any version). */
  readonly #suspects = new Map<string, number>();
  #belowFloor = 0;
  #isDistrusted = false;
  /** True after the tier failed to drop its cached replies: they may be stale until a full drop succeeds. */
  #isReplyCacheSuspect = false;
  #repaired = 0;
  #timer: TimerHandle | undefined;
  #isRepairing = false;
  #isClosed = false;
  #onCleared: () => void = () => {};
  #onRepaired: (repaired: ReadonlyArray<{ readonly key: string; readonly version: number }>) => void = () => {};

  /**
   * @param floors the cache's version floors: a shared copy below its key's floor (older than a change notice this
   *   node applied; another node can write one back after it) is not read (`isCurrent`).
   */
  constructor(tier: Tier<V>, clock: Clock, floors: VersionFloors) {
    this.#tier = tier;
    this.#clock = clock;
    this.#floors = floors;
  }

  /** True when the tier can list the keys written with a tag (`Tier.keysWithTag`): an invalidation by tag finds them all. */
  get listsTags(): boolean {
    return this.#tier.keysWithTag !== undefined;
  }

  /** Calls `listener` each time a repair pass has cleared the distrusted tier (see the class comment). */
  whenCleared(listener: () => void): void {
    this.#onCleared = listener;
  }

  /**
   * Calls `listener` after a repair pass deleted stale shared copies, with each key and the version it deleted up to
   * (Infinity: every version). Other nodes may have read those copies from the tier meanwhile (after the floors the
   * first notice gave them ended): the cache announces the deletes again, so they drop them.
   */
  whenRepaired(listener: (repaired: ReadonlyArray<{ readonly key: string; readonly version: number }>) => void): void {
    this.#onRepaired = listener;
  }

  /** False when the shared tier's copy of `key` may be older than a write this node made: read the origin instead. */
  isTrusted(key: string): boolean {
    return !this.#isDistrusted && !this.#isReplyCacheSuspect && (this.#suspects.size === 0 || !this.#suspects.has(key));
  }

  /**
   * Whether a copy read from the shared tier may be served: its key is trusted, and it is not older than a change
   * notice this node applied for the key (then the origin is read instead).
   */
  isCurrent(entry: Entry<V>): boolean {
    if (!this.isTrusted(entry.key)) return false;
    if (!this.#floors.isBelowForShared(entry.key, entry.version)) return true;
    this.#belowFloor++;
    return false;
  }

  /** Writes `entry` to the shared tier; a lost write makes the key suspect, a declined one removes older copies. */
  async set(entry: Entry<V>): Promise<void> {
    await this.#write(entry, false);
  }

  /**
   * Writes `entry` as the newest version (`Tier.setNewest`: above a copy another node wrote), as `set` does
   * otherwise; resolves with the version the tier stored it at when that is above `entry.version`.
   */
  async setNewest(entry: Entry<V>): Promise<number | undefined> {
    const stored = await this.#write(entry, true);
    return stored !== undefined && stored > entry.version ? stored : undefined;
  }

  async #write(entry: Entry<V>, isNewest: boolean): Promise<number | undefined> {
    const tier = this.#tier;
    // Repair needs both strict methods (the contract makes each optional): without them, write as before.
    if (tier.setStrict === undefined || tier.deleteStrict === undefined) {
      await tier.set(entry);
      return undefined;
    }
    const useNewest = isNewest && tier.setNewest !== undefined;
    try {
      const stored = useNewest ? await tier.setNewest!(entry) : (await tier.setStrict(entry)) ? entry.version : undefined;
      if (stored !== undefined) {
        // Stored: no copy older than this one is left, but a lost newer write keeps the key suspect. Stored as the
        // newest, it went above whatever an earlier lost command on this connection left (commands run in order).
        if (useNewest || (this.#suspects.get(entry.key) ?? 0) <= stored) this.#suspects.delete(entry.key);
        return stored;
      }
      // Declined: a newer version held (fine), or too large / expired, which would leave an older copy behind (as
      // the newest, every copy held is older).
      await tier.deleteStrict(entry.key, useNewest ? undefined : entry.version - 1);
    } catch {
      this.#suspect(entry.key, useNewest ? Infinity : entry.version); // as the newest, every copy there is older
    }
    return undefined;
  }

  /**
   * Removes `key` from the shared tier when the copy there is at most `maxVersion` (a newer copy, written by another
   * node, stays); true when a copy was removed. A lost delete makes the key suspect up to `maxVersion`, so the
   * repair removes the same copies. A tier without `deleteStrict` removes every version.
   * @param maxVersion @default Infinity (every version)
   */
  async delete(key: string, maxVersion = Infinity): Promise<boolean> {
    const tier = this.#tier;
    if (tier.setStrict === undefined || tier.deleteStrict === undefined) return tier.delete(key);
    try {
      const removed = await tier.deleteStrict(key, Number.isFinite(maxVersion) ? maxVersion : undefined);
      // A suspect newer than this delete reached may still be stale in the tier: it stays suspect.
      if ((this.#suspects.get(key) ?? 0) <= maxVersion) this.#suspects.delete(key);
      return removed;
    } catch {
      this.#suspect(key, maxVersion);
      return false;
    }
  }

  /**
   * Keys of the shared tier that start with `prefix` (for `invalidate({ prefix })`, so copies other nodes wrote go
   * too); none from a tier that cannot list them. When the tier does not answer, its copies under the prefix cannot
   * be found: the whole tier is distrusted until a `clear()` of it succeeds, as when the suspect keys overflow.
   */
  keysWithPrefix(prefix: string): Promise<string[]> {
    return this.#list(this.#tier.keysWithPrefix, prefix);
  }

  /** Keys of the shared tier written with `tag` (for `invalidate({ tag })`); as `keysWithPrefix` when the tier fails. */
  keysWithTag(tag: string): Promise<string[]> {
    return this.#list(this.#tier.keysWithTag, tag);
  }

  /** `listing` of the tier called with `of`: none when the tier has no such method; distrusts the tier when it fails. */
  async #list(listing: ((of: string) => Promise<string[]>) | undefined, of: string): Promise<string[]> {
    if (listing === undefined) return [];
    try {
      return await listing.call(this.#tier, of);
    } catch {
      this.#distrust();
      return [];
    }
  }

  /**
   * Drops the tier's cached replies of `keys` (all when undefined), when it keeps any (`Tier.dropCachedReplies`). When
   * that throws, the replies it kept may answer a copy the notice removed, so no key of the tier is trusted (reads go
   * to the origin) until a repair pass drops all of them; the error is rethrown for the caller to report.
   */
  dropCachedReplies(keys?: readonly string[]): void {
    try {
      this.#tier.dropCachedReplies?.(keys);
    } catch (error) {
      this.#isReplyCacheSuspect = true;
      this.#scheduleRepair();
      throw error;
    }
  }

  stats(): SharedTierWriterStats {
    const floors = this.#floors;
    return { suspectKeys: this.#suspects.size, isDistrusted: this.#isDistrusted || this.#isReplyCacheSuspect, repaired: this.#repaired, floorKeys: floors.size, belowFloor: this.#belowFloor, floorsEvicted: floors.evicted };
  }

  close(): void {
    this.#isClosed = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #suspect(key: string, version: number): void {
    if (this.#isDistrusted) return;
    if (!this.#suspects.has(key) && this.#suspects.size >= maxSuspects) {
      this.#distrust();
      return;
    }
    this.#suspects.set(key, Math.max(version, this.#suspects.get(key) ?? 0));
    this.#scheduleRepair();
  }

  /** Reads none of the tier until a repair pass clears it: which of its copies are stale is no longer known. */
  #distrust(): void {
    this.#isDistrusted = true;
    this.#suspects.clear();
    this.#scheduleRepair();
  }

  #scheduleRepair(): void {
    if (this.#timer !== undefined || this.#isClosed) return;
    this.#timer = this.#clock.setTimer(repairIntervalMs, () => {
      this.#timer = undefined;
      void this.#repair();
    });
  }

  /** One pass: clear a distrusted tier, or delete up to `repairBatch` suspect copies; stops at the first failure. */
  async #repair(): Promise<void> {
    if (this.#isRepairing || this.#isClosed) return;
    this.#isRepairing = true;
    const repaired: Array<{ key: string; version: number }> = [];
    if (this.#isReplyCacheSuspect) {
      try {
        this.#tier.dropCachedReplies?.();
        this.#isReplyCacheSuspect = false;
      } catch {
        // Still failing (reported when it first failed; stats show the tier distrusted): the repair below goes on.
      }
    }
    try {
      if (this.#isDistrusted) {
        await this.#tier.clear();
        this.#isDistrusted = false;
        this.#onCleared();
        return;
      }
      for (const [key, version] of [...this.#suspects]) {
        if (repaired.length >= repairBatch || this.#isClosed) break;
        await this.#tier.deleteStrict!(key, Number.isFinite(version) ? version : undefined);
        if (this.#suspects.get(key) === version) this.#suspects.delete(key);
        this.#repaired++;
        repaired.push({ key, version });
      }
    } catch {
      // Still unreachable: try again on the next pass.
    } finally {
      if (repaired.length > 0) this.#onRepaired(repaired);
      this.#isRepairing = false;
      if (this.#suspects.size > 0 || this.#isDistrusted || this.#isReplyCacheSuspect) this.#scheduleRepair();
    }
  }
}
