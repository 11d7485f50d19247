/**
 * Loader: single-flight, batched fetches from the shared tier and the origin.
 *
 * Why: a burst of misses for one key must cost one origin round trip (single-flight), and misses for different keys
 * that arrive in the same turn of the event loop should cost one `getMany` (coalescing), as DataLoader does. Demand
 * and prefetch batches are kept apart so the origin can serve demand first; a demand read that finds its key in a
 * prefetch batch not yet sent takes the key into the demand batch, and one that finds it already in flight joins it
 * and waits only for the rest of that fetch. An origin with `getManySettled` may fail single keys of a batch
 * (OriginFailure): those flights reject with the key's error and the others settle with their records, so one
 * unreadable key (an archive outage behind a TieredOrigin) does not fail its neighbours. Cost: one Map lookup per
 * load and one microtask per batch.
 */
import { OriginError, PrescientError } from '../errors.ts';
import { isOriginFailure, type FetchPurpose, type Origin, type OriginAnswer, type OriginRecord } from '../origin/origin.ts';
import type { Entry } from './entry.ts';
import type { Tier } from './tier.ts';
import type { ReadContext } from '../context.ts';
import type { PrefetchRequest } from '../prefetch/prefetch-scheduler.ts';

/** What a load produced: a record from the shared tier or the origin, or undefined when nobody has the key. */
export type LoadOutcome<V> =
  | { readonly from: 'l2'; readonly entry: Entry<V> }
  | { readonly from: 'origin'; readonly record: OriginRecord<V> }
  | { readonly from: 'none' };

/** One fetch in flight (or waiting for its batch to be sent). */
export type Flight<V> = {
  readonly key: string;
  purpose: FetchPurpose;
  readonly promise: Promise<LoadOutcome<V>>;
  /** Set when the key was deleted or invalidated while the fetch ran: its result must not be stored. */
  isDiscarded: boolean;
  /** True once the batch holding this key was sent. */
  isSent: boolean;
  /** Why a prefetch flight was started (the cache fills it in). */
  prediction?: { readonly probability: number; readonly source: string; readonly ctx: ReadContext };
  resolve(outcome: LoadOutcome<V>): void;
  reject(error: unknown): void;
};

export type LoaderOptions<V> = {
  readonly origin: Origin<V>;
  /** Shared tier consulted before the origin (its fresh entries win). */
  readonly l2?: Tier<V>;
  /** Largest batch sent in one `getMany`. @default 256 */
  readonly maxBatch: number;
  /** Tells whether an L2 entry may be used (not expired). */
  readonly isUsable: (entry: Entry<V>) => boolean;
  /** Called for each successful load before its waiters resume (the cache stores the result here). */
  readonly onLoaded: (flight: Flight<V>, outcome: LoadOutcome<V>) => void;
  /**
   * Called once per origin batch with its keys, purpose and outcome (for stats and latency); `isOk` is false when
   * the call rejected or answered an OriginFailure for any of its keys, and `failed` lists the keys that failed
   * (all of them when the call rejected).
   */
  readonly onOriginBatch?: (keys: readonly string[], purpose: FetchPurpose, isOk: boolean, failed: readonly string[]) => void;
};

/** The failed keys of a batch where none failed, shared. */
const noKeys: readonly string[] = Object.freeze([]);

export class Loader<V> {
  readonly #options: LoaderOptions<V>;
  readonly #flights = new Map<string, Flight<V>>();
  #pending: { demand: Flight<V>[]; prefetch: Flight<V>[] } = { demand: [], prefetch: [] };
  #isFlushQueued = false;

  constructor(options: LoaderOptions<V>) {
    this.#options = options;
  }

  /** Number of keys being fetched or waiting for their batch. */
  get inflight(): number {
    return this.#flights.size;
  }

  /** The flight for `key`, if one is running. */
  flight(key: string): Flight<V> | undefined {
    return this.#flights.get(key);
  }

  /**
   * Starts (or joins) a fetch of `key`. A demand load of a key that waits in an unsent prefetch batch moves it to
   * the demand batch.
   */
  load(key: string, purpose: FetchPurpose): Flight<V> {
    const existing = this.#flights.get(key);
    if (existing !== undefined) {
      if (purpose === 'demand' && existing.purpose === 'prefetch' && !existing.isSent) {
        const list = this.#pending.prefetch;
        const i = list.indexOf(existing);
        if (i >= 0) list.splice(i, 1);
        existing.purpose = 'demand';
        this.#pending.demand.push(existing);
      }
      return existing;
    }
    let resolve!: (o: LoadOutcome<V>) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<LoadOutcome<V>>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A flight nobody awaits (a prefetch) must not surface as an unhandled rejection.
    promise.catch(() => {});
    const flight: Flight<V> = { key, purpose, promise, isDiscarded: false, isSent: false, resolve, reject };
    this.#flights.set(key, flight);
    this.#pending[purpose].push(flight);
    if (!this.#isFlushQueued) {
      this.#isFlushQueued = true;
      queueMicrotask(() => this.#flush());
    }
    return flight;
  }

  /**
   * Starts a prefetch flight, carrying its prediction, for each request whose key has none; resolves once they
   * settle with the requests whose fetch failed (the scheduler retries those).
   */
  async prefetch(batch: readonly PrefetchRequest[]): Promise<{ failed: PrefetchRequest[] }> {
    const flights: Array<[PrefetchRequest, Flight<V>]> = [];
    for (const r of batch) {
      if (this.#flights.has(r.key)) continue;
      const flight = this.load(r.key, 'prefetch');
      flight.prediction = { probability: r.probability, source: r.source, ctx: r.ctx };
      flights.push([r, flight]);
    }
    const settled = await Promise.allSettled(flights.map(([, f]) => f.promise));
    const failed: PrefetchRequest[] = [];
    for (let i = 0; i < settled.length; i++) if (settled[i].status === 'rejected') failed.push(flights[i][0]);
    return { failed };
  }

  /** Marks a running fetch of `key` so its result is not stored (the key was deleted or invalidated meanwhile). */
  discard(key: string): void {
    const flight = this.#flights.get(key);
    if (flight !== undefined) flight.isDiscarded = true;
  }

  /** Resolves when every flight started so far has settled. */
  async idle(): Promise<void> {
    while (this.#flights.size > 0) {
      await Promise.allSettled([...this.#flights.values()].map((f) => f.promise));
    }
  }

  #flush(): void {
    this.#isFlushQueued = false;
    const { demand, prefetch } = this.#pending;
    this.#pending = { demand: [], prefetch: [] };
    const max = this.#options.maxBatch;
    for (let i = 0; i < demand.length; i += max) void this.#send(demand.slice(i, i + max), 'demand');
    for (let i = 0; i < prefetch.length; i += max) void this.#send(prefetch.slice(i, i + max), 'prefetch');
  }

  async #send(batch: Flight<V>[], purpose: FetchPurpose): Promise<void> {
    for (const f of batch) f.isSent = true;
    let rest = batch;
    try {
      const l2 = this.#options.l2;
      if (l2 !== undefined) rest = await this.#fromL2(l2, batch);
      if (rest.length === 0) return;
      const keys = rest.map((f) => f.key);
      const origin = this.#options.origin;
      let answers: Array<OriginAnswer<V>>;
      try {
        answers = typeof origin.getManySettled === 'function'
          ? await origin.getManySettled(keys, { purpose })
          : await origin.getMany(keys, { purpose });
      } catch (error) {
        this.#options.onOriginBatch?.(keys, purpose, false, keys);
        const wrapped = error instanceof PrescientError ? error : new OriginError(keys, error);
        for (const f of rest) this.#settle(f, undefined, wrapped);
        return;
      }
      const isArray = Array.isArray(answers);
      // Allocated only when something failed: every batch of a replay passes here.
      const failed = isArray && answers.some(isOriginFailure) ? keys.filter((_k, i) => isOriginFailure(answers[i])) : noKeys;
      this.#options.onOriginBatch?.(keys, purpose, failed.length === 0, failed);
      for (let i = 0; i < rest.length; i++) {
        const answer = isArray ? answers[i] : undefined;
        if (isOriginFailure(answer)) this.#settle(rest[i], undefined, answer.error);
        else this.#settle(rest[i], answer === undefined || answer === null ? { from: 'none' } : { from: 'origin', record: answer });
      }
    } catch (error) {
      for (const f of rest) this.#settle(f, undefined, new OriginError([f.key], error));
    }
  }

  async #fromL2(l2: Tier<V>, batch: Flight<V>[]): Promise<Flight<V>[]> {
    let entries: Array<Entry<V> | undefined>;
    try {
      entries = await l2.getMany(batch.map((f) => f.key));
    } catch {
      // A failing shared tier never fails a read: fall through to the origin.
      return batch;
    }
    const rest: Flight<V>[] = [];
    for (let i = 0; i < batch.length; i++) {
      const entry = entries[i];
      if (entry !== undefined && this.#options.isUsable(entry)) this.#settle(batch[i], { from: 'l2', entry });
      else rest.push(batch[i]);
    }
    return rest;
  }

  #settle(flight: Flight<V>, outcome: LoadOutcome<V> | undefined, error?: unknown): void {
    if (this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
    if (outcome === undefined) {
      flight.reject(error);
      return;
    }
    try {
      this.#options.onLoaded(flight, outcome);
    } finally {
      flight.resolve(outcome);
    }
  }
}
