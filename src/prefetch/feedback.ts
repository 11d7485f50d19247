/**
 * Feedback: what became of each prefetch, so the scheduler can tune itself and operators can see whether
 * prediction pays.
 *
 * - precision = prefetches used ÷ prefetches issued (a prefetch is used when a read first finds it, or joins it
 *   while it is still in flight);
 * - coverage = misses avoided ÷ misses that would have happened without prefetch
 *   (used ÷ (used + demand misses));
 * - wasted = prefetched entries evicted or expired before any read used them, with their bytes;
 * - per predictor (the `source` each prediction names): issued, used, precision, and its own recent precision
 *   (`sourceOutcomes`), so the scheduler can hold each source to its own record.
 * `recentPrecision` is an exponentially weighted mean over resolved outcomes (used = 1, wasted = 0) with a window of
 * about 200 outcomes: long enough to be steady, short enough to follow a change of workload within seconds.
 */
import { fn, optionsObject } from '../options.ts';

/** Weight of the newest outcome in `recentPrecision` (~ 1/200). */
const recentWeight = 0.005;

export type SourceStats = { readonly issued: number; readonly used: number; readonly precision: number };

/**
 * One source's resolved outcomes (used or wasted) so far, its precision over recent ones (0.5 before any) and the mean
 * probability those prefetches were issued with (0.5 before any; outcomes reported without a probability leave it).
 */
export type SourceOutcomes = { readonly outcomes: number; readonly recentPrecision: number; readonly recentProbability: number };

type SourceRecord = { issued: number; used: number; outcomes: number; recentPrecision: number; recentProbability: number };

export type FeedbackStats = {
  readonly issued: number;
  readonly used: number;
  readonly wasted: number;
  readonly wastedBytes: number;
  readonly demandMisses: number;
  readonly precision: number;
  readonly recentPrecision: number;
  readonly coverage: number;
  readonly bySource: Readonly<Record<string, SourceStats>>;
};

export type FeedbackEvent =
  | { readonly type: 'prefetch:issued'; readonly key: string; readonly probability: number; readonly source: string }
  | { readonly type: 'prefetch:used'; readonly key: string; readonly source: string }
  | { readonly type: 'prefetch:wasted'; readonly key: string; readonly source: string; readonly sizeBytes: number };

export type FeedbackOptions = {
  /** Called for every issued, used and wasted prefetch; leave undefined when nobody listens (costs nothing). */
  readonly onEvent?: (event: FeedbackEvent) => void;
  /** Whether anyone listens to events of `type` now: when false, no event object is made. @default always true */
  readonly isListened?: (type: FeedbackEvent['type']) => boolean;
};

export class Feedback {
  readonly #onEvent: ((event: FeedbackEvent) => void) | undefined;
  readonly #isListened: (type: FeedbackEvent['type']) => boolean;
  #issued = 0;
  #used = 0;
  #wasted = 0;
  #wastedBytes = 0;
  #demandMisses = 0;
  #recent = 0.5;
  #outcomes = 0;
  readonly #bySource = new Map<string, SourceRecord>();

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) for an `onEvent` or `isListened` that is not a function. */
  constructor(options: FeedbackOptions = {}) {
    optionsObject(options);
    this.#onEvent = options.onEvent === undefined ? undefined : fn('onEvent', options.onEvent);
    this.#isListened = fn('isListened', options.isListened, () => true);
  }

  /** Outcomes (used or wasted) seen so far. */
  get outcomes(): number {
    return this.#outcomes;
  }

  /** Precision over recent outcomes, in [0, 1]; 0.5 before any outcome. */
  get recentPrecision(): number {
    return this.#recent;
  }

  issued(key: string, probability: number, source = 'unknown'): void {
    this.#issued++;
    this.#source(source).issued++;
    if (this.#onEvent !== undefined && this.#isListened('prefetch:issued')) this.#onEvent({ type: 'prefetch:issued', key, probability, source });
  }

  /** A read used a prefetch issued by `source` with `probability` (when known). */
  used(key: string, source = 'unknown', probability?: number): void {
    this.#used++;
    const s = this.#source(source);
    s.used++;
    this.#outcome(1, s, probability);
    if (this.#onEvent !== undefined && this.#isListened('prefetch:used')) this.#onEvent({ type: 'prefetch:used', key, source });
  }

  /** A prefetch issued by `source` with `probability` (when known) left unused. */
  wasted(key: string, sizeBytes: number, source = 'unknown', probability?: number): void {
    this.#wasted++;
    this.#wastedBytes += sizeBytes;
    this.#outcome(0, this.#source(source), probability);
    if (this.#onEvent !== undefined && this.#isListened('prefetch:wasted')) this.#onEvent({ type: 'prefetch:wasted', key, source, sizeBytes });
  }

  /** A read went to the origin: a miss no prefetch avoided. */
  demandMiss(): void {
    this.#demandMisses++;
  }

  stats(): FeedbackStats {
    const bySource: Record<string, SourceStats> = {};
    for (const [name, s] of this.#bySource) {
      bySource[name] = { issued: s.issued, used: s.used, precision: s.issued === 0 ? 0 : s.used / s.issued };
    }
    const avoidable = this.#used + this.#demandMisses;
    return {
      issued: this.#issued,
      used: this.#used,
      wasted: this.#wasted,
      wastedBytes: this.#wastedBytes,
      demandMisses: this.#demandMisses,
      precision: this.#issued === 0 ? 0 : this.#used / this.#issued,
      recentPrecision: this.#recent,
      coverage: avoidable === 0 ? 0 : this.#used / avoidable,
      bySource,
    };
  }

  /** The live outcome record of `source` (read it again later: it is updated in place). */
  sourceOutcomes(source: string): SourceOutcomes {
    return this.#source(source);
  }

  #outcome(value: number, s: SourceRecord, probability: number | undefined): void {
    this.#outcomes++;
    this.#recent += recentWeight * (value - this.#recent);
    s.outcomes++;
    s.recentPrecision += recentWeight * (value - s.recentPrecision);
    if (probability !== undefined && probability >= 0 && probability <= 1) s.recentProbability += recentWeight * (probability - s.recentProbability);
  }

  #source(name: string): SourceRecord {
    let s = this.#bySource.get(name);
    if (s === undefined) {
      s = { issued: 0, used: 0, outcomes: 0, recentPrecision: 0.5, recentProbability: 0.5 };
      this.#bySource.set(name, s);
    }
    return s;
  }
}
