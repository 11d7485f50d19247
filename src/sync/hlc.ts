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
 *
 * Two nodes writing one key in the same millisecond would draw the same version, and last-writer-wins could not
 * tell their writes apart (each node keeps its own until the origin declines the other's flush). A `nodeId` (0..15)
 * makes every version this clock hands out end in that id (`version % 16 === nodeId`): nodes with distinct ids never
 * draw the same version, at 64 versions per millisecond per node before the counter carries.
 */
import { type Clock, systemClock } from '../clock.ts';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { hasMethods, nonNegativeInt, optionsObject } from '../options.ts';

/** Bits of the logical counter: 1024 versions per millisecond before the counter borrows from the next one. */
export const HLC_LOGICAL_BITS = 10;
/** Versions per physical millisecond, 2 ** HLC_LOGICAL_BITS. */
export const HLC_LOGICAL_SPAN = 1 << HLC_LOGICAL_BITS;

/** Distinct node ids (`HlcOptions.nodeId`): the low 4 bits of a version. */
export const HLC_NODE_SPAN = 16;

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
   * later version into the future. Versions of the node's own history (`initialVersion`, `observeTrusted`) are never
   * refused: `now` measures its carries from the highest of them when that is ahead of the wall clock. @default 60000
   */
  readonly maxDriftMs?: number;
  /**
   * How far (milliseconds) a version of the node's own history (`observeTrusted`) may be ahead of the wall clock.
   * Within it a clock stepped back (NTP, a VM restore) is absorbed; beyond it the history, not the clock, is suspect
   * (a write made while the clock read the year 2200 would otherwise hand every later write a version from 2200, for
   * ever, beating every other writer), and `observeTrusted` throws ERR_CLOCK_DRIFT. @default 86400000 (a day)
   */
  readonly maxTrustedAheadMs?: number;
  /**
   * Lowest version to hand out after, e.g. the highest version found in a replayed journal: trusted as
   * `observeTrusted` is (without its bound: the caller chose it). @default 0
   */
  readonly initialVersion?: number;
  /**
   * This node's id among the nodes that write the same keys, 0..15: every version handed out is then
   * `≡ nodeId (mod 16)`, so two nodes with distinct ids never hand out the same version. Without it versions use
   * every value (1024 per millisecond) and two nodes can draw the same one. @default undefined (no id)
   */
  readonly nodeId?: number;
};

/**
 * A hybrid logical clock. `now()` is strictly increasing within the instance and only hands out non-negative safe
 * integers; `observe(v)` and `observeTrusted(v)` make every later `now()` greater than `v`.
 */
export class Hlc {
  readonly #clock: Clock;
  readonly #maxDriftMs: number;
  readonly #maxTrustedAheadMs: number;
  /** The residue every version handed out has modulo HLC_NODE_SPAN; -1 without a node id. */
  readonly #nodeId: number;
  #last: number;
  /** Highest version of the node's own history (initialVersion, observeTrusted): `now` may run ahead from it. */
  #trusted: number;

  /** @throws InvalidOptionError for a clock without `now`, a negative or non-integer `maxDriftMs`/`initialVersion`, or a `nodeId` outside 0..15 */
  constructor(options: HlcOptions = {}) {
    optionsObject(options);
    this.#clock = options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now']);
    this.#maxDriftMs = nonNegativeInt('maxDriftMs', options.maxDriftMs, 60_000);
    this.#maxTrustedAheadMs = nonNegativeInt('maxTrustedAheadMs', options.maxTrustedAheadMs, 86_400_000);
    this.#last = nonNegativeInt('initialVersion', options.initialVersion, 0);
    this.#nodeId = options.nodeId === undefined ? -1 : nonNegativeInt('nodeId', options.nodeId);
    if (this.#nodeId >= HLC_NODE_SPAN) throw new InvalidOptionError('nodeId', `an integer from 0 to ${HLC_NODE_SPAN - 1}`, options.nodeId);
    this.#trusted = this.#last;
  }

  /** The last version handed out or observed. */
  get last(): number {
    return this.#last;
  }

  /** How far (ms) the highest version of the node's own history is ahead of the wall clock now (0 when behind it). */
  trustedAheadMs(): number {
    return Math.max(0, hlcPhysicalMs(this.#trusted) - this.#wallMs());
  }

  /**
   * A new version, greater than every version handed out or observed before, and a safe integer.
   * @throws PrescientError ERR_CLOCK_DRIFT when the clock reads a time that is not finite (NaN, Infinity), when the
   *   next version would not be a safe integer (a clock in the wrong unit, past the year 2248, or versions used up
   *   after a huge observed one), or when the clock would run more than `maxDriftMs` ahead of the wall clock (or of
   *   the highest trusted version, when that is ahead of the wall clock); the clock is left unchanged
   */
  now(): number {
    const wallMs = this.#wallMs();
    const next = this.#owned(Math.max(wallMs * HLC_LOGICAL_SPAN, this.#last + 1));
    // Past 2^53 `x + 1 === x`: a version there would repeat, and last-writer-wins would keep either write.
    if (!Number.isSafeInteger(next)) {
      throw new PrescientError(
        'ERR_CLOCK_DRIFT',
        next <= this.#last + HLC_NODE_SPAN
          ? `No version above ${this.#last} is a safe integer: the clock has used up its versions`
          : `The clock reads ${wallMs} ms, whose version ${next} is past Number.MAX_SAFE_INTEGER (a clock in the wrong unit?)`,
      );
    }
    // Carries are bounded from the node's own history when that is ahead (a restart with the wall clock stepped
    // back): measured from the wall clock alone, the first write after such a restart would be refused.
    this.#checkDrift(next, Math.max(wallMs, hlcPhysicalMs(this.#trusted)));
    this.#last = next;
    return next;
  }

  /**
   * Merges a version seen elsewhere (the origin, a change feed, a peer). Returns the clock's last version afterwards.
   * @throws PrescientError ERR_INVALID_VALUE for a version that is not a non-negative safe integer;
   *   ERR_CLOCK_DRIFT when `version` is more than `maxDriftMs` ahead of the wall clock, or the clock reads a time
   *   that is not finite (the clock is left unchanged either way)
   */
  observe(version: number): number {
    checkVersion(version);
    if (version <= this.#last) return this.#last;
    this.#checkDrift(version, this.#wallMs());
    this.#last = version;
    return version;
  }

  /**
   * Merges a version of the node's own history, such as the versions of a replayed journal or the highest version
   * its checkpoint keeps: adopted however far ahead of the wall clock it is, and later `now()` versions follow it
   * (the logical counter carries on above it). Why no drift check: these versions were handed out here, and
   * acknowledged writes may carry them; refusing them after the wall clock stepped back (NTP, a VM restore) would
   * keep those writes from being replayed until the clock caught up. Never pass a version read from an origin or a
   * peer here: `observe` is the check that keeps a peer with a fast clock from dragging this one into the future.
   * Returns the clock's last version afterwards.
   * @throws PrescientError ERR_INVALID_VALUE for a version that is not a non-negative safe integer; ERR_CLOCK_DRIFT
   *   when it is more than `maxTrustedAheadMs` ahead of the wall clock (the clock is left unchanged)
   */
  observeTrusted(version: number): number {
    checkVersion(version);
    const aheadMs = hlcPhysicalMs(version) - this.#wallMs();
    if (aheadMs > this.#maxTrustedAheadMs) {
      throw new PrescientError(
        'ERR_CLOCK_DRIFT',
        `This node's own version ${version} is ${aheadMs} ms ahead of the local clock, over \`maxTrustedAheadMs\` ${this.#maxTrustedAheadMs}: ` +
          'either the clock is far behind (correct it) or the version was written while it was far ahead (raise maxTrustedAheadMs to accept it)',
      );
    }
    this.#trusted = Math.max(this.#trusted, version);
    if (version > this.#last) this.#last = version;
    return this.#last;
  }

  /** The least version at or above `version` this node may hand out (`version` itself without a node id). */
  #owned(version: number): number {
    if (this.#nodeId < 0) return version;
    return version + ((this.#nodeId - (version % HLC_NODE_SPAN) + HLC_NODE_SPAN) % HLC_NODE_SPAN);
  }

  /** The wall clock in whole milliseconds. @throws PrescientError ERR_CLOCK_DRIFT when it is not finite */
  #wallMs(): number {
    const wallMs = Math.floor(this.#clock.now());
    // A NaN time passes every comparison below (`NaN > x` is false) and would hand out NaN versions.
    if (!Number.isFinite(wallMs)) throw new PrescientError('ERR_CLOCK_DRIFT', `The clock reads ${wallMs}, not a finite time in milliseconds`);
    return wallMs;
  }

  #checkDrift(version: number, referenceMs: number): void {
    const aheadMs = hlcPhysicalMs(version) - referenceMs;
    if (aheadMs > this.#maxDriftMs) {
      throw new PrescientError(
        'ERR_CLOCK_DRIFT',
        `Version ${version} is ${aheadMs} ms ahead of the local clock, over \`maxDriftMs\` ${this.#maxDriftMs}`,
      );
    }
  }
}

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new PrescientError('ERR_INVALID_VALUE', `Expected a version to be a non-negative safe integer, got ${version}`);
  }
}
