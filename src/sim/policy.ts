/**
 * SimPolicy: the contract of the simulator's baseline caches (no cache, LRU, Belady, oracle, readahead).
 *
 * Why: baselines are fast synchronous models of what a cache would hold, decided request by request in unit-size
 * entries; the simulator turns their decisions and prefetches into origin calls and latencies on virtual time, so
 * every baseline is measured by the same clock and origin as the real engine.
 */

/** One request as a policy sees it. `index` is its 0-based position in the trace pass (the Future's index). */
export type SimRequest = { readonly key: string; readonly session?: string; readonly index: number };

/** Whether the policy held the key when it was asked for. */
export type SimDecision = 'hit' | 'miss';

/** A policy's answer to one request. */
export type SimAccess = {
  readonly decision: SimDecision;
  /** Keys to fetch ahead of demand after this request, none already held. Possibly empty. */
  readonly prefetch: readonly string[];
};

/** A baseline cache model. */
export interface SimPolicy {
  readonly name: string;
  /** Decides one request and returns the keys to prefetch after it. Requests must come in trace order. */
  access(request: SimRequest): SimAccess;
  /** A prefetched key arrived from the origin; returns false when it was not admitted (e.g. already held). */
  prefetched(key: string): boolean;
  /** Most entries held at once so far. */
  peakEntries(): number;
}

/** The empty prefetch list, shared. */
export const noPrefetch: readonly string[] = Object.freeze([]);

/** Options every baseline with a bounded size takes. */
export type CapacityOptions = {
  /** Entries held at most (unit-size entries). */
  readonly capacity: number;
};
