/**
 * PrefetchScheduler: turns predictions into origin fetches, best first, inside a load budget.
 *
 * Why: a prefetch is worth its expected benefit, probability × miss cost ÷ size, discounted by how far ahead it is
 * needed (benefit / (1 + eta / horizon)): a likely, cheap-to-hold, soon-needed item goes first (the cost-benefit
 * ordering of Patterson et al., "Informed Prefetching and Caching", SOSP '95). Prefetch must not hurt, so:
 * (1) it spends a token bucket that fills by `maxExtraLoad` tokens for every fetch a demand-only cache would have
 * made (each demand fetch, and each prefetch that was used, since it stood in for one), and a used prefetch gives
 * its own token back. So wasted prefetches — the only origin load prefetch adds — stay within `maxExtraLoad` times
 * the load of the same cache without prefetch, whatever the precision; precise predictors get to prefetch more. A
 * demand miss on a key the demand regions evicted moments ago earns nothing (`onDisplacedMiss`): the prefetch
 * region's room caused it, so it is no load of the cache without prefetch.
 * (2) At most `maxConcurrent` prefetch batches are in flight, and the origin serves demand batches first.
 * (3) A candidate below its source's confidence threshold is never fetched; with `targetPrecision` set, each
 * source's threshold rises while its own prefetches' recent precision is under the target and falls back while it
 * is above, within [`minProbability`, `maxProbability`] (confidence-threshold.ts).
 * (4) When the budget binds, it goes to each offer's most probable few candidates: an offer queues at most
 * `OfferLimit` of them, a limit that falls while candidates wait for tokens and rises while tokens go unspent
 * (offer-limit.ts); the waiting list itself is candidate-queue.ts.
 * (5) For anonymous reads (no session, no user; by default, `true` for every read), candidates rank by probability
 * scaled by their source's record of used prefetches, and a score bar rations tokens while the budget binds
 * (candidate-score.ts); their probability must also reach `anonymousMinProbability`.
 * Candidates go stale when the session they were predicted for makes its next request (a newer offer for the same
 * context replaces them: offer-generations.ts) or after `candidateTtlMs`.
 * Cost: O(c log c) per pump for c queued candidates, bounded by `maxQueue`; O(p log p) per offer of p predictions.
 */
import type { Clock } from '../clock.ts';
import { contextKey, isAnonymous, type ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { hasMethods, nonNegativeInt, nonNegativeNumber, numberInRange, optionsObject, positiveInt } from '../options.ts';
import type { Prediction } from '../predict/predictor.ts';
import type { Feedback } from './feedback.ts';
import { CandidateScore, type CandidateScoreOptions } from './candidate-score.ts';
import { ConfidenceThreshold } from './confidence-threshold.ts';
import { OfferGenerations } from './offer-generations.ts';
import { OfferLimit } from './offer-limit.ts';
import { CandidateQueue, hasKey, type Candidate, type PrefetchRequest } from './candidate-queue.ts';
import type { PrefetchTarget, SchedulerStats } from './scheduler-types.ts';

export type { PrefetchRequest } from './candidate-queue.ts';
export type { PrefetchTarget, SchedulerStats } from './scheduler-types.ts';

export type PrefetchSchedulerOptions = CandidateScoreOptions & {
  readonly target: PrefetchTarget;
  readonly clock: Clock;
  readonly feedback: Feedback;
  /**
   * Origin load prefetch may add, as a share of the load the same cache would put on the origin without prefetch:
   * 0.3 lets wasted prefetches reach 30% of the demand fetches (a used prefetch adds none: it replaced one).
   * @default 0.3
   */
  readonly maxExtraLoad?: number;
  /**
   * Most tokens saved up for a burst. 28: scarab-500k at 5% 61.91 → 61.99% (hash seeds 1..6, Belady 61.93) with
   * displaced misses earning nothing (`onDisplacedMiss`), LIRS sprite at 5% at most 1.29× LRU's fetches over 12 seeds
   * (32: 62.00, but one sprite seed in 12 at 1.304×); 16 before `onDisplacedMiss`, when sprite crossed 1.3× at 32.
   * @default 28
   */
  readonly maxBurst?: number;
  /** Most prefetch batches in flight at once. @default 4 */
  readonly maxConcurrent?: number;
  /** Most keys in one prefetch batch. @default 32 */
  readonly maxBatch?: number;
  /** Starting (and lowest) confidence threshold. @default 0.02 */
  readonly minProbability?: number;
  /**
   * Least probability at which a prediction of a key already cached refreshes its recency (`target.touch`), so
   * eviction keeps what a model expects to be read; 1 turns this off. By default every prediction offered counts:
   * it already ranks in the predictor's top `predictLimit` for a live context, and a touch costs no origin load, so
   * the ranking is filter enough. Measured with bench/tune-prescient.ts, mean over sketch seeds: yoochoose at 1% /
   * 5% of the keys (6 seeds) 26.48 / 54.59% hit at 0.3, 26.94 / 55.33% at 0.02, 27.17 / 55.04% at 0 (W-TinyLFU
   * alone 26.14 / 54.30%); LIRS multi2 at 57 entries (3 seeds) 33.64% at 0.3, 35.68% at 0.02, 36.17% at 0.
   * @default 0
   */
  readonly touchProbability?: number;
  /**
   * Whether each offer's fetches are capped by a limit that adapts to the budget (see the file's point 4): it
   * falls while candidates wait for tokens and rises while tokens go unspent, between 1 and `maxQueue`. false
   * queues every candidate above the threshold. @default true
   */
  readonly paceOffers?: boolean;
  /**
   * Least probability a candidate for an anonymous read (no session, no user: a block or object trace) needs, on top
   * of its source's threshold. There the models offer many confident candidates, and the rare guesses under 4% cost
   * more room and fetches than their few hits earn: over hash seeds 1..2, scarab 55.34 / 61.73 → 56.11 / 61.93%,
   * sprite 78.57 → 78.75% at 1.29 → 1.23× LRU's fetches, ARC OLTP 67.22 → 66.99% at 1.20 → 1.18× (BENCHMARKS.md,
   * "2026-12-06, night"). Session reads keep `minProbability` alone. @default 0.04
   */
  readonly anonymousMinProbability?: number;
  /** Highest the adaptive threshold may climb. @default 0.5 */
  readonly maxProbability?: number;
  /** Precision the adaptive threshold steers toward; 0 turns adaptation off. @default 0.05 */
  readonly targetPrecision?: number;
  /** Estimated cost of a miss, in ms, per key. @default () => 20 */
  readonly missCostMs?: (key: string) => number;
  /** Expected size of an item in bytes (the ÷ size term), per key. @default () => 1 */
  readonly expectedBytes?: (key: string) => number;
  /** Eta discount horizon in ms: benefit halves at eta = horizon. @default 1000 */
  readonly horizonMs?: number;
  /** Candidates older than this are dropped. @default 5000 */
  readonly candidateTtlMs?: number;
  /** Most candidates queued; the least beneficial go first. @default 1024 */
  readonly maxQueue?: number;
  /** Retries of a batch that failed (transient origin error). @default 2 */
  readonly retries?: number;
  /** First retry delay; doubles per attempt. @default 50 */
  readonly retryBackoffMs?: number;
};

/** Default `maxExtraLoad`: wasted prefetches may add 30% to the demand load (1.3x, the budget the issue sets). */
export const defaultMaxExtraLoad = 0.3;


export class PrefetchScheduler {
  readonly #o: Required<Omit<PrefetchSchedulerOptions, 'target' | 'clock' | 'feedback' | keyof CandidateScoreOptions>>;
  readonly #target: PrefetchTarget;
  readonly #clock: Clock;
  readonly #feedback: Feedback;
  readonly #queue = new CandidateQueue();
  readonly #generations: OfferGenerations;
  #tokens: number;
  readonly #threshold: ConfidenceThreshold;
  #inflightBatches = 0;
  readonly #offerLimit: OfferLimit | undefined;
  readonly #score: CandidateScore;
  #isClosed = false;
  #offered = 0;
  #belowThreshold = 0;
  #skippedPresent = 0;
  #droppedStale = 0;
  #issued = 0;
  #failed = 0;
  #retried = 0;

  constructor(options: PrefetchSchedulerOptions) {
    optionsObject(options);
    this.#target = hasMethods<PrefetchTarget>('target', options.target, ['isPresent', 'fetch']);
    this.#clock = hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']);
    this.#feedback = hasMethods<Feedback>('feedback', options.feedback, ['issued', 'stats']);
    const o = {
      maxExtraLoad: nonNegativeNumber('maxExtraLoad', options.maxExtraLoad, defaultMaxExtraLoad),
      maxBurst: positiveInt('maxBurst', options.maxBurst, 28),
      maxConcurrent: positiveInt('maxConcurrent', options.maxConcurrent, 4),
      maxBatch: positiveInt('maxBatch', options.maxBatch, 32),
      minProbability: numberInRange('minProbability', options.minProbability, 0, 1, 0.02),
      maxProbability: numberInRange('maxProbability', options.maxProbability, 0, 1, 0.5),
      anonymousMinProbability: numberInRange('anonymousMinProbability', options.anonymousMinProbability, 0, 1, 0.04),
      touchProbability: numberInRange('touchProbability', options.touchProbability, 0, 1, 0),
      paceOffers: options.paceOffers ?? true,
      targetPrecision: numberInRange('targetPrecision', options.targetPrecision, 0, 1, 0.05),
      missCostMs: options.missCostMs ?? (() => 20),
      expectedBytes: options.expectedBytes ?? (() => 1),
      horizonMs: nonNegativeNumber('horizonMs', options.horizonMs, 1000),
      candidateTtlMs: nonNegativeNumber('candidateTtlMs', options.candidateTtlMs, 5000, true),
      maxQueue: positiveInt('maxQueue', options.maxQueue, 1024),
      retries: nonNegativeInt('retries', options.retries, 2),
      retryBackoffMs: nonNegativeNumber('retryBackoffMs', options.retryBackoffMs, 50),
    };
    if (o.minProbability > o.maxProbability) {
      // Blame the one the caller set (both set: the floor).
      if (options.minProbability === undefined) throw new InvalidOptionError('maxProbability', `at least \`minProbability\` (${o.minProbability})`, o.maxProbability);
      throw new InvalidOptionError('minProbability', `at most \`maxProbability\` (${o.maxProbability})`, o.minProbability);
    }
    if (typeof o.paceOffers !== 'boolean') throw new InvalidOptionError('paceOffers', 'a boolean', o.paceOffers);
    if (typeof o.missCostMs !== 'function') throw new InvalidOptionError('missCostMs', 'a function', o.missCostMs);
    if (typeof o.expectedBytes !== 'function') throw new InvalidOptionError('expectedBytes', 'a function', o.expectedBytes);
    this.#o = Object.freeze(o);
    this.#tokens = o.maxBurst;
    this.#generations = new OfferGenerations(o.maxQueue * 4);
    this.#threshold = new ConfidenceThreshold({ ...o, feedback: this.#feedback });
    this.#offerLimit = o.paceOffers ? new OfferLimit({ maxCandidates: o.maxQueue, maxTokens: o.maxBurst }) : undefined;
    this.#score = new CandidateScore(options, this.#feedback);
  }

  /** The confidence bar over all sources (a prediction faces the bar of its own source: `thresholdFor`). */
  get threshold(): number {
    return this.#threshold.value;
  }
  /** The confidence bar predictions of `source` must reach now. */
  thresholdFor(source: string): number {
    return this.#threshold.valueFor(source);
  }

  /** Most candidates the next offer may queue (`maxQueue` when `paceOffers` is false). */
  get offerLimit(): number {
    return this.#offerLimit?.value ?? this.#o.maxQueue;
  }

  /** Candidates waiting. */
  get queued(): number {
    return this.#queue.length;
  }

  /** `count` keys were fetched on demand: the budget grows by `maxExtraLoad` per key. */
  onDemandFetch(count = 1): void {
    this.#refill(count * this.#o.maxExtraLoad);
  }

  /**
   * A read missed a key the demand regions evicted moments ago (the memory tier's `onDisplacedMiss`): the same cache
   * without prefetch, whose demand regions would have had the prefetch region's room too, would likely have served
   * it. Its demand fetch is load prefetch caused, not load of the cache without prefetch, so it earns the budget
   * nothing: this takes back the `maxExtraLoad` its fetch will add (`onDemandFetch`). Without it, a prefetcher whose
   * room displaced demand entries earned budget from the misses it caused (LIRS sprite at 5%: 22% of the demand
   * misses, against 1% on scarab-500k; BENCHMARKS.md). The bucket may go below zero; it refills as before.
   */
  onDisplacedMiss(): void {
    this.#tokens -= this.#o.maxExtraLoad;
  }

  /**
   * A prefetch was used: it replaced a demand fetch, so its token comes back, and the fetch it replaced counts
   * toward the budget like a demand fetch. A prefetch that spent no token (`wasScheduled` false: a caller's explicit
   * hint, `Cache.prefetch`) gives back only the latter, so hints never buy the models extra waste.
   */
  onUsed(wasScheduled = true): void {
    this.#refill(wasScheduled ? 1 + this.#o.maxExtraLoad : this.#o.maxExtraLoad);
  }

  #refill(tokens: number): void {
    const t = this.#tokens + tokens;
    this.#tokens = t > this.#o.maxBurst ? this.#o.maxBurst : t;
    if (this.#tokens >= 1 && this.#queue.length > 0) this.pump();
  }

  /**
   * New predictions for `ctx`. Replaces the candidates queued for the same context (the session moved on), skips
   * what is cached or in flight and what falls below the threshold, then sends what the budget allows.
   */
  offer(ctx: ReadContext, predictions: readonly Prediction[]): void {
    if (this.#isClosed) return;
    this.#threshold.adapt();
    this.#offerLimit?.offered(this.#tokens);
    this.#score.offered(ctx, this.#tokens, this.#o.maxBurst);
    const ctxKey = contextKey(ctx);
    const generation = this.#generations.next(ctxKey);
    const now = this.#clock.now();
    const queuedBefore = this.#queue.length;
    const bar = this.#score.barFor(ctx);
    const floor = isAnonymous(ctx) ? this.#o.anonymousMinProbability : 0;
    const target = this.#target;
    for (const p of predictions) {
      this.#offered++;
      // Known after the touch check (nothing changes before the second use), so each key is looked up once.
      let isPresent: boolean | undefined;
      if (p.probability >= this.#o.touchProbability && target.touch !== undefined) {
        isPresent = target.touchIfPresent !== undefined ? target.touchIfPresent(p.key) : target.isPresent(p.key) && (target.touch(p.key), true);
        if (isPresent) {
          this.#skippedPresent++;
          continue;
        }
      }
      if (!(p.probability >= this.#threshold.valueFor(p.source ?? 'unknown')) || p.probability < floor) {
        this.#belowThreshold++;
        continue;
      }
      if (isPresent ?? target.isPresent(p.key)) {
        this.#skippedPresent++;
        continue;
      }
      const cost = this.#o.missCostMs(p.key);
      const bytes = Math.max(1, this.#o.expectedBytes(p.key));
      const eta = p.etaMs ?? 0;
      const source = p.source ?? 'unknown';
      const score = this.#score.score(p.probability, source, ctx);
      if (score < bar) {
        this.#belowThreshold++;
        continue;
      }
      const benefit = ((score * cost) / bytes) / (1 + eta / Math.max(1, this.#o.horizonMs));
      const request: PrefetchRequest = { key: p.key, probability: p.probability, source, ctx };
      this.#queue.push({ request, score, benefit, ctxKey, generation, at: now, attempt: 0 });
    }
    if (this.#offerLimit !== undefined) this.#belowThreshold += this.#queue.capFrom(queuedBefore, this.#offerLimit.value);
    // While no token comes, pump sends nothing and trims nothing: past twice `maxQueue`, drop the stale and the least
    // beneficial here (amortised: one sort per `maxQueue` candidates queued).
    if (this.#queue.length > 2 * this.#o.maxQueue) {
      this.#droppedStale += this.#queue.removeIf((c) => this.#isStale(c, now));
      this.#droppedStale += this.#queue.sortAndTrim(this.#o.maxQueue);
    }
    this.pump();
  }

  /** Sends batches while the budget, the concurrency cap and the queue allow. */
  pump(): void {
    if (this.#isClosed) return;
    while (this.#tokens >= 1 && this.#inflightBatches < this.#o.maxConcurrent && this.#queue.length > 0) {
      const now = this.#clock.now();
      // Over the bound, the stale go before the least beneficial: a superseded candidate must not outrank a fresh one.
      if (this.#queue.length > this.#o.maxQueue) this.#droppedStale += this.#queue.removeIf((c) => this.#isStale(c, now));
      this.#droppedStale += this.#queue.sortAndTrim(this.#o.maxQueue);
      const batch: Candidate[] = [];
      while (batch.length < this.#o.maxBatch && this.#tokens >= 1 && this.#queue.length > 0) {
        const c = this.#queue.pop()!;
        if (this.#isStale(c, now)) {
          this.#droppedStale++;
          continue;
        }
        if (hasKey(batch, c.request.key) || this.#target.isPresent(c.request.key)) {
          this.#skippedPresent++;
          continue;
        }
        batch.push(c);
        this.#tokens -= 1;
      }
      if (batch.length === 0) break;
      this.#send(batch);
    }
    if (this.#tokens < 1 && this.#queue.length > 0) this.#offerLimit?.starved();
  }

  /** Stops sending; queued candidates are dropped. */
  close(): void {
    this.#isClosed = true;
    this.#queue.clear();
  }

  stats(): SchedulerStats {
    return {
      queued: this.#queue.length,
      inflightBatches: this.#inflightBatches,
      threshold: this.#threshold.value,
      scoreBar: this.#score.bar,
      thresholds: this.#threshold.bySource(),
      offerLimit: this.offerLimit,
      tokens: this.#tokens,
      offered: this.#offered,
      belowThreshold: this.#belowThreshold,
      skippedPresent: this.#skippedPresent,
      droppedStale: this.#droppedStale,
      issued: this.#issued,
      failed: this.#failed,
      retried: this.#retried,
    };
  }

  #send(batch: Candidate[]): void {
    this.#inflightBatches++;
    for (const c of batch) {
      if (c.attempt > 0) continue; // the same prefetch again: issued at its first attempt, counted in `retried`
      this.#issued++;
      this.#feedback.issued(c.request.key, c.request.probability, c.request.source);
    }
    let sent: ReturnType<PrefetchTarget['fetch']>;
    try {
      sent = this.#target.fetch(batch.map((c) => c.request));
    } catch (error) {
      sent = Promise.reject(error); // a target that throws instead of rejecting must not leave its slot taken for good
    }
    sent.then(
      (r) => this.#done(batch, r.failed),
      () => this.#done(batch, batch.map((c) => c.request)),
    );
  }

  /** A batch settled: its slot frees up, what failed is retried, and the queue goes on. */
  #done(batch: Candidate[], failed: readonly PrefetchRequest[]): void {
    this.#inflightBatches--;
    if (failed.length > 0) this.#retry(batch, failed);
    this.pump();
  }

  #retry(batch: Candidate[], failed: readonly PrefetchRequest[]): void {
    this.#failed += failed.length;
    const failedKeys = new Set(failed.map((r) => r.key));
    const again = batch.filter((c) => failedKeys.has(c.request.key) && c.attempt < this.#o.retries);
    if (again.length === 0 || this.#isClosed) return;
    const delay = this.#o.retryBackoffMs * 2 ** again[0].attempt;
    this.#clock.setTimer(delay, () => {
      if (this.#isClosed) return;
      const now = this.#clock.now();
      for (const c of again) {
        this.#retried++;
        this.#queue.push({ ...c, at: now, attempt: c.attempt + 1 });
      }
      this.pump();
    });
  }

  #isStale(c: Candidate, now: number): boolean {
    return !this.#generations.isCurrent(c.ctxKey, c.generation) || now - c.at > this.#o.candidateTtlMs;
  }
}
