/**
 * Loader: single-flight, batched fetches from the shared tier and the origin.
 *
 * Why: a burst of misses for one key must cost one origin round trip (single-flight), and misses for different keys
 * that arrive in the same turn of the event loop should cost one `getMany` (coalescing), as DataLoader does. Demand
 * and prefetch batches are kept apart so the origin can serve demand first; a demand read that finds its key in a
 * prefetch batch not yet sent takes the key into the demand batch, and one that finds it already in flight joins it
 * and waits only for the rest of that fetch (should that prefetch fail, the Cache sends the read on its own). An origin with `getManySettled` may fail single keys of a batch
 * (OriginFailure): those flights reject with the key's error and the others settle with their records, so one
 * unreadable key (an archive outage behind a TieredOrigin) does not fail its neighbours. Every answer is checked
 * before anything is stored (check-answer.ts): a record for another key, or with a version that is not a
 * non-negative safe integer, fails its own key the same way, a tombstone (`deleted: true`) is an absence, and an
 * answer that is not one per key fails the batch.
 * Cost: one Map lookup per load, one microtask per batch, and one pass over each answer.
 */
import { OriginError, PrescientError } from '../errors.ts';
import { checkAnswers, type CheckedAnswers } from '../origin/check-answer.ts';
import { isOriginFailure, type FetchPurpose, type Origin, type OriginAnswer, type OriginRecord } from '../origin/origin.ts';
import { Flight, type LoadOutcome, type PrefetchWait } from './flight.ts';
import type { Entry } from './entry.ts';
import type { Tier } from './tier.ts';
import type { PrefetchRequest } from '../prefetch/prefetch-scheduler.ts';

export type LoaderOptions<V> = {
  /** Told of each loaded value that could not be stored (counted in `storeFailures` as well). */
  readonly onStoreFailure?: (error: unknown) => void;
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
  /** Called as a batch of `count` keys leaves for the origin (after the shared tier answered what it could). */
  readonly onOriginSend?: (count: number, purpose: FetchPurpose) => void;
};

/** The failed keys of a batch where none failed, shared. */
const noKeys: readonly string[] = Object.freeze([]);

export class Loader<V> {
  readonly #options: LoaderOptions<V>;
  readonly #flights = new Map<string, Flight<V>>();
  /** Flights discarded while running: no longer joined by reads, still waited for by `idle()`. */
  readonly #discarded = new Set<Flight<V>>();
  readonly #pending: { demand: Flight<V>[]; prefetch: Flight<V>[] } = { demand: [], prefetch: [] };
  #isFlushQueued = false;
  /** Flights discarded before their batch left: a new flight for the key may wait in the same lists. */
  #unsentDiscards = 0;
  #storeFailures = 0;

  constructor(options: LoaderOptions<V>) {
    this.#options = options;
  }

  /** Loaded values that could not be stored (served all the same; each error went to `onStoreFailure`). */
  get storeFailures(): number {
    return this.#storeFailures;
  }

  /**
   * Number of keys being fetched or waiting for their batch, counting those discarded meanwhile (a delete or an
   * invalidation): their result will not be stored, but the origin is still working on them.
   */
  get inflight(): number {
    return this.#flights.size + this.#discarded.size;
  }

  /** True while flights wait for the batch the current microtask turn sends (they have not reached the origin yet). */
  get hasUnsent(): boolean {
    return this.#isFlushQueued;
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
      if (purpose === 'demand' && existing.purpose === 'prefetch') {
        if (existing.isSent) existing.isDemandJoined = true;
        else {
          const list = this.#pending.prefetch;
          const i = list.indexOf(existing);
          if (i >= 0) list.splice(i, 1);
          existing.purpose = 'demand';
          this.#pending.demand.push(existing);
        }
      }
      return existing;
    }
    const flight = new Flight<V>(key, purpose);
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
  prefetch(batch: readonly PrefetchRequest[]): Promise<{ failed: PrefetchRequest[] }> {
    let wait: PrefetchWait | undefined;
    const waiting = new Promise<{ failed: PrefetchRequest[] }>((resolve) => {
      wait = { remaining: 1, failed: [], resolve };
    });
    const w = wait as PrefetchWait;
    for (const r of batch) {
      if (this.#flights.has(r.key)) continue;
      const flight = this.load(r.key, 'prefetch');
      flight.prediction = { probability: r.probability, source: r.source, ctx: r.ctx };
      flight.request = r;
      flight.wait = w;
      w.remaining++;
    }
    // The count started at one so that a flight settling during the loop cannot resolve the batch early.
    if (--w.remaining === 0) w.resolve({ failed: w.failed });
    return waiting;
  }

  /**
   * Marks a running fetch of `key` so its result is not stored (the key was deleted or invalidated meanwhile), and
   * forgets it, so a read that starts after the delete fetches afresh rather than joining it for the older value.
   */
  discard(key: string): void {
    const flight = this.#flights.get(key);
    if (flight === undefined) return;
    flight.isDiscarded = true;
    this.#flights.delete(key);
    if (!flight.isSent) this.#unsentDiscards++;
    // Still awaited by `idle()` (close waits for every fetch in flight, discarded or not).
    this.#discarded.add(flight);
    void flight.promise.then(() => this.#discarded.delete(flight), () => this.#discarded.delete(flight));
  }

  /** Keys being fetched that start with `prefix` (none when `prefix` is undefined). */
  keysStartingWith(prefix: string | undefined): string[] {
    return prefix === undefined ? [] : [...this.#flights.keys()].filter((key) => key.startsWith(prefix));
  }

  /** Resolves when every flight started so far has settled. */
  async idle(): Promise<void> {
    while (this.#flights.size > 0 || this.#discarded.size > 0) {
      await Promise.allSettled([...this.#flights.values(), ...this.#discarded].map((f) => f.promise));
    }
  }

  #flush(): void {
    this.#isFlushQueued = false;
    let { demand, prefetch } = this.#pending;
    // Only lists taken out of #pending are sent here: sending can start new flights synchronously (a demand batch
    // refills the prefetch budget and the scheduler sends what it held back), and those join the live lists, which
    // the flush queued for them sends. Sending a live list here too would send those flights twice.
    if (demand.length > 0) this.#pending.demand = [];
    if (prefetch.length > 0) this.#pending.prefetch = [];
    if (this.#unsentDiscards > 0) {
      this.#unsentDiscards = 0;
      demand = this.#followNewer(demand);
      prefetch = this.#followNewer(prefetch);
    }
    const hasPrefetch = prefetch.length > 0; // before the demand batch leaves: sending it can start prefetches
    if (demand.length > 0) this.#sendAll(demand, 'demand');
    if (hasPrefetch) this.#sendAll(prefetch, 'prefetch');
  }

  /**
   * `flights` without the discarded ones whose key has a newer flight (a read after a delete in the same turn), or an
   * earlier discarded one kept here (read, delete, read, delete): those settle with that one's answer, so a batch
   * never names a key twice.
   */
  #followNewer(flights: Flight<V>[]): Flight<V>[] {
    let kept: Map<string, Flight<V>> | undefined;
    return flights.filter((f) => {
      if (!f.isDiscarded) return true;
      const newer = this.#flights.get(f.key) ?? kept?.get(f.key);
      if (newer === undefined) {
        (kept ??= new Map()).set(f.key, f);
        return true;
      }
      newer.promise.then((outcome) => f.resolve(outcome), (error: unknown) => f.reject(error));
      this.#discarded.delete(f); // never sent: the newer flight is the one fetch (and what `idle()` waits for)
      return false;
    });
  }

  /** Sends `flights` in batches of at most `maxBatch` (the list itself when it fits: no copy). */
  #sendAll(flights: Flight<V>[], purpose: FetchPurpose): void {
    const max = this.#options.maxBatch;
    if (flights.length <= max) {
      if (flights.length > 0) this.#send(flights, purpose);
      return;
    }
    for (let i = 0; i < flights.length; i += max) this.#send(flights.slice(i, i + max), purpose);
  }

  /**
   * Sends one batch: through the shared tier first when there is one, then to the origin. Not an async function on
   * the common path (no shared tier): its continuation is a `then` on the origin's promise, which runs on the same
   * microtask turn an `await` would, without the async function's own promise (every miss and every prefetch batch
   * of a replay passes here). Any error settles the batch's flights, never the caller.
   */
  #send(batch: Flight<V>[], purpose: FetchPurpose): void {
    for (const f of batch) f.isSent = true;
    const l2 = this.#options.l2;
    if (l2 !== undefined) {
      void this.#sendThroughL2(l2, batch, purpose);
      return;
    }
    try {
      this.#toOrigin(batch, purpose);
    } catch (error) {
      this.#failAll(batch, error);
    }
  }

  async #sendThroughL2(l2: Tier<V>, batch: Flight<V>[], purpose: FetchPurpose): Promise<void> {
    let rest = batch;
    try {
      rest = await this.#fromL2(l2, batch);
      if (rest.length > 0) this.#toOrigin(rest, purpose);
    } catch (error) {
      this.#failAll(rest, error);
    }
  }

  /** Fetches `rest` from the origin and settles each flight with its answer (or the call's error). */
  #toOrigin(rest: Flight<V>[], purpose: FetchPurpose): void {
    const keys = rest.map((f) => f.key);
    const origin = this.#options.origin;
    this.#options.onOriginSend?.(keys.length, purpose);
    let call: Promise<Array<OriginAnswer<V>>>;
    try {
      call = typeof origin.getManySettled === 'function' ? origin.getManySettled(keys, { purpose }) : origin.getMany(keys, { purpose });
    } catch (error) {
      this.#originFailed(rest, keys, purpose, error);
      return;
    }
    // Promise.resolve returns a native promise as it is, so the handlers run when an `await` would have resumed.
    Promise.resolve(call).then(
      (answers) => {
        try {
          this.#answered(rest, keys, purpose, answers);
        } catch (error) {
          this.#failAll(rest, error);
        }
      },
      (error: unknown) => {
        try {
          this.#originFailed(rest, keys, purpose, error);
        } catch (failure) {
          this.#failAll(rest, failure);
        }
      },
    );
  }

  /**
   * Settles the batch from the origin's answer, checked first (check-answer.ts): an answer that cannot be matched to
   * the keys fails the batch as a call that rejected would; a bad record fails its key only; a tombstone is an absence.
   */
  #answered(rest: Flight<V>[], keys: string[], purpose: FetchPurpose, answers: unknown): void {
    let checked: CheckedAnswers<V>;
    try {
      checked = checkAnswers<V>(keys, answers, 'absent');
    } catch (error) {
      this.#originFailed(rest, keys, purpose, error);
      return;
    }
    const list = checked.answers;
    const hasFailures = checked.failures > 0;
    // Allocated only when something failed: every batch of a replay passes here.
    const failed = hasFailures ? keys.filter((_k, i) => isOriginFailure(list[i])) : noKeys;
    this.#options.onOriginBatch?.(keys, purpose, !hasFailures, failed);
    for (let i = 0; i < rest.length; i++) {
      const answer = list[i];
      if (answer === undefined) this.#settle(rest[i], { from: 'none' });
      else if (hasFailures && isOriginFailure(answer)) this.#settle(rest[i], undefined, answer.error);
      else this.#settle(rest[i], { from: 'origin', record: answer as OriginRecord<V> });
    }
  }

  /** The origin call failed as a whole: every flight of the batch fails with its error. */
  #originFailed(rest: Flight<V>[], keys: string[], purpose: FetchPurpose, error: unknown): void {
    this.#options.onOriginBatch?.(keys, purpose, false, keys);
    const wrapped = error instanceof PrescientError ? error : new OriginError(keys, error);
    for (const f of rest) this.#settle(f, undefined, wrapped);
  }

  /** Something other than the origin failed (a callback, the shared tier): each flight not yet settled fails. */
  #failAll(flights: Flight<V>[], error: unknown): void {
    for (const f of flights) this.#settle(f, undefined, new OriginError([f.key], error));
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
    } catch (error) {
      // Storing failed (a `sizeOf` that throws, a tier that refuses): the value is served, not cached, and the other
      // keys of the batch are stored and served as usual.
      this.#noteStoreFailure(error);
    }
    flight.resolve(outcome);
  }

  #noteStoreFailure(error: unknown): void {
    this.#storeFailures++;
    this.#options.onStoreFailure?.(error);
  }
}
