/**
 * PredictionLoop: the side of the cache that learns and prefetches, fed by the read path through a bounded buffer.
 *
 * Why apart from the read path: a read records its access (a few array stores) and returns; this loop drains the
 * buffer on its own turn of the event loop — at most `maxDrainBatch` accesses a turn, so a slow model delays its
 * own learning, never reads or timers — feeds each access to the predictor, asks it once per context seen in the
 * batch what comes next, and hands the answers to the PrefetchScheduler. It also keeps the Feedback: which
 * prefetches were used, which were wasted, which misses no prefetch avoided.
 */
import { deferOn, type Clock, type TimerHandle } from '../clock.ts';
import { contextKey, type ReadContext } from '../context.ts';
import type { Prediction, Predictor } from '../predict/predictor.ts';
import { Feedback, type FeedbackEvent, type FeedbackStats } from '../prefetch/feedback.ts';
import { PrefetchScheduler, type PrefetchTarget, type SchedulerStats } from '../prefetch/prefetch-scheduler.ts';
import { AccessBuffer, type ReadStatus } from './access-buffer.ts';
import type { CachePrefetchOptions } from './cache-options.ts';
import { nestedOptions } from '../options.ts';
import type { Entry, RemovalCause } from './entry.ts';
import type { Flight } from './flight.ts';
import { PredictionBudget, resolvePredictionBudget } from './prediction-budget.ts';

/**
 * Most accesses fed to the models per turn of the event loop; the rest wait for the next turn, so a slow model
 * delays its own learning, never the reads or timers queued behind a drain.
 */
const maxDrainBatch = 1024;
/**
 * Accesses observed between two reads of the budget's time function: small enough that a slice overruns its
 * `maxSliceMs` by little (a few observes), large enough that reading the time costs nothing measurable.
 */
const budgetStride = 16;
/** Contexts kept waiting for a prediction while the budget is spent; the least recently accessed go first. */
const maxDeferredContexts = 4096;

export type PredictionLoopOptions = {
  /** The model; without one, accesses are not recorded and nothing is prefetched (feedback still counts). */
  readonly predictor: Predictor | undefined;
  readonly clock: Clock;
  readonly bufferSize: number;
  /** Predictions asked for per context per drain. */
  readonly predictLimit: number;
  /** Scheduler settings, or false to predict without prefetching. */
  readonly prefetch: CachePrefetchOptions | false;
  /** What the scheduler fetches through and checks against. */
  readonly target: PrefetchTarget;
  /** Every feedback event (issued, used, wasted). */
  readonly onEvent: (event: FeedbackEvent) => void;
  /** Whether anyone listens to events of a type now (no event object is made otherwise). */
  readonly isListened?: (type: FeedbackEvent['type']) => boolean;
  /**
   * Sees each context's fresh predictions before the scheduler does (the shadow catalogs reference them). Without a
   * scheduler, only contexts with a user or segment are predicted for it.
   */
  readonly onPredicted?: (ctx: ReadContext, predictions: readonly Prediction[]) => void;
  /** The cache's live read counters: an adaptive budget sizes the models' share by the reads they could change. */
  readonly reads?: Readonly<Record<ReadStatus, number>>;
  /**
   * Told of each predictor call that threw (`model`, counted in `modelErrors`) and of each failure of the loop's own
   * work on fresh predictions — the catalogs' or the scheduler's (`internal`, counted in `internalErrors`: a bug of
   * ours, kept from failing reads or the process but not mistaken for the model's).
   */
  readonly onModelError?: (error: unknown, kind: 'model' | 'internal') => void;
};

export type PredictionLoopStats = {
  readonly accessBuffer: { readonly recorded: number; readonly dropped: number; readonly pending: number };
  readonly prefetch: FeedbackStats;
  readonly scheduler: SchedulerStats | undefined;
  /** Time spent under the budget (undefined without one). */
  readonly budget: ReturnType<PredictionBudget['stats']> | undefined;
  /**
   * Calls into the predictor (observe, predict) and the scheduler's offer that threw: each is counted and its access
   * or context dropped, so a faulty model never fails a read or the process.
   */
  readonly modelErrors: number;
  /** Failures of the loop's own work on fresh predictions (shadow catalogs, scheduler), contained the same way. */
  readonly internalErrors: number;
};

export class PredictionLoop {
  readonly feedback: Feedback;
  readonly #predictor: Predictor | undefined;
  readonly #scheduler: PrefetchScheduler | undefined;
  readonly #clock: Clock;
  readonly #buffer: AccessBuffer;
  readonly #predictLimit: number;
  readonly #onPredicted: PredictionLoopOptions['onPredicted'];
  readonly #budget: PredictionBudget | undefined;
  /**
   * Contexts seen in drained accesses and not yet predicted for, least recently accessed first, by `contextKey`
   * (a session, a user and a segment of the same id are different contexts).
   */
  readonly #latest = new Map<string, ReadContext>();
  #drainTimer: TimerHandle | undefined;
  #isClosed = false;
  /**
   * The key last put at the young end of #latest: still the youngest if present (keys are only ever added there), and
   * if it was removed since, setting it again appends it there anyway.
   */
  #youngest: string | undefined;
  /** True when the predictor tells which contexts to predict for (`onFresh`). */
  readonly #isPushed: boolean;
  #modelErrors = 0;
  /** Prefetched entries counted wasted (an entry the memory tier let go and a catalog kept can leave twice). */
  readonly #wasted = new WeakSet<Entry>();
  #internalErrors = 0;
  readonly #onModelError: (error: unknown, kind: 'model' | 'internal') => void;

  constructor(options: PredictionLoopOptions) {
    this.#predictor = options.predictor;
    this.#clock = options.clock;
    this.#predictLimit = options.predictLimit;
    this.#onPredicted = options.onPredicted;
    this.#onModelError = options.onModelError ?? (() => {});
    this.#buffer = new AccessBuffer(options.bufferSize);
    // `prefetch.budget` (CachePrefetchOptions): absent or false keeps today's loop exactly; resolved again here so a
    // loop built directly is checked too (resolving is idempotent).
    const budget = options.prefetch === false ? undefined : resolvePredictionBudget('prefetch.budget', options.prefetch.budget);
    this.#budget = budget === undefined || options.predictor === undefined ? undefined : new PredictionBudget(budget, options.reads);
    this.feedback = new Feedback({ onEvent: options.onEvent, isListened: options.isListened });
    const prefetch = options.prefetch;
    // Built (so its options are checked) even without a predictor to feed it: a bad `prefetch` option is refused at
    // construction whether or not a predictor is configured yet. It holds no timer until offered something.
    const scheduler = prefetch === false ? undefined : nestedOptions('prefetch', () => new PrefetchScheduler({ ...prefetch, target: options.target, clock: options.clock, feedback: this.feedback }));
    this.#scheduler = options.predictor === undefined ? undefined : scheduler;
    // A predictor that predicts elsewhere says when a context's predictions are fresh: those contexts are predicted
    // for (rather than each context right after its accesses are observed).
    this.#isPushed = options.predictor?.onFresh !== undefined;
    options.predictor?.onFresh?.((ctx) => {
      this.#touchLatest(contextKey(ctx), ctx);
      if (this.#drainTimer === undefined) this.#scheduleDrain();
    });
  }

  /**
   * Whether an access recorded now would be kept: false without a predictor, and false, with the access counted as
   * dropped, when the buffer is full or the predictor says it is behind (a worker's queue full: the access would be
   * dropped there). The hit path asks before it reads the clock or records anything, so under the prediction budget
   * (the buffer full most of the time) or with the models on a busy worker, a dropped access costs one comparison.
   */
  shouldRecord(): boolean {
    const predictor = this.#predictor;
    if (predictor === undefined) return false;
    const buffer = this.#buffer;
    if (!buffer.isFull && !this.#isBehind(predictor)) return true;
    buffer.countDrop();
    return false;
  }

  /** The predictor's `isBehind`; one that throws is a model fault (counted, told), its access dropped, not the read failed. */
  #isBehind(predictor: Predictor): boolean {
    if (predictor.isBehind === undefined) return false;
    try {
      return predictor.isBehind() === true;
    } catch (error) {
      this.#modelError(error);
      return true;
    }
  }

  /**
   * Records one access for the models, once `shouldRecord` said it would be kept (which also counts the drops).
   * Cheap: the read path calls it.
   */
  record(key: string, ctx: ReadContext, now: number, status: ReadStatus): void {
    if (this.#predictor === undefined) return;
    this.#buffer.push(key, ctx, now, status);
    if (this.#drainTimer === undefined) this.#scheduleDrain();
  }

  /** Feeds every buffered access to the models now. */
  flush(): void {
    if (this.#drainTimer !== undefined) {
      this.#clock.clearTimer(this.#drainTimer);
      this.#drainTimer = undefined;
    }
    this.#drain(Infinity);
  }

  /** What the models expect next for `ctx` (empty without a predictor), after feeding them what is buffered. */
  predict(ctx: ReadContext, limit: number): Prediction[] {
    this.flush();
    return this.#predictor?.predict(ctx, limit) ?? [];
  }

  /** A read used a prefetched entry (its first hit). */
  used(entry: Entry): void {
    this.#used(entry.key, entry.predictedBy, entry.probability, entry.predictedFor);
  }

  /** A read joined the prefetch `flight` and used it: counted once, by its first reader. */
  usedFlight<V>(flight: Flight<V>): void {
    const p = flight.prediction;
    if (p === undefined || flight.isUseCounted) return;
    flight.isUseCounted = true;
    this.#used(flight.key, p.source, p.probability, p.ctx);
  }

  /** A read used the prefetch of `key` made with this prediction (its first hit, or the read joined the fetch). */
  #used(key: string, source: string | undefined, probability: number, ctx: ReadContext | undefined): void {
    this.feedback.used(key, source, probability);
    this.#scheduler?.onUsed(source !== 'manual');
    if (ctx !== undefined) this.#feedback(key, ctx, true);
  }

  /**
   * An entry left the memory tier, or the shadow catalogs that kept it after: an unused prefetch leaving is waste,
   * counted once (it can leave both).
   */
  removed(entry: Entry, cause: RemovalCause): void {
    if (entry.source === 'prefetch' && entry.hits === 0 && (cause === 'evicted' || cause === 'expired' || cause === 'rejected') && !this.#wasted.has(entry)) {
      this.#wasted.add(entry);
      this.feedback.wasted(entry.key, entry.sizeBytes, entry.predictedBy, entry.probability);
      if (entry.predictedFor !== undefined) this.#feedback(entry.key, entry.predictedFor, false);
    }
  }

  /** Tells the predictor a prediction was used or wasted; a predictor that throws there is counted, like in predict. */
  #feedback(key: string, ctx: ReadContext, wasUsed: boolean): void {
    try {
      this.#predictor?.feedback?.(key, ctx, wasUsed);
    } catch (error) {
      this.#modelError(error);
    }
  }

  #modelError(error: unknown): void {
    this.#modelErrors++;
    this.#onModelError(error, 'model');
  }

  /** A read missed a key the prefetch region's room cost the demand regions (memory tier's `onDisplacedMiss`). */
  displacedMiss(): void {
    this.#scheduler?.onDisplacedMiss();
  }

  /** `count` keys went to the origin on demand: the prefetch budget grows with the demand load. */
  demandFetched(count: number): void {
    this.#scheduler?.onDemandFetch(count);
  }

  stats(): PredictionLoopStats {
    return {
      accessBuffer: { recorded: this.#buffer.recorded, dropped: this.#buffer.dropped, pending: this.#buffer.size },
      prefetch: this.feedback.stats(),
      scheduler: this.#scheduler?.stats(),
      budget: this.#budget?.stats(),
      modelErrors: this.#modelErrors,
      internalErrors: this.#internalErrors,
    };
  }

  close(): void {
    this.#isClosed = true;
    this.#scheduler?.close();
    if (this.#drainTimer !== undefined) this.#clock.clearTimer(this.#drainTimer);
    this.#drainTimer = undefined;
  }

  #scheduleDrain(): void {
    if (this.#isClosed || this.#drainTimer !== undefined) return;
    const budget = this.#budget;
    const wait = budget === undefined ? 0 : budget.waitMs(budget.now());
    // No wait: the next turn, right after the I/O callbacks already due (`defer`: setImmediate on the system clock,
    // a 0 ms timer on a VirtualClock), rather than a 1 ms timer that lets a millisecond of accesses pile up.
    this.#drainTimer = wait > 0 ? this.#clock.setTimer(wait, this.#onDrainTimer) : deferOn(this.#clock, this.#onDrainTimer);
  }

  /** The drain timer's callback (one function for every drain: nothing allocated per schedule). */
  readonly #onDrainTimer = (): void => {
    this.#drainTimer = undefined;
    const budget = this.#budget;
    if (budget === undefined) this.#drain(maxDrainBatch);
    else this.#drainSlice(budget);
  };

  /** Without a budget: observes up to `limit` accesses, then predicts once for each context seen. */
  #drain(limit: number): void {
    const predictor = this.#predictor;
    if (predictor === undefined || (this.#buffer.size === 0 && this.#latest.size === 0)) return;
    const isPredicting = this.#scheduler !== undefined || this.#onPredicted !== undefined;
    const drained = this.#observe(predictor, limit, isPredicting);
    if (this.#buffer.size > 0 && drained > 0) this.#scheduleDrain();
    if (!isPredicting || this.#isClosed) {
      this.#latest.clear();
      return;
    }
    this.#predictLatest(predictor, undefined, 0);
  }

  /**
   * With a budget: observes for at most `maxSliceMs` (half of it while contexts wait from earlier slices), then predicts for the contexts seen while the slice and the
   * window's share last; contexts left over wait (most recent access last) and the next slice is paced to the budget.
   */
  #drainSlice(budget: PredictionBudget): void {
    const predictor = this.#predictor;
    if (predictor === undefined || this.#isClosed) return;
    const isPredicting = this.#scheduler !== undefined || this.#onPredicted !== undefined;
    const start = budget.now();
    budget.sliced();
    const sliceEnd = start + budget.maxSliceMs;
    // Observing stops at half the slice while contexts wait, so a backlog of accesses cannot starve the predictions.
    const observeEnd = isPredicting && this.#latest.size > 0 ? start + budget.maxSliceMs / 2 : sliceEnd;
    let now = start;
    while (this.#buffer.size > 0 && now < observeEnd) {
      this.#observe(predictor, budgetStride, isPredicting);
      now = budget.now();
    }
    budget.charge(start, now);
    const latest = this.#latest;
    if (latest.size > 0 && now < sliceEnd && !budget.isSpent(now)) budget.charge(now, this.#predictLatest(predictor, budget, sliceEnd));
    if (latest.size > maxDeferredContexts) {
      for (const ctxKey of latest.keys()) {
        latest.delete(ctxKey);
        budget.deferred(1);
        if (latest.size <= maxDeferredContexts) break;
      }
    }
    if (this.#buffer.size > 0 || latest.size > 0) this.#scheduleDrain();
  }

  /**
   * Notes `ctx` as waiting for a prediction, as the most recently accessed. A Map keeps insertion order, so this is
   * a delete and a set — unless the key is the youngest already (the same context again, the common case of a trace
   * without sessions), where a delete and set would only reallocate the map's table.
   */
  #touchLatest(ctxKey: string, ctx: ReadContext): void {
    if (ctxKey !== this.#youngest) {
      this.#latest.delete(ctxKey);
      this.#youngest = ctxKey;
    }
    this.#latest.set(ctxKey, ctx);
  }

  /** Feeds up to `limit` buffered accesses to the predictor; notes each access's context when predicting. */
  #observe(predictor: Predictor, limit: number, isPredicting: boolean): number {
    const latest = this.#latest;
    const isNoting = isPredicting && !this.#isPushed;
    return this.#buffer.drain((a) => {
      // The drained access is a fresh object with the Access fields (plus its status): no copy per access.
      try {
        predictor.observe(a);
      } catch (error) {
        this.#modelError(error);
        return;
      }
      if (!isNoting) return;
      this.#touchLatest(contextKey(a.ctx), a.ctx);
    }, limit);
  }

  /**
   * Predicts for the waiting contexts, oldest first, and hands the answers on. With a budget, stops when the time
   * function passes `sliceEnd` (the rest keep waiting); returns the last time read (0 without a budget).
   */
  #predictLatest(predictor: Predictor, budget: PredictionBudget | undefined, sliceEnd: number): number {
    const scheduler = this.#scheduler;
    const onPredicted = this.#onPredicted;
    const latest = this.#latest;
    for (const [ctxKey, ctx] of latest) {
      latest.delete(ctxKey);
      // Without a scheduler only the catalogs listen, and they keep nothing for a context without user or segment.
      if (scheduler === undefined && ctx.user === undefined && ctx.segment === undefined) continue;
      let predictions: Prediction[] | undefined;
      try {
        predictions = predictor.predict(ctx, this.#predictLimit);
        checkPredictions(predictor, predictions);
      } catch (error) {
        predictions = undefined;
        this.#modelError(error); // this context gets no prefetch this time; the others still do
      }
      if (predictions !== undefined) {
        try {
          onPredicted?.(ctx, predictions);
          scheduler?.offer(ctx, predictions);
        } catch (error) {
          this.#internalErrors++;
          this.#onModelError(error, 'internal');
        }
      }
      if (budget === undefined) continue;
      const now = budget.now();
      if (now >= sliceEnd) return now;
    }
    return budget === undefined ? 0 : budget.now();
  }
}

/** A model's answer must be an array of objects: anything else is the model's fault, not a failure of ours later. */
function checkPredictions(predictor: Predictor, predictions: unknown): asserts predictions is Prediction[] {
  if (!Array.isArray(predictions)) throw new TypeError(`${predictor.name}.predict answered ${typeof predictions}, not an array`);
  for (const p of predictions) {
    if (typeof p !== 'object' || p === null) throw new TypeError(`${predictor.name}.predict answered an item that is not an object (${p === null ? 'null' : typeof p})`);
  }
}
