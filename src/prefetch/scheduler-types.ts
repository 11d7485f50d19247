/**
 * The PrefetchScheduler's two faces to the rest of the engine: what it needs of the cache (`PrefetchTarget`) and what
 * it reports (`SchedulerStats`). Apart from the scheduler so its module holds only its logic.
 */
import type { PrefetchRequest } from './candidate-queue.ts';

/** What the scheduler needs from the cache. */
export interface PrefetchTarget {
  /** True when `key` is cached and fresh, or already being fetched. */
  isPresent(key: string): boolean;
  /** A confident prediction of a key already cached: refresh its recency so eviction keeps it (optional). */
  touch?(key: string): void;
  /** `isPresent(key)`, and `touch(key)` when it is, in one step (optional; needs `touch`). */
  touchIfPresent?(key: string): boolean;
  /** Fetches a batch (one origin round trip) and stores it; resolves with the requests that failed. */
  fetch(batch: readonly PrefetchRequest[]): Promise<{ readonly failed: readonly PrefetchRequest[] }>;
}

export type SchedulerStats = {
  readonly queued: number;
  readonly inflightBatches: number;
  /** The confidence bar over all sources (what one shared bar would be); `thresholds`: each source's own. */
  readonly threshold: number;
  /** The score bar of `rationTokens` (0 while tokens are plentiful). */
  readonly scoreBar: number;
  readonly thresholds: Readonly<Record<string, number>>;
  /** Most candidates the next offer may queue. */
  readonly offerLimit: number;
  readonly tokens: number;
  readonly offered: number;
  readonly belowThreshold: number;
  readonly skippedPresent: number;
  readonly droppedStale: number;
  /** Prefetches sent, each counted once however many attempts it took (the `issued` of Feedback, too). */
  readonly issued: number;
  /** Requests that failed, per attempt. */
  readonly failed: number;
  /** Attempts after the first queued again (a retry is not issued again). */
  readonly retried: number;
};
