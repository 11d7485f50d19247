/**
 * PredictionLoop: the side of the cache that learns and prefetches, fed by the read path through a bounded buffer.
 *
 * Why apart from the read path: a read records its access (a few array stores) and returns; this loop drains the
 * buffer on its own turn of the event loop — at most `maxDrainBatch` accesses a turn, so a slow model delays its
 * own learning, never reads or timers — feeds each access to the predictor, asks it once per context seen in the
 * batch what comes next, and hands the answers to the PrefetchScheduler. It also keeps the Feedback: which
 * prefetches were used, which were wasted, which misses no prefetch avoided.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { ReadContext } from '../context.ts';
import type { Prediction, Predictor } from '../predict/predictor.ts';
import { Feedback, type FeedbackEvent, type FeedbackStats } from '../prefetch/feedback.ts';
import { PrefetchScheduler, type PrefetchTarget, type SchedulerStats } from '../prefetch/prefetch-scheduler.ts';
import { AccessBuffer, type ReadStatus } from './access-buffer.ts';
import type { CachePrefetchOptions } from './cache-options.ts';
import type { Entry, RemovalCause } from './entry.ts';

/**
 * Most accesses fed to the models per turn of the event loop; the rest wait for the next turn, so a slow model
 * delays its own learning, never the reads or timers queued behind a drain.
 */
const maxDrainBatch = 1024;

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
  /**
   * Sees each context's fresh predictions before the scheduler does (the shadow catalogs reference them). Without a
   * scheduler, only contexts with a user or segment are predicted for it.
   */
  readonly onPredicted?: (ctx: ReadContext, predictions: readonly Prediction[]) => void;
};

export type PredictionLoopStats = {
  readonly accessBuffer: { readonly recorded: number; readonly dropped: number; readonly pending: number };
  readonly prefetch: FeedbackStats;
  readonly scheduler: SchedulerStats | undefined;
};

export class PredictionLoop {
  readonly feedback: Feedback;
  readonly #predictor: Predictor | undefined;
  readonly #scheduler: PrefetchScheduler | undefined;
  readonly #clock: Clock;
  readonly #buffer: AccessBuffer;
  readonly #predictLimit: number;
  readonly #onPredicted: PredictionLoopOptions['onPredicted'];
  #drainTimer: TimerHandle | undefined;
  #isClosed = false;

  constructor(options: PredictionLoopOptions) {
    this.#predictor = options.predictor;
    this.#clock = options.clock;
    this.#predictLimit = options.predictLimit;
    this.#onPredicted = options.onPredicted;
    this.#buffer = new AccessBuffer(options.bufferSize);
    this.feedback = new Feedback({ onEvent: options.onEvent });
    this.#scheduler =
      options.predictor === undefined || options.prefetch === false
        ? undefined
        : new PrefetchScheduler({ ...options.prefetch, target: options.target, clock: options.clock, feedback: this.feedback });
  }

  /** True when accesses are recorded (a predictor is set): the read path skips the clock read otherwise. */
  get isLearning(): boolean {
    return this.#predictor !== undefined;
  }

  /** Records one access for the models (dropped and counted when the buffer is full). Cheap: the read path calls it. */
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

  /** A read used a prefetched entry (its first hit, or it joined the fetch). */
  used(entry: Entry): void {
    this.feedback.used(entry.key, entry.predictedBy);
    this.#scheduler?.onUsed();
    if (entry.predictedFor !== undefined) this.#predictor?.feedback?.(entry.key, entry.predictedFor, true);
  }

  /** An entry left the memory tier: an unused prefetch leaving is waste. */
  removed(entry: Entry, cause: RemovalCause): void {
    if (entry.source === 'prefetch' && entry.hits === 0 && (cause === 'evicted' || cause === 'expired' || cause === 'rejected')) {
      this.feedback.wasted(entry.key, entry.sizeBytes, entry.predictedBy);
      if (entry.predictedFor !== undefined) this.#predictor?.feedback?.(entry.key, entry.predictedFor, false);
    }
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
    this.#drainTimer = this.#clock.setTimer(0, () => {
      this.#drainTimer = undefined;
      this.#drain(maxDrainBatch);
    });
  }

  #drain(limit: number): void {
    const predictor = this.#predictor;
    if (predictor === undefined || this.#buffer.size === 0) return;
    const scheduler = this.#scheduler;
    const onPredicted = this.#onPredicted;
    const latest = new Map<string, ReadContext>();
    const drained = this.#buffer.drain((a) => {
      predictor.observe({ key: a.key, at: a.at, ctx: a.ctx });
      if (scheduler === undefined && onPredicted === undefined) return;
      const ctxKey = a.ctx.session ?? a.ctx.user ?? a.ctx.segment ?? '';
      latest.delete(ctxKey);
      latest.set(ctxKey, a.ctx);
    }, limit);
    if (this.#buffer.size > 0 && drained > 0) this.#scheduleDrain();
    if ((scheduler === undefined && onPredicted === undefined) || this.#isClosed) return;
    for (const ctx of latest.values()) {
      // Without a scheduler only the catalogs listen, and they keep nothing for a context without user or segment.
      if (scheduler === undefined && ctx.user === undefined && ctx.segment === undefined) continue;
      const predictions = predictor.predict(ctx, this.#predictLimit);
      onPredicted?.(ctx, predictions);
      scheduler?.offer(ctx, predictions);
    }
  }
}
