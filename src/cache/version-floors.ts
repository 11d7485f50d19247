/**
 * VersionFloors: per key, the least version a copy must have to be stored or read here, learned from the deletes
 * and change notices this cache applied.
 *
 * Why: a change notice says a key changed at version v, so any copy older than v is stale whoever hands it over
 * afterwards — another node that writes the old row to the shared tier after this node applied the notice (its
 * origin read began before the change committed), or this node's own write-back reader answering with a pending
 * write older than v while the origin is slow. Without a floor such a copy was cached here and served for its TTL,
 * with no later notice to remove it. A delete of every version (a hard DELETE's notice, or the application's delete,
 * often made only to have the key read again) carries no version: for `blackoutMs` the shared tier's copies up to
 * the version held here (all of them when none was held) are not read, which covers another node's late write of
 * the old row; the origin's answers to reads begun after the delete are current and cached as usual, and nothing
 * stays once the window is over.
 * Bounds: at most `maxFloors` keys of each kind, the oldest forgotten first. Cost: O(1) per operation.
 */
import type { Clock } from '../clock.ts';

/** Keys remembered with a floor, and as many with a blackout; the oldest are forgotten first. */
const maxFloors = 10_000;
/**
 * After a delete of every version of a key, how long the shared tier's old copies of it are not read, in ms: longer
 * than an origin read that began before the delete can take to land.
 */
export const blackoutMs = 30_000;

export class VersionFloors {
  readonly #clock: Clock;
  /** key → the least version a copy must have (a change notice's version, or one above the version deleted). */
  readonly #floors = new Map<string, number>();
  /** key → until when (ms) shared copies of it up to `version` (0: every version) are not read. */
  readonly #blackouts = new Map<string, { readonly until: number; readonly version: number }>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Keys with a floor or a blackout now. */
  get size(): number {
    return this.#floors.size + this.#blackouts.size;
  }

  /** The cache applied a change of `key` at `version` (a delete up to it): copies older than it are stale. */
  noteChange(key: string, version: number): void {
    const known = this.#floors.get(key);
    if (known !== undefined) this.#floors.delete(key);
    else if (this.#floors.size >= maxFloors) this.#floors.delete(this.#floors.keys().next().value as string);
    this.#floors.set(key, Math.max(version, known ?? 0));
  }

  /** Every version of `key` was deleted here, where it was held at `heldVersion` (0: not held). */
  noteDeleted(key: string, heldVersion: number): void {
    this.#blackouts.delete(key);
    if (this.#blackouts.size >= maxFloors) this.#blackouts.delete(this.#blackouts.keys().next().value as string);
    this.#blackouts.set(key, { until: this.#clock.now() + blackoutMs, version: heldVersion });
  }

  /** The least version a new write of `key` should take so that no floor or window here refuses it (0: none). */
  floorOf(key: string): number {
    const floor = this.#floors.size === 0 ? 0 : (this.#floors.get(key) ?? 0);
    const blackout = this.#blackouts.size === 0 ? undefined : this.#blackouts.get(key);
    return blackout === undefined || this.#clock.now() >= blackout.until ? floor : Math.max(floor, blackout.version + 1);
  }

  /** True when a copy of `key` at `version` is below its floor (known stale, whoever hands it over). */
  isBelow(key: string, version: number): boolean {
    return this.#floors.size > 0 && (this.#floors.get(key) ?? 0) > version;
  }

  /** True when a shared-tier copy of `key` at `version` must not be read: below its floor, or within its blackout. */
  isBelowForShared(key: string, version: number): boolean {
    if (this.#blackouts.size > 0) {
      const blackout = this.#blackouts.get(key);
      if (blackout !== undefined) {
        if (this.#clock.now() >= blackout.until) this.#blackouts.delete(key);
        else if (blackout.version === 0 || version <= blackout.version) return true;
      }
    }
    return this.isBelow(key, version);
  }
}
