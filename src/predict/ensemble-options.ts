/**
 * EnsemblePredictorOptions: the options of EnsemblePredictor (ensemble-predictor.ts), kept apart so that the
 * predictor's file holds its logic.
 */
import type { DeltaPredictorOptions } from './delta-predictor.ts';
import type { MarkovPredictorOptions } from './markov-predictor.ts';
import type { PopularityPredictorOptions } from './popularity-predictor.ts';
import type { SequentialRulesPredictorOptions } from './sequential-rules-predictor.ts';
import type { SessionKnnPredictorOptions } from './session-knn-predictor.ts';

/** Options of EnsemblePredictor. A source set to `false` is left out. */
export type EnsemblePredictorOptions = {
  /** Options of the inner MarkovPredictor (its user, segment and global scopes are three sources). */
  readonly markov?: MarkovPredictorOptions;
  /** Options of the inner DeltaPredictor, or false. @default {} */
  readonly delta?: DeltaPredictorOptions | false;
  /** Options of the inner PopularityPredictor, or false. @default { refreshAccesses: 64 } */
  readonly popularity?: PopularityPredictorOptions | false;
  /** Options of the inner SessionKnnPredictor, or false. @default { maxScanned: 60, sampleSize: 30, neighbors: 30 } */
  readonly knn?: SessionKnnPredictorOptions | false;
  /**
   * Options of the inner SequentialRulesPredictor (a source learning what follows a key within a few steps), or
   * false. Off by default: beside session-kNN it lifts Recall@20 (yoochoose 0.658 -> 0.661) but the replays only
   * move within noise either way (over hash seeds 1..6, yoochoose 28.04 / 56.06 -> 28.17 / 56.08%, diginetica
   * 20.93 / 24.81 -> 20.72 / 24.76% at 1% / 5%; BENCHMARKS.md, Next-request accuracy). @default false
   */
  readonly rules?: SequentialRulesPredictorOptions | false;
  /** Most predictions taken from each source and kept in the combined list. @default 20 */
  readonly candidates?: number;
  /** A source scores a hit when the next key is in its top `hitDepth` (at most `candidates`). @default min(10, candidates) */
  readonly hitDepth?: number;
  /** Half-life of the accuracy averages and mixture weights, in scored steps. @default 2000 */
  readonly accuracyHalfLife?: number;
  /** Exponent applied to the learned mixture weights (1 = the likelihood mixture; higher trusts the leader more). @default 1 */
  readonly sharpness?: number;
  /** User observations at which the per-user model gets half its accuracy weight. @default 10 */
  readonly userConfidence?: number;
  /** Observes without kept lists scored, and predictions asking every source: 1 in this many. @default 8 */
  readonly sampleEvery?: number;
  /** Weight share in a context kind under which a source is not asked (but on sampled steps), in [0, 1). @default 0.01 */
  readonly muteShare?: number;
  /**
   * Whether popularity is asked for anonymous reads (no session, no user). Off by default: in an anonymous stream
   * (block and object traces) popularity names the hot keys, which the cache holds already, and its weight there
   * crowded out the sources that name uncached keys (cache2k web07 58.2 → 62.3% at 1%, ARC OLTP 65.1 → 66.1%).
   * @default false
   */
  readonly anonymousPopularity?: boolean;
  /**
   * For anonymous reads (one global stream), delta's candidates (computed scan continuations) count as right for
   * calibration when their key is read within the next `anonymousHorizon` accesses before any other candidate of the
   * same list, not only when it is the next access (horizon-scores.ts): interleaved scans read a scan's next block a
   * few accesses later. 1 is the next-access rule of sessions; 1 to 64. At 3, over hash seeds 1..6, LIRS multi2 rises
   * from 53.5 / 68.8% to about 66 / 85% at 1% / 5% (read-ahead 60.0 / 68.0) with sprite, 2_pools and the cache2k,
   * scarab and ARC traces holding (BENCHMARKS.md, "2026-12-06, night"). No effect without the delta source. @default 3
   */
  readonly anonymousHorizon?: number;
  /** Most live sessions whose last predictions are cached. @default 20000 */
  readonly maxSessions?: number;
  /**
   * Most distinct keys the models know by id (KeyInterner); past it a new key takes the id of one of the least
   * recently read, so a stream of ever new keys cannot grow the process without bound. @default 1000000
   */
  readonly maxKeys?: number;
  /** A session idle longer than this, in ms, is dropped. @default 1800000 */
  readonly sessionIdleMs?: number;
  /** Name reported by the ensemble. @default 'ensemble' */
  readonly name?: string;
};
