/**
 * CandidateScore: the score a prefetch candidate is ranked by, and the bar a score must reach while tokens are scarce.
 *
 * Why: a model calibrated for "the next request" understates a prediction that comes true a few requests later (the
 * next block of one of several interleaved scans) and overstates one the cache already held; what became of a
 * source's prefetches is the measure that counts for prefetching. So, with `rankBySourceRecord`, a candidate's score
 * is its probability × its source's recent precision ÷ the mean probability that source's recent prefetches were
 * issued with. And when the budget binds, tokens go first come, first served: a middling candidate that arrives while
 * a token is free takes it from a better one a few requests later. So, with `rationTokens`, a bar on the score rises
 * at each offer that finds the bucket empty and falls at each that finds it full. Both apply by default to anonymous
 * reads only (no session, no user: block and object traces, one global stream): there they raised hits at equal or
 * fewer fetches, while on yoochoose's sessions they cost about 0.1 point at 1% (BENCHMARKS.md, "interleaved scans");
 * `true` applies them to every context, `false` to none. Cost: O(1) per candidate and per offer.
 */
import { contextScope, isAnonymous, type ContextScope, type ReadContext } from '../context.ts';
import type { Feedback, SourceOutcomes } from './feedback.ts';

/** The scheduler options this module reads. */
export type CandidateScoreOptions = {
  /**
   * Whether candidates are ranked by probability scaled by their source's record (once it has 64 outcomes; the
   * factor clamped to 1/8..8). @default 'anonymous'
   */
  readonly rankBySourceRecord?: ContextScope;
  /**
   * Whether tokens are rationed by score: a bar every candidate's score must reach rises (5% + 0.002) at each offer
   * that finds the bucket empty and falls (5%) at each that finds it full (LIRS sprite at 71 entries 76.1 → 78.8% at
   * 1.31 → 1.29× LRU's fetches, orm-busy at 1% 90.8 → 92.1% at 1.28 → 1.17×, with `rankBySourceRecord`). With
   * 'anonymous' the bar moves only at offers for anonymous reads and applies only to their candidates.
   * @default 'anonymous'
   */
  readonly rationTokens?: ContextScope;
};

/** Outcomes a source needs before its record scales its candidates. */
const sourceRecordMin = 64;
/** Bounds of the record's scale factor. */
const sourceRecordMaxFactor = 8;
/** Steps of the score bar: up 5% + 0.002 at an offer that finds no token, down 5% at one that finds the bucket full. */
const barRaise = 1.05;
const barStep = 0.002;
const barLower = 0.95;

/** Whether a setting of `scope` applies to `ctx`. */
function applies(scope: ContextScope, ctx: ReadContext): boolean {
  return scope === 'anonymous' ? isAnonymous(ctx) : scope;
}

export class CandidateScore {
  readonly #feedback: Feedback;
  readonly #rations: ContextScope;
  readonly #rank: ContextScope;
  /** Each source's live outcome record (undefined: ranking by record is off). */
  readonly #records: Map<string, SourceOutcomes> | undefined;
  #bar = 0;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) when either option is neither a boolean nor 'anonymous' */
  constructor(options: CandidateScoreOptions, feedback: Feedback) {
    this.#rank = contextScope('rankBySourceRecord', options.rankBySourceRecord, 'anonymous');
    this.#rations = contextScope('rationTokens', options.rationTokens, 'anonymous');
    this.#feedback = feedback;
    this.#records = this.#rank !== false ? new Map() : undefined;
  }

  /** The bar scores of `ctx`'s candidates must reach now (0 while tokens are plentiful or rationing is off there). */
  barFor(ctx: ReadContext): number {
    return applies(this.#rations, ctx) ? this.#bar : 0;
  }

  /** The bar where rationing applies (0 while tokens are plentiful, and always without `rationTokens`). */
  get bar(): number {
    return this.#bar;
  }

  /** An offer for `ctx` arrives with `tokens` in a bucket of `maxTokens`: the bar moves. */
  offered(ctx: ReadContext, tokens: number, maxTokens: number): void {
    if (!applies(this.#rations, ctx)) return;
    if (tokens < 1) this.#bar = Math.min(1, this.#bar * barRaise + barStep);
    else if (tokens >= maxTokens) this.#bar *= barLower;
  }

  /** The score of a candidate for `ctx` of `source` predicted with `probability`. */
  score(probability: number, source: string, ctx: ReadContext): number {
    const records = this.#records;
    if (records === undefined || !applies(this.#rank, ctx)) return probability;
    let record = records.get(source);
    if (record === undefined) records.set(source, (record = this.#feedback.sourceOutcomes(source)));
    if (record.outcomes < sourceRecordMin) return probability;
    const f = record.recentPrecision / Math.max(record.recentProbability, 1e-3);
    return probability * (f > sourceRecordMaxFactor ? sourceRecordMaxFactor : f < 1 / sourceRecordMaxFactor ? 1 / sourceRecordMaxFactor : f);
  }
}
