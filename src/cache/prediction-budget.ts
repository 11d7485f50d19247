/**
 * PredictionBudget: caps the share of real time the prediction loop spends learning and predicting.
 *
 * Why: on a busy server the models compete with the request path for one event loop. Unbounded, a drain of 1,024
 * accesses plus a prediction per context can hold the loop for tens of milliseconds and take most of the CPU, so
 * hits wait behind learning. With a budget the loop works in slices of at most `maxSliceMs` (yielding to I/O
 * between them) and, once a window's share is spent, defers predictions and paces its next slice to the next
 * window. Accesses keep buffering meanwhile; past the buffer's capacity new ones are dropped (counted), so the
 * models then learn from contiguous runs of each session rather than from every access.
 *
 * The share follows what the models can win (`adaptive`, on by default): prediction can only change reads that
 * miss, are served stale or use a prefetch, so when those fall under {@link fullShareRoom} of the reads in a window
 * the next window's share shrinks in proportion, down to {@link minShareScale} of `maxShare`. A server answering
 * nearly all reads from memory then spends its time on them rather than on models that have nothing to fetch, and
 * gets the full share back within a window of misses returning. An idle server keeps the full share (its time is
 * free). The floor keeps the models learning from a sample of the reads meanwhile.
 *
 * Time is read through an injected function (real time by default), never the cache's Clock: a cache on a
 * VirtualClock still measures what the work really cost, and a test injects a fake to make it deterministic.
 */
import { systemClock } from '../clock.ts';
import { InvalidOptionError } from '../errors.ts';
import { bool, fn, numberInRange, positiveInt } from '../options.ts';
import type { ReadStatus } from './access-buffer.ts';

/** Share of reads that miss, are stale or use a prefetch at and above which the models get all of `maxShare`. */
export const fullShareRoom = 0.05;
/** Least part of `maxShare` the models keep however few reads they could change. */
export const minShareScale = 0.1;
/** Reads a window needs before its mix of reads sets the next share (fewer: the server is not busy, full share). */
const minReadsToAdapt = 64;

/** Settings of the prediction loop's CPU budget (`CacheOptions.prediction.budget`). */
export type PredictionBudgetOptions = {
  /** Largest share of real time the loop may spend, per window, in (0, 1]. @default 0.25 */
  readonly maxShare?: number;
  /** Length of a budget window, in ms: the share is measured and renewed per window. @default 100 */
  readonly windowMs?: number;
  /** Longest stretch the loop works without yielding to the event loop, in ms. @default 4 */
  readonly maxSliceMs?: number;
  /**
   * Whether the share follows the reads the models could change (misses, stale reads, prefetched hits): under 5% of
   * the reads, the share shrinks in proportion, to a tenth of `maxShare` at least. @default true
   */
  readonly adaptive?: boolean;
  /**
   * Real time in ms, read around each slice (a test injects a fake). @default systemClock.now (performance.now
   * based), whatever clock the cache runs on
   */
  readonly now?: () => number;
};

/** Budget options with defaults filled in. */
export type ResolvedPredictionBudgetOptions = {
  readonly maxShare: number;
  readonly windowMs: number;
  readonly maxSliceMs: number;
  readonly adaptive: boolean;
  readonly now: () => number;
};

/**
 * Checks a budget option (`name` names it in errors); undefined and false mean no budget.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) naming `<name>` or `<name>.<field>`.
 */
export function resolvePredictionBudget(name: string, value: unknown): ResolvedPredictionBudgetOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError(name, 'an object or false', value);
  const o = value as PredictionBudgetOptions;
  const maxShare = numberInRange(`${name}.maxShare`, o.maxShare, 0, 1, 0.25);
  if (maxShare === 0) throw new InvalidOptionError(`${name}.maxShare`, 'a number in (0, 1]', maxShare);
  return Object.freeze({
    maxShare,
    windowMs: positiveInt(`${name}.windowMs`, o.windowMs, 100),
    maxSliceMs: numberInRange(`${name}.maxSliceMs`, o.maxSliceMs, 0.1, 1000, 4),
    adaptive: bool(`${name}.adaptive`, o.adaptive, true),
    now: fn(`${name}.now`, o.now, systemClock.now),
  });
}

/**
 * Accounts the time the loop spends. Spend beyond a window's allowance carries over as debt into the next
 * windows, so one long slice is paid back rather than forgotten.
 */
export class PredictionBudget {
  readonly now: () => number;
  readonly maxSliceMs: number;
  readonly #windowMs: number;
  /** Time the loop may spend per window at the full share, in ms (maxShare x windowMs). */
  readonly #fullAllowance: number;
  /** Time the loop may spend per window now (the full allowance, scaled by the reads the models could change). */
  #allowance: number;
  #windowStart = Number.NaN;
  #spent = 0;
  #total = 0;
  #slices = 0;
  #deferred = 0;
  /** The cache's live read counters when adaptive, and their sums at the start of the current window. */
  readonly #reads: Readonly<Record<ReadStatus, number>> | undefined;
  #readsAtStart = 0;
  #roomAtStart = 0;

  /** @param reads the cache's read counters, read at window ends when `adaptive` (without them the share is fixed). */
  constructor(options: ResolvedPredictionBudgetOptions, reads?: Readonly<Record<ReadStatus, number>>) {
    this.now = options.now;
    this.maxSliceMs = options.maxSliceMs;
    this.#windowMs = options.windowMs;
    this.#fullAllowance = options.maxShare * options.windowMs;
    this.#allowance = this.#fullAllowance;
    this.#reads = options.adaptive ? reads : undefined;
  }

  /** Share of real time the loop may spend now, in (0, maxShare]. */
  get share(): number {
    return this.#allowance / this.#windowMs;
  }

  /** Adds the time of work that ran from `start` to `end` (ms of `now`). */
  charge(start: number, end: number): void {
    this.#roll(end);
    const spent = Math.max(0, end - start);
    this.#spent += spent;
    this.#total += spent;
  }

  /** Counts one slice run (a turn of the event loop the loop worked in). */
  sliced(): void {
    this.#slices++;
  }

  /** True when the current window's allowance (after debt) is used up at time `at`. */
  isSpent(at: number): boolean {
    this.#roll(at);
    return this.#spent >= this.#allowance;
  }

  /** Ms from `at` until enough allowance is back to work again (0 when some is left now). */
  waitMs(at: number): number {
    this.#roll(at);
    if (this.#spent < this.#allowance) return 0;
    const windows = Math.floor((this.#spent - this.#allowance) / this.#allowance) + 1;
    return Math.max(0, this.#windowStart + windows * this.#windowMs - at);
  }

  /** Counts predictions put off because the budget was spent. */
  deferred(count: number): void {
    this.#deferred += count;
  }

  /** Totals since creation: ms spent, slices run, predictions deferred; and the share allowed now. */
  stats(): { readonly spentMs: number; readonly slices: number; readonly deferredPredictions: number; readonly share: number } {
    return { spentMs: this.#total, slices: this.#slices, deferredPredictions: this.#deferred, share: this.share };
  }

  #roll(at: number): void {
    if (Number.isNaN(this.#windowStart)) {
      this.#windowStart = at;
      this.#markReads();
      return;
    }
    const elapsed = at - this.#windowStart;
    if (elapsed < 0) {
      // The time source stepped back (an injected wall clock): the window starts over from here, or `waitMs` would
      // put the next drain off by the size of the step.
      this.#windowStart = at;
      return;
    }
    if (elapsed < this.#windowMs) return;
    const windows = Math.floor(elapsed / this.#windowMs);
    this.#spent = Math.max(0, this.#spent - windows * this.#allowance);
    this.#windowStart += windows * this.#windowMs;
    this.#adapt();
  }

  /** Sets the allowance from the reads since the last window end: in proportion to the share the models could change. */
  #adapt(): void {
    const r = this.#reads;
    if (r === undefined) return;
    const reads = r.hit + r.miss + r.stale + r.prefetched;
    const room = r.miss + r.stale + r.prefetched;
    const dReads = reads - this.#readsAtStart;
    const dRoom = room - this.#roomAtStart;
    this.#markReads();
    const scale = dReads < minReadsToAdapt ? 1 : Math.min(1, Math.max(minShareScale, dRoom / dReads / fullShareRoom));
    const allowance = this.#fullAllowance * scale;
    // Debt is owed in windows: run up at a larger share, it is not repaid at the smaller one (ten times as long).
    this.#spent *= allowance / this.#allowance;
    this.#allowance = allowance;
  }

  #markReads(): void {
    const r = this.#reads;
    if (r === undefined) return;
    this.#readsAtStart = r.hit + r.miss + r.stale + r.prefetched;
    this.#roomAtStart = r.miss + r.stale + r.prefetched;
  }
}
