/**
 * evaluatePredictors: the standard session protocol for next-request accuracy.
 *
 * Why: session-based recommendation is judged by hiding the future (Hidasi et al. 2016, GRU4Rec; Ludewig &
 * Jannach 2018, "Evaluation of session-based recommendation algorithms"): sessions are ordered by their start,
 * those that start after a cut are the test set, and for every position i >= 1 of a test session the model
 * predicts the next item from the prefix. Recall@k counts the positions whose true next item is in the top k;
 * MRR@k averages 1/rank (0 beyond k). The models learn online: training clicks are observed in global time order,
 * and each test click is observed right after it has been scored, as a live cache would (the Predictor contract
 * has no read-only way to hand a model a session prefix). `learnOnline` only says when the test clicks come:
 * among the training clicks in global time order, or after every training click.
 *
 * Cost: streaming passes over a re-iterable source, never a copy of it: one to find session starts and sizes, one
 * to replay, and with `learnOnline` false a third that scores the test sessions. Memory is one small record per
 * session; a one-shot iterator is buffered first.
 */
import { InvalidOptionError, describe } from '../errors.ts';
import { DeltaPredictor } from '../predict/delta-predictor.ts';
import { EnsemblePredictor } from '../predict/ensemble-predictor.ts';
import { MarkovPredictor } from '../predict/markov-predictor.ts';
import { PopularityPredictor } from '../predict/popularity-predictor.ts';
import type { Predictor } from '../predict/predictor.ts';
import { SequentialRulesPredictor } from '../predict/sequential-rules-predictor.ts';
import { SessionKnnPredictor } from '../predict/session-knn-predictor.ts';
import { grow } from './workload.ts';

/** One request of a session log, in global time order. `time` is in milliseconds when present. */
export type EvaluationRequest = { readonly key: string; readonly session: string; readonly user?: string; readonly time?: number };

/** A named predictor factory: one fresh predictor per evaluation. */
export type PredictorFactory = {
  readonly name: string;
  readonly make: () => Predictor;
  /**
   * Most keys one `predict` of this predictor returns for a read that names only a session, however large its
   * `limit`, when a constant or a table size caps the list; absent when the list can reach any k up to
   * {@link maxRankK}. Recall@k and MRR@k for a larger k count only this many keys.
   */
  readonly maxListLength?: number;
};

/** Options of evaluatePredictors. Exactly one of `trainFraction` and `trainUntil` sets the cut. */
export type EvaluationOptions = {
  /** Fraction of sessions (by start order) used for training, strictly between 0 and 1. @default 0.8 when `trainUntil` is absent */
  readonly trainFraction?: number;
  /**
   * Sessions that start at or after this time (same unit as `time`) are the test set; a session whose first
   * request has no time trains. Needs at least one request with a time.
   */
  readonly trainUntil?: number;
  /** Cut-offs for Recall@k and MRR@k, integers from 1 to {@link maxRankK}. */
  readonly ks: readonly number[];
  /** Predictors to compare, each run on the same stream in the same pass. */
  readonly predictors: readonly PredictorFactory[];
  /**
   * When the test clicks are scored. True: in global time order among the training clicks (a live cache). False:
   * after every training click has been observed, in global time order. Either way each test click is observed
   * right after it is scored, so a test session still teaches the models (the Predictor contract has no read-only
   * way to hand a model a session prefix): false does not freeze the models.
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
  /** Test positions predicted (test requests that are not the first of their session); at least 1. */
  readonly testPositions: number;
  readonly predictors: PredictorAccuracy[];
};

/**
 * Largest cut-off k: a ranking of more than a thousand candidates says nothing a cache can use, and the counters
 * and rankings are sized by k (a k of 1e11 asked for a 800 GB array).
 */
export const maxRankK = 1000;

/**
 * The cut leaves nothing to measure or nothing to learn from: no test session has a second request (or there is no
 * test session), so Recall and MRR would be 0 over no position, which reads as a measurement; or no request is
 * before the cut, so the "trained" models would have seen nothing. Code ERR_INVALID_OPTION, naming the option that
 * set the cut; the split's sizes come along for a caller that words its own message. Thrown before any replay.
 */
export class EmptyCutError extends InvalidOptionError {
  readonly trainRequests: number;
  readonly testRequests: number;
  readonly testSessions: number;
  constructor(option: 'trainFraction' | 'trainUntil', value: number, split: { trainRequests: number; testRequests: number; testSessions: number }) {
    super(option, 'a cut that leaves training requests and a test session of two requests or more', value);
    this.name = 'EmptyCutError';
    this.message =
      split.trainRequests === 0
        ? `Nothing to train on: \`${option}\` ${describe(value)} leaves no request before the cut`
        : `No test position to predict: \`${option}\` ${describe(value)} leaves ${split.testRequests} test requests in ${split.testSessions} sessions, none with a second request`;
    this.trainRequests = split.trainRequests;
    this.testRequests = split.testRequests;
    this.testSessions = split.testSessions;
  }
}

/**
 * Runs the session protocol over `requests` (global time order) for every predictor and returns Recall@k and
 * MRR@k; sessions are identified by `session`. `requests` is iterated two or three times (a one-shot iterator is
 * buffered first).
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for bad ks, a `trainFraction` outside (0, 1), both cuts, a
 *   `trainUntil` that is not a number or is given when no request has a time
 * @throws EmptyCutError (ERR_INVALID_OPTION) when the cut leaves no training request or no test position, before any replay
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
  const fraction = options.trainFraction ?? 0.8;
  // Exclusive: 0 or 1 puts every session on one side, and the result would be zeros that look measured.
  if (options.trainUntil === undefined && !(typeof fraction === 'number' && fraction > 0 && fraction < 1)) {
    throw new InvalidOptionError('trainFraction', 'a number between 0 and 1, both excluded', fraction);
  }
  if (!Array.isArray(options.predictors)) throw new InvalidOptionError('predictors', 'an array', options.predictors);
  const source = isOneShot(requests) ? [...requests] : requests;
  const split = splitSessions(source, options.trainUntil, fraction);
  if (split.trainRequests === 0 || split.testRequests - split.testSessions === 0) {
    throw options.trainUntil === undefined ? new EmptyCutError('trainFraction', fraction, split) : new EmptyCutError('trainUntil', options.trainUntil, split);
  }
  const { rank, isTest } = split;
  const maxK = Math.max(...ks);

  const models = options.predictors.map((p) => p.make());
  const hits = models.map(() => new Float64Array(maxK + 1));
  const rr = models.map(() => new Float64Array(maxK + 1));
  const seen = new Set<string>();
  let trainRequests = 0;
  let testRequests = 0;
  let positions = 0;
  let testSessions = 0;
  let t = 0;
  const ctxOf = (q: EvaluationRequest) => (q.user === undefined ? { session: q.session } : { session: q.session, user: q.user });
  const observe = (q: EvaluationRequest) => {
    const access = { key: q.key, at: q.time ?? t, ctx: ctxOf(q) };
    for (const m of models) m.observe(access);
  };
  const test = (q: EvaluationRequest) => {
    testRequests++;
    const first = !seen.has(q.session);
    if (first) {
      seen.add(q.session);
      testSessions++;
    } else {
      positions++;
      const ctx = ctxOf(q);
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
  // Pass 2: training clicks, with the test clicks among them when learning online.
  for (const q of source) {
    t = q.time ?? t + 1;
    if (!isTest(rank.get(q.session) ?? 0)) {
      trainRequests++;
      observe(q);
    } else if (options.learnOnline) {
      test(q);
    }
  }
  // Pass 3: the test clicks, in the same order, after all training. A click without a time keeps the stream's
  // last clock (`t` stays where pass 2 left it), as when they were replayed from a buffer.
  if (!options.learnOnline) {
    for (const q of source) if (isTest(rank.get(q.session) ?? 0)) test(q);
  }
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
      recall[String(k)] = h / positions;
      mrr[String(k)] = s / positions;
    }
    return { name: options.predictors[m].name, recall, mrr };
  });
  return { trainRequests, testRequests, trainSessions: rank.size - testSessions, testSessions, testPositions: positions, predictors };
}

/** The cut: each session's start rank, which ranks are test sessions, and the sizes of both sides. */
type SessionSplit = {
  readonly rank: Map<string, number>;
  readonly isTest: (rank: number) => boolean;
  readonly trainRequests: number;
  readonly testRequests: number;
  readonly testSessions: number;
};

/**
 * Pass 1: session start order and sizes, so a cut that leaves nothing to predict fails before any replay.
 * @throws InvalidOptionError when `trainUntil` is given and no request has a time (every session would train)
 */
function splitSessions(source: Iterable<EvaluationRequest>, trainUntil: number | undefined, fraction: number): SessionSplit {
  const rank = new Map<string, number>();
  let sizes = new Int32Array(1024);
  /** 1 for a session that starts at or after `trainUntil`. */
  let late = new Int32Array(1024);
  let timed = 0;
  for (const q of source) {
    if (q.time !== undefined) timed++;
    let r = rank.get(q.session);
    if (r === undefined) {
      r = rank.size;
      rank.set(q.session, r);
      sizes = grow(sizes, r + 1);
      late = grow(late, r + 1);
      if (trainUntil !== undefined && (q.time ?? -Infinity) >= trainUntil) late[r] = 1;
    }
    sizes[r]++;
  }
  if (trainUntil !== undefined && timed === 0) {
    throw new InvalidOptionError('trainUntil', 'absent when no request has a `time` (every session would train): give times or `trainFraction`', trainUntil);
  }
  const cut = Math.floor(fraction * rank.size);
  const isTest = trainUntil === undefined ? (r: number) => r >= cut : (r: number) => late[r] === 1;
  let trainRequests = 0;
  let testRequests = 0;
  let testSessions = 0;
  for (let r = 0; r < rank.size; r++) {
    if (isTest(r)) {
      testRequests += sizes[r];
      testSessions++;
    } else {
      trainRequests += sizes[r];
    }
  }
  return { rank, isTest, trainRequests, testRequests, testSessions };
}

function isOneShot(it: Iterable<unknown>): boolean {
  const candidate = it as unknown as { next?: unknown };
  return typeof candidate.next === 'function' && (it[Symbol.iterator]() as unknown) === it;
}

/** Most successors a Markov or sequential-rules table keeps per context (their option's maximum). */
const maxSuccessorsLimit = 255;
/** The longest list PopularityPredictor and DeltaPredictor return: constants of theirs, with no option. */
const popularityListLength = 64;
const deltaListLength = 64;

/**
 * The standard comparison set: first-, second- and third-order Markov (each a pure order, no back-off), the
 * default variable-order Markov, delta, popularity, session-kNN, sequential rules and the ensemble.
 *
 * Each option that caps a list is raised to at least `maxK` (Math.max of its default and `maxK`), so Recall@k is
 * not Recall at a shorter list: Markov's and sequential rules' `maxSuccessors` (defaults 12 and 20, at most 255)
 * and the ensemble's `candidates` (20). Session-kNN's lists reach 1000 (50 neighbours x 20 keys). A longer cap is a
 * larger model (more successors kept, deeper lists mixed), so a predictor's figure at a small k can differ between
 * runs whose largest k differs. Popularity and delta stop at 64 keys and a successor table at 255: no option
 * lengthens them, and `maxListLength` says so.
 * @param maxK the largest k to be evaluated, 1 to {@link maxRankK}. @default 20
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for another `maxK`
 */
export function defaultPredictorSet(maxK = 20): PredictorFactory[] {
  if (!Number.isSafeInteger(maxK) || maxK < 1 || maxK > maxRankK) throw new InvalidOptionError('maxK', `an integer from 1 to ${maxRankK}`, maxK);
  const markovSuccessors = Math.min(maxSuccessorsLimit, Math.max(12, maxK));
  const rulesSuccessors = Math.min(maxSuccessorsLimit, Math.max(20, maxK));
  const fixed = (order: number): PredictorFactory => ({
    name: `markov-${order}`,
    make: () => new MarkovPredictor({ maxOrder: order, mode: 'fixed', maxSuccessors: markovSuccessors, name: `markov-${order}` }),
    // One context per scope: a session-only read gets one table's successors.
    maxListLength: markovSuccessors,
  });
  return [
    fixed(1),
    fixed(2),
    fixed(3),
    // Orders 1 and 2 blended: two tables' successors.
    { name: 'markov', make: () => new MarkovPredictor({ maxSuccessors: markovSuccessors }), maxListLength: 2 * markovSuccessors },
    { name: 'delta', make: () => new DeltaPredictor(), maxListLength: deltaListLength },
    { name: 'popularity', make: () => new PopularityPredictor(), maxListLength: popularityListLength },
    { name: 'session-knn', make: () => new SessionKnnPredictor() },
    { name: 'sequential-rules', make: () => new SequentialRulesPredictor({ maxSuccessors: rulesSuccessors }), maxListLength: rulesSuccessors },
    { name: 'ensemble', make: () => new EnsemblePredictor({ candidates: Math.max(20, maxK) }) },
  ];
}
