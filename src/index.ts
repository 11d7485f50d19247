/**
 * Prescient's public API. Named exports only; adapters with heavy peers get their own entry points later
 * (`prescient/redis`, `prescient/postgres`).
 */
export { Cache } from './cache/cache.ts';
export type { CacheEvents, CacheStats, DeleteOptions, InvalidateSelector, ReadResult, ReadStatus, SetOptions } from './cache/cache.ts';
export { estimateBytes } from './cache/cache-options.ts';
export type { CacheFault, CacheOptions, CachePrefetchOptions, ShadowOptions } from './cache/cache-options.ts';
export type { ShadowStats } from './cache/shadow-catalog.ts';
export type { ShadowItem, ShadowListOptions } from './cache/shadow-listing.ts';
export { entryFields, isExpired, isSameEntry, isStale } from './cache/entry.ts';
export type { Entry, EntrySource, RemovalCause } from './cache/entry.ts';
export { FrequencySketch } from './cache/frequency-sketch.ts';
export type { FrequencySketchOptions } from './cache/frequency-sketch.ts';
export { MemoryTier } from './cache/memory-tier.ts';
export { PredictionBudget } from './cache/prediction-budget.ts';
export type { PredictionBudgetOptions } from './cache/prediction-budget.ts';
export type { MemoryTierOptions } from './cache/memory-tier.ts';
export type { Awaitable, Tier, TierStats } from './cache/tier.ts';
export { decodeNotice, encodeNotice, MemoryWriteBus } from './cache/write-bus.ts';
export type { KeyChange, WriteBus, WriteBusListener, WriteNotice } from './cache/write-bus.ts';
export type { WriteBusStats } from './cache/write-bus-link.ts';

export { deferOn, systemClock, VirtualClock } from './clock.ts';
export type { Clock, TimerHandle } from './clock.ts';
export { anonymous, checkContext } from './context.ts';
export type { ReadContext } from './context.ts';
export {
  InvalidKeyError,
  InvalidOptionError,
  isPrescientError,
  OriginError,
  PrescientError,
  TraceParseError,
  ValueTooLargeError,
} from './errors.ts';
export type { ErrorCode } from './errors.ts';

export { FunctionOrigin, MapOrigin } from './origin/function-origin.ts';
export type { FunctionOriginOptions } from './origin/function-origin.ts';
export { isOriginFailure, OriginFailure } from './origin/origin.ts';
export type { FetchOptions, FetchPurpose, Origin, OriginAnswer, OriginRecord, PutManyOutcome } from './origin/origin.ts';

export { DeltaPredictor } from './predict/delta-predictor.ts';
export type { DeltaPredictorOptions } from './predict/delta-predictor.ts';
export { EnsemblePredictor } from './predict/ensemble-predictor.ts';
export type { EnsemblePredictorOptions } from './predict/ensemble-predictor.ts';
export { MarkovPredictor } from './predict/markov-predictor.ts';
export type { MarkovPredictorOptions, MarkovScope } from './predict/markov-predictor.ts';
export { PopularityPredictor } from './predict/popularity-predictor.ts';
export type { PopularityPredictorOptions } from './predict/popularity-predictor.ts';
export { SequentialRulesPredictor } from './predict/sequential-rules-predictor.ts';
export type { SequentialRulesPredictorOptions } from './predict/sequential-rules-predictor.ts';
export { SessionKnnPredictor } from './predict/session-knn-predictor.ts';
export type { SessionKnnPredictorOptions } from './predict/session-knn-predictor.ts';
export type { Access, Prediction, Predictor } from './predict/predictor.ts';
export { WorkerPredictor } from './predict/worker-predictor.ts';
export type { WorkerPredictorOptions, WorkerPredictorStats } from './predict/worker-predictor.ts';

export { Feedback } from './prefetch/feedback.ts';
export type { FeedbackEvent, FeedbackOptions, FeedbackStats, SourceStats } from './prefetch/feedback.ts';
export { PrefetchScheduler } from './prefetch/prefetch-scheduler.ts';
export type { PrefetchRequest, PrefetchSchedulerOptions, PrefetchTarget, SchedulerStats } from './prefetch/prefetch-scheduler.ts';

export { evaluatePredictors, defaultPredictorSet, EmptyCutError } from './sim/evaluate.ts';
export type { EvaluationOptions, EvaluationRequest, EvaluationResult } from './sim/evaluate.ts';
export { openTrace } from './sim/trace-reader.ts';
export type { TraceOptions, TraceSource, TraceStats } from './sim/trace-reader.ts';
export { loadWorkload } from './sim/workload.ts';
export type { Workload, WorkloadOptions } from './sim/workload.ts';
export { resolveCapacity, simulate } from './sim/simulator.ts';
export { simulateInParallel } from './sim/parallel-simulate.ts';
export type { ParallelSimulationOptions } from './sim/parallel-simulate.ts';
export type { SimulationOptions, SimulationRun } from './sim/simulator.ts';
export type { PolicyName, PolicyResult } from './sim/sim-result.ts';

export { cacheChangeTarget } from './cache/cache-change-target.ts';
export type { AppliedChange, ChangeFeedMode, ChangeRecord, ChangesFunction, ChangeTarget, ListenFunction } from './sync/change-target.ts';
export { counterResolver, lastWriterWins } from './sync/conflict.ts';
export type { ConflictResolver } from './sync/conflict.ts';
export { Hlc, HLC_LOGICAL_BITS, HLC_LOGICAL_SPAN, HLC_NODE_SPAN, hlcLogical, hlcPhysicalMs } from './sync/hlc.ts';
export type { HlcOptions } from './sync/hlc.ts';
export { Journal, ROLL_CONFIRMED_BYTES } from './sync/journal.ts';
export type { JournalFrame, JournalOptions } from './sync/journal.ts';
export { WriteBack } from './sync/write-back.ts';
export { DEFAULT_MAX_PENDING_BYTES } from './sync/write-back-options.ts';
export type { WriteBackEvents, WriteBackLogger, WriteBackOptions, WriteBackStats, WriteBackTarget } from './sync/write-back.ts';
