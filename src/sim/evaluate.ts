/**
 * evaluatePredictors: the standard session protocol for next-request accuracy.
 *
 * Why: session-based recommendation is judged by hiding the future (Hidasi et al. 2016, GRU4Rec; Ludewig &
 * Jannach 2018, "Evaluation of session-based recommendation algorithms"): sessions are ordered by their start,
 * those that start after a cut are the test set, and for every position i >= 1 of a test session the model
 * predicts the next item from the prefix. Recall@k counts the positions whose true next item is in the top k;
 * MRR@k averages 1/rank (0 beyond k). Here the models learn online: training sessions are observed in global
 * time order, and with `learnOnline` each test click is observed after it has been predicted, as a live cache
 * would. Two streaming passes over a re-iterable source (one to find session starts, one to replay) keep memory
 * to one small record per session; a one-shot iterator is buffered first.
 */
import { InvalidOptionError } from '../errors.ts';
import { numberInRange } from '../options.ts';
import { DeltaPredictor } from '../predict/delta-predictor.ts';
import { EnsemblePredictor } from '../predict/ensemble-predictor.ts';
import { MarkovPredictor } from '../predict/markov-predictor.ts';
import { PopularityPredictor } from '../predict/popularity-predictor.ts';
import type { Predictor } from '../predict/predictor.ts';
import { SequentialRulesPredictor } from '../predict/sequential-rules-predictor.ts';
import { SessionKnnPredictor } from '../predict/session-knn-predictor.ts';

/** One request of a session log, in global time order. `time` is in milliseconds when present. */
export type EvaluationRequest = { readonly key: string; readonly session: string; readonly user?: string; readonly time?: number };

/** A named predictor factory: one fresh predictor per evaluation. */
export type PredictorFactory = { readonly name: string; readonly make: () => Predictor };

/** Options of evaluatePredictors. Exactly one of `trainFraction` and `trainUntil` sets the cut. */
export type EvaluationOptions = {
  /** Fraction of sessions (by start order) used for training, in (0, 1). @default 0.8 when `trainUntil` is absent */
  readonly trainFraction?: number;
  /** Sessions that start at or after this time (same unit as `time`) are the test set. */
  readonly trainUntil?: number;
  /** Cut-offs for Recall@k and MRR@k, positive integers. */
  readonly ks: readonly number[];
  /** Predictors to compare, each run on the same stream in the same pass. */
  readonly predictors: readonly PredictorFactory[];
  /**
   * True: test clicks are replayed in global order with training clicks, each observed right after it is
   * predicted (a live cache). False: the test phase starts after every training click has been observed, and
   * test clicks are replayed afterwards in global order; they are still observed after being predicted, because
   * the Predictor contract has no read-only way to hand a model its session prefix.
   */
  readonly learnOnline: boolean;
};

/** Accuracy of one predictor. Keys of `recall` and `mrr` are the ks as strings. */
export type PredictorAccuracy = { readonly name: string; readonly recall: Record<string, number>; readonly mrr: Record<string, number> };

/** What evaluatePredictors measured. */
export type EvaluationResult = {
  readonly trainRequests: number;
  readonly testRequests: number;
  readonly trainSessions: number;
  readonly testSessions: number;
  /** Test positions predicted (test requests that are not the first of their session). */
  readonly testPositions: number;
  readonly predictors: PredictorAccuracy[];
};

/**
 * Largest cut-off k: a ranking of more than a thousand candidates says nothing a cache can use, and the counters
 * and rankings are sized by k (a k of 1e11 asked for a 800 GB array).
 */
export const maxRankK = 1000;

/**
 * Runs the session protocol over `requests` (global time order) for every predictor and returns Recall@k and
 * MRR@k. Throws ERR_INVALID_OPTION for bad ks, fractions or a missing cut; sessions are identified by `session`.
 */
export function evaluatePredictors(requests: Iterable<EvaluationRequest>, options: EvaluationOptions): EvaluationResult {
  const ks = options.ks;
  if (!Array.isArray(ks) || ks.length === 0 || ks.some((k) => !Number.isSafeInteger(k) || k <= 0 || k > maxRankK)) {
    throw new InvalidOptionError('ks', `a non-empty array of integers from 1 to ${maxRankK}`, ks);
  }
  if (options.trainFraction !== undefined && options.trainUntil !== undefined) {
    throw new InvalidOptionError('trainUntil', 'absent when `trainFraction` is given', options.trainUntil);
  }
  if (options.trainUntil !== undefined && (typeof options.trainUntil !== 'number' || Number.isNaN(options.trainUntil))) {
    throw new InvalidOptionError('trainUntil', 'a number', options.trainUntil);
  }
  const fraction = options.trainUntil === undefined ? numberInRange('trainFraction', options.trainFraction, 0, 1, 0.8) : 0;
  if (!Array.isArray(options.predictors)) throw new InvalidOptionError('predictors', 'an array', options.predictors);
  const source = isOneShot(requests) ? [...requests] : requests;
  const maxK = Math.max(...ks);

  // Pass 1: session start order (and start time).
  const rank = new Map<string, number>();
  let isTest: (r: number) => boolean;
  if (options.trainUntil !== undefined) {
    const testRanks = new Set<number>();
    for (const q of source) {
      if (rank.has(q.session)) continue;
      const r = rank.size;
      rank.set(q.session, r);
      if ((q.time ?? -Infinity) >= options.trainUntil) testRanks.add(r);
    }
    isTest = (r) => testRanks.has(r);
  } else {
    for (const q of source) if (!rank.has(q.session)) rank.set(q.session, rank.size);
    const cut = Math.floor(fraction * rank.size);
    isTest = (r) => r >= cut;
  }

  // Pass 2: replay.
  const models = options.predictors.map((p) => p.make());
  const hits = models.map(() => new Float64Array(maxK + 1));
  const rr = models.map(() => new Float64Array(maxK + 1));
  const seen = new Set<string>();
  let trainRequests = 0;
  let testRequests = 0;
  let positions = 0;
  let testSessions = 0;
  let t = 0;
  const observe = (q: EvaluationRequest) => {
    const access = { key: q.key, at: q.time ?? t, ctx: q.user === undefined ? { session: q.session } : { session: q.session, user: q.user } };
    for (const m of models) m.observe(access);
  };
  const deferred: EvaluationRequest[] = [];
  const test = (q: EvaluationRequest) => {
    testRequests++;
    const first = !seen.has(q.session);
    if (first) {
      seen.add(q.session);
      testSessions++;
    } else {
      positions++;
      const ctx = q.user === undefined ? { session: q.session } : { session: q.session, user: q.user };
      for (let m = 0; m < models.length; m++) {
        const predicted = models[m].predict(ctx, maxK);
        for (let i = 0; i < predicted.length && i < maxK; i++) {
          if (predicted[i].key === q.key) {
            hits[m][i + 1]++;
            rr[m][i + 1] += 1 / (i + 1);
            break;
          }
        }
      }
    }
    observe(q);
  };
  for (const q of source) {
    t = q.time ?? t + 1;
    if (isTest(rank.get(q.session) ?? 0)) {
      if (options.learnOnline) test(q);
      else deferred.push(q);
    } else {
      trainRequests++;
      observe(q);
    }
  }
  for (const q of deferred) test(q);
  const predictors = models.map((_, m) => {
    const recall: Record<string, number> = {};
    const mrr: Record<string, number> = {};
    for (const k of ks) {
      let h = 0;
      let s = 0;
      for (let i = 1; i <= k; i++) {
        h += hits[m][i];
        s += rr[m][i];
      }
      recall[String(k)] = positions === 0 ? 0 : h / positions;
      mrr[String(k)] = positions === 0 ? 0 : s / positions;
    }
    return { name: options.predictors[m].name, recall, mrr };
  });
  return { trainRequests, testRequests, trainSessions: rank.size - testSessions, testSessions, testPositions: positions, predictors };
}

function isOneShot(it: Iterable<unknown>): boolean {
  const candidate = it as unknown as { next?: unknown };
  return typeof candidate.next === 'function' && (it[Symbol.iterator]() as unknown) === it;
}

/**
 * The standard comparison set: first-, second- and third-order Markov (each a pure order, no back-off), the
 * default variable-order Markov, delta, popularity, session-kNN and the ensemble.
 */
export function defaultPredictorSet(): PredictorFactory[] {
  return [
    { name: 'markov-1', make: () => new MarkovPredictor({ maxOrder: 1, mode: 'fixed', name: 'markov-1' }) },
    { name: 'markov-2', make: () => new MarkovPredictor({ maxOrder: 2, mode: 'fixed', name: 'markov-2' }) },
    { name: 'markov-3', make: () => new MarkovPredictor({ maxOrder: 3, mode: 'fixed', name: 'markov-3' }) },
    { name: 'markov', make: () => new MarkovPredictor() },
    { name: 'delta', make: () => new DeltaPredictor() },
    { name: 'popularity', make: () => new PopularityPredictor() },
    { name: 'session-knn', make: () => new SessionKnnPredictor() },
    { name: 'sequential-rules', make: () => new SequentialRulesPredictor() },
    { name: 'ensemble', make: () => new EnsemblePredictor() },
  ];
}
