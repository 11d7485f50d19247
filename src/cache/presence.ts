/**
 * Presence: whether reading `key` now would send nothing to the origin — it is held fresh in memory, being fetched,
 * or known absent — for `Cache.isPresent` and for the prefetch scheduler, which asks it of every predicted key.
 *
 * Why apart from the Cache: `touchIfPresent` answers and, when present, touches the memory entry in one lookup of
 * the memory tier where `isPresent` then `touch` took three. The scheduler asks about ~10 keys per read on a block
 * trace (ARC P3), and those lookups of a tier map too big for the CPU caches were 13% of a replay's time.
 */
import type { Clock } from '../clock.ts';
import type { AbsentKeys } from './absent-keys.ts';

/** What Presence needs of the memory tier (MemoryTier's methods of these names). */
export type PresenceTier = {
  /** When the entry held for `key` goes stale; undefined when none is held. */
  staleAtOf(key: string): number | undefined;
  touch(key: string): boolean;
  touchIfFresh(key: string, now: number): boolean | undefined;
};

export class Presence {
  readonly #flights: { flight(key: string): unknown };
  readonly #memory: PresenceTier;
  readonly #absent: AbsentKeys | undefined;
  readonly #clock: Clock;

  /** `flights`: the loader (a key with a flight is being fetched). */
  constructor(flights: { flight(key: string): unknown }, memory: PresenceTier, absent: AbsentKeys | undefined, clock: Clock) {
    this.#flights = flights;
    this.#memory = memory;
    this.#absent = absent;
    this.#clock = clock;
  }

  /** True when `key` is held fresh in memory, being fetched, or known absent. */
  isPresent(key: string): boolean {
    if (this.#flights.flight(key) !== undefined) return true;
    const staleAt = this.#memory.staleAtOf(key);
    if (staleAt !== undefined) return this.#clock.now() < staleAt;
    return this.#absent !== undefined && this.#absent.has(key, this.#clock.now(), false);
  }

  /** `isPresent(key)`, and when true, the memory entry (if any) touched as `MemoryTier.touch` does. */
  touchIfPresent(key: string): boolean {
    if (this.#flights.flight(key) !== undefined) {
      this.#memory.touch(key);
      return true;
    }
    const now = this.#clock.now();
    const fresh = this.#memory.touchIfFresh(key, now);
    if (fresh !== undefined) return fresh;
    return this.#absent !== undefined && this.#absent.has(key, now, false);
  }
}
