/**
 * VersionFloors: per key, for a short while after a delete or change notice this cache applied, the least version a
 * copy must have to be read from the shared tier or cached from a load.
 *
 * Why: a change notice says a key changed at version v, so a copy older than v handed over just after it is stale —
 * another node that writes the old row to the shared tier after this node applied the notice (its origin read began
 * before the change committed), or this node's own write-back reader answering with a pending write older than v
 * while the origin is slow. Without a floor such a copy was cached here and served for its TTL, with no later notice
 * to remove it. Those races end when the reads in flight at the notice have landed, so a floor lasts `windowMs` and
 * no longer: a permanent one made a key uncacheable for good wherever the origin's version stays below a notice's
 * (an origin without versions, a resolver keeping the origin's record, a row deleted and inserted again at a lower
 * version). A delete of every version (a hard DELETE's notice, or the application's delete, often made only to have
 * the key read again) carries no version: for the window the shared tier's copies up to the version held here (all
 * of them when none was held) are not read, and the origin's answers are cached as usual.
 * Bounds: at most `maxKeys` keys of each kind (the cache's `maxFloorKeys`), the oldest forgotten first, counted in
 * `evicted`: past about maxKeys / 30 keys changed a second, a floor ends before its 30 s. Cost: O(1) amortised per
 * operation.
 */
import type { Clock } from '../clock.ts';

/** Keys remembered with a floor, and as many with a delete window, by default; the oldest are forgotten first. */
export const defaultMaxFloorKeys = 10_000;
/** How long a floor or a delete window lasts, in ms: longer than an origin read begun before it can take to land. */
export const windowMs = 30_000;

/** `own` (delete windows): opened by this node's own delete, not learned from another node's notice (see clearStartingWith). */
type Window = { readonly version: number; readonly until: number; readonly own: boolean };

export class VersionFloors {
  readonly #clock: Clock;
  /** key → the least version a copy must have (a change notice's version), until when; oldest first. */
  readonly #floors = new Map<string, Window>();
  /** key → the highest version of shared copies not read (0: every version), until when; oldest first. */
  readonly #deletes = new Map<string, Window>();
  readonly #maxKeys: number;
  #evicted = 0;

  /** @param maxKeys keys kept with a floor, and as many with a delete window (a positive integer, checked by the caller). */
  constructor(clock: Clock, maxKeys = defaultMaxFloorKeys) {
    this.#clock = clock;
    this.#maxKeys = maxKeys;
  }

  /** Floors and delete windows forgotten before they ended, to stay within `maxKeys`. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Sets `key`'s window in `map` as the newest, dropping ended ones from the old end and the oldest past the bound. */
  #put(map: Map<string, Window>, key: string, w: Window, now: number): void {
    map.delete(key);
    prune(map, now);
    if (map.size >= this.#maxKeys) {
      map.delete(map.keys().next().value as string);
      this.#evicted++;
    }
    map.set(key, w);
  }

  /** Keys with a floor or a delete window now. */
  get size(): number {
    const now = this.#clock.now();
    prune(this.#floors, now);
    prune(this.#deletes, now);
    return this.#floors.size + this.#deletes.size;
  }

  /** The cache applied a change of `key` at `version` (a delete up to it): copies older than it are stale for a while. */
  noteChange(key: string, version: number): void {
    const now = this.#clock.now();
    // A change newer than the version a delete's window covers ends the window: the floor refuses what the window
    // did (older copies). A window over every version (nothing was held) has no version to be newer than: it stays
    // (a late notice of an older flush must not reopen the shared tier to the deleted row); another node's write
    // heard on the bus ends it (noteWrite).
    const deleted = live(this.#deletes, key, now);
    if (deleted !== undefined && deleted.version !== 0 && deleted.version < version) this.#deletes.delete(key);
    const known = live(this.#floors, key, now);
    this.#put(this.#floors, key, { version: Math.max(version, known?.version ?? 0), until: now + windowMs, own: false }, now);
  }

  /**
   * Another node wrote `key` at `version` after its own checks (heard on the write bus): copies older than it are
   * stale, and this node's delete window on the key ends whatever its version — the write came later, and a delete
   * erases the version history, so the writer may take a version at or below the one deleted here.
   */
  noteWrite(key: string, version: number): void {
    this.#deletes.delete(key);
    this.noteChange(key, version);
  }

  /**
   * Another node deleted every version of `key` (heard on the write bus), where it held versions up to `heldVersion`
   * (0: none): the key's version history is gone, so a floor from an earlier write ends (the next write may take a
   * lower version); the writer's held version becomes a delete window, as for a local delete.
   */
  noteDeletedElsewhere(key: string, heldVersion: number): void {
    this.#floors.delete(key);
    if (live(this.#deletes, key, this.#clock.now())?.own === true) return; // this node's own delete window stays
    this.#deletes.delete(key);
    if (heldVersion > 0) this.noteDeleted(key, heldVersion, false);
  }

  /**
   * Ends the floors and delete windows of every key starting with `prefix` (another node deleted them all), but the
   * delete windows of this node's own deletes: a notice says nothing of when it was sent, and one delivered late (a
   * retry after the bus was down) must not end a window this node's newer delete opened (the deleted row would be read
   * back from the shared tier). Keeping one only sends shared reads to the origin until it ends. O(keys).
   */
  clearStartingWith(prefix: string): void {
    for (const key of this.#floors.keys()) if (key.startsWith(prefix)) this.#floors.delete(key);
    for (const [key, w] of this.#deletes) if (!w.own && key.startsWith(prefix)) this.#deletes.delete(key);
  }

  /** Every version of `key` was deleted here, where it was held at `heldVersion` (0: not held); `own` false: learned from another node's notice. */
  noteDeleted(key: string, heldVersion: number, own = true): void {
    const now = this.#clock.now();
    this.#floors.delete(key); // whatever comes next (a row inserted again) may have any version
    if (!own && live(this.#deletes, key, now)?.own === true) return; // a notice neither ends nor extends an own window
    this.#put(this.#deletes, key, { version: heldVersion, until: now + windowMs, own }, now);
  }

  /** The least version a new write of `key` should take so that no floor or window here refuses it (0: none). */
  floorOf(key: string): number {
    const now = this.#clock.now();
    const floor = live(this.#floors, key, now)?.version ?? 0;
    const deleted = live(this.#deletes, key, now);
    return deleted === undefined ? floor : Math.max(floor, deleted.version + 1);
  }

  /** True when a copy of `key` at `version` is below its floor (known stale, whoever hands it over). */
  isBelow(key: string, version: number): boolean {
    return this.#floors.size > 0 && (live(this.#floors, key, this.#clock.now())?.version ?? 0) > version;
  }

  /** True when a shared-tier copy of `key` at `version` must not be read: below its floor, or within a delete's window. */
  isBelowForShared(key: string, version: number): boolean {
    if (this.#deletes.size > 0) {
      const deleted = live(this.#deletes, key, this.#clock.now());
      if (deleted !== undefined && (deleted.version === 0 || version <= deleted.version)) return true;
    }
    return this.isBelow(key, version);
  }
}

/** The window of `key` in `map` if it has not ended at `now` (an ended one is removed). */
function live(map: Map<string, Window>, key: string, now: number): Window | undefined {
  const w = map.get(key);
  if (w === undefined || now < w.until) return w;
  map.delete(key);
  return undefined;
}

/** Drops the windows that ended by `now` from the old end (each is set with the same length, so they end in order). */
function prune(map: Map<string, Window>, now: number): void {
  for (const [key, w] of map) {
    if (now < w.until) return;
    map.delete(key);
  }
}
