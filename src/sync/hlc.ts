/**
 * Hlc: a hybrid logical clock that hands out write versions.
 *
 * Why: last-writer-wins needs versions that follow real time across processes (so the newest write wins after a
 * restart or on another node) yet never repeat or go backwards inside one process, even when the wall clock
 * steps back or many writes land in one millisecond. A hybrid logical clock (Kulkarni et al., "Logical Physical
 * Clocks and Consistent Snapshots in Globally Distributed Databases", 2014) gives both: the high part is physical
 * milliseconds, the low part a logical counter that breaks ties and absorbs clock regressions. Packing both into
 * one integer, `physicalMs * 1024 + logical`, keeps versions plain JS numbers (below 2^53 until the year 2248)
 * that fit a PostgreSQL `bigint` and compare with `<`.
 *
 * When more than 1024 versions are taken in one millisecond the counter carries into the physical part: the
 * clock runs slightly ahead of the wall clock, which `maxDriftMs` bounds.
 */
import { type Clock, systemClock } from '../clock.ts';
import { PrescientError } from '../errors.ts';
import { hasMethods, nonNegativeInt, optionsObject } from '../options.ts';

/** Bits of the logical counter: 1024 versions per millisecond before the counter borrows from the next one. */
export const HLC_LOGICAL_BITS = 10;
/** Versions per physical millisecond, 2 ** HLC_LOGICAL_BITS. */
export const HLC_LOGICAL_SPAN = 1 << HLC_LOGICAL_BITS;

/** Physical milliseconds of a version. */
export function hlcPhysicalMs(version: number): number {
  return Math.floor(version / HLC_LOGICAL_SPAN);
}

/** Logical counter of a version (0..1023). */
export function hlcLogical(version: number): number {
  return version % HLC_LOGICAL_SPAN;
}

export type HlcOptions = {
  /** Physical time source. @default systemClock */
  readonly clock?: Clock;
  /**
   * How far (milliseconds) the clock may run ahead of the local wall clock, whether from a remote version passed
   * to `observe` or from counter carries. Beyond it `observe` and `now` throw ERR_CLOCK_DRIFT rather than drag every
   * later version into the future. @default 60000
   */
  readonly maxDriftMs?: number;
  /** Lowest version to hand out after, e.g. the highest version found in a replayed journal. @default 0 */
  readonly initialVersion?: number;
};

/**
 * A hybrid logical clock. `now()` is strictly increasing within the instance; `observe(v)` makes every later
 * `now()` greater than `v`.
 */
export class Hlc {
  readonly #clock: Clock;
  readonly #maxDriftMs: number;
  #last: number;

  /** @throws InvalidOptionError for a clock without `now`, or a negative or non-integer `maxDriftMs`/`initialVersion` */
  constructor(options: HlcOptions = {}) {
    optionsObject(options);
    this.#clock = options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now']);
    this.#maxDriftMs = nonNegativeInt('maxDriftMs', options.maxDriftMs, 60_000);
    this.#last = nonNegativeInt('initialVersion', options.initialVersion, 0);
  }

  /** The last version handed out or observed. */
  get last(): number {
    return this.#last;
  }

  /**
   * A new version, greater than every version handed out or observed before.
   * @throws PrescientError ERR_CLOCK_DRIFT when the clock would run more than `maxDriftMs` ahead of the wall clock
   */
  now(): number {
    const wallMs = Math.floor(this.#clock.now());
    const next = Math.max(wallMs * HLC_LOGICAL_SPAN, this.#last + 1);
    this.#checkDrift(next, wallMs);
    this.#last = next;
    return next;
  }

  /**
   * Merges a version seen elsewhere (the origin, a change feed, a replayed journal). Returns the clock's last
   * version afterwards.
   * @throws PrescientError ERR_INVALID_VALUE for a version that is not a non-negative safe integer;
   *   ERR_CLOCK_DRIFT when `version` is more than `maxDriftMs` ahead of the wall clock (the clock is left unchanged)
   */
  observe(version: number): number {
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new PrescientError('ERR_INVALID_VALUE', `Expected a version to be a non-negative safe integer, got ${version}`);
    }
    if (version <= this.#last) return this.#last;
    this.#checkDrift(version, Math.floor(this.#clock.now()));
    this.#last = version;
    return version;
  }

  #checkDrift(version: number, wallMs: number): void {
    const aheadMs = hlcPhysicalMs(version) - wallMs;
    if (aheadMs > this.#maxDriftMs) {
      throw new PrescientError(
        'ERR_CLOCK_DRIFT',
        `Version ${version} is ${aheadMs} ms ahead of the local clock, over \`maxDriftMs\` ${this.#maxDriftMs}`,
      );
    }
  }
}
