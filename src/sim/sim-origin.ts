/**
 * SimOrigin: a simulated slow store on a VirtualClock, for replaying traces through the real engine.
 *
 * Why: what a prefetcher saves depends on the origin's latency and on how many calls it can serve at once, and
 * a prefetcher that floods the origin delays demand reads. This model keeps exactly those three things: every
 * call costs one round trip (a batch of keys costs one latency, as a multi-get or `WHERE key = ANY($1)` does),
 * at most `concurrency` calls are in flight, and waiting calls are served FIFO with demand calls always ahead of
 * prefetch calls. Latency is fixed or drawn per call from a sampler fed by a seeded generator, so runs repeat.
 */
import type { VirtualClock } from '../clock.ts';
import { PrescientError, InvalidOptionError } from '../errors.ts';
import { fn, hasMethods, nonNegativeNumber, positiveInt } from '../options.ts';
import type { FetchOptions, FetchPurpose, Origin, OriginRecord } from '../origin/origin.ts';
import { seededRandom, type Random } from './seeded-random.ts';

/** Options of a SimOrigin. */
export type SimOriginOptions<V> = {
  /** The virtual clock round trips are timed on. */
  readonly clock: VirtualClock;
  /** Round-trip time in milliseconds, fixed or drawn per call (e.g. `lognormalLatency(5, 0.5)`). */
  readonly latencyMs: number | ((random: Random) => number);
  /** Calls in flight at most; more wait in line. @default Infinity */
  readonly concurrency?: number;
  /**
   * Value of a key (undefined: the key itself). Not named `valueOf`, which every object inherits from
   * Object.prototype and would clash with in type checks and at run time. @default the key itself
   */
  readonly valueFor?: (key: string) => V | undefined;
  /** Uniform [0, 1) generator handed to the latency sampler. @default seededRandom(1) */
  readonly random?: Random;
};

/** Counters of a SimOrigin. Calls and keys are counted when a round trip starts. */
export type SimOriginStats = {
  readonly calls: number;
  readonly keysFetched: number;
  readonly demandKeys: number;
  readonly prefetchKeys: number;
  readonly inFlight: number;
  readonly queued: number;
  /** Most calls ever waiting in line at once. */
  readonly peakQueued: number;
};

type PendingCall<V> = {
  keys: readonly string[];
  purpose: FetchPurpose;
  signal: AbortSignal | undefined;
  resolve: (records: Array<OriginRecord<V> | undefined>) => void;
  reject: (error: unknown) => void;
  settled: boolean;
  started: boolean;
};

/** A simulated origin on virtual time. Every key exists; its record has version 1. */
export class SimOrigin<V = string> implements Origin<V> {
  #clock: VirtualClock;
  #latency: (random: Random) => number;
  #concurrency: number;
  #valueFor: (key: string) => V | undefined;
  #random: Random;
  #demandQueue = new CallQueue<V>();
  #prefetchQueue = new CallQueue<V>();
  #inFlight = 0;
  #closed = false;
  #calls = 0;
  #keysFetched = 0;
  #demandKeys = 0;
  #prefetchKeys = 0;
  #peakQueued = 0;
  /** Calls settled (aborted) while still in a queue: skipped when their turn comes. */
  #deadInQueue = 0;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) for a missing clock, a negative latency or a bad concurrency */
  constructor(options: SimOriginOptions<V>) {
    this.#clock = hasMethods<VirtualClock>('clock', options?.clock, ['now', 'setTimer', 'clearTimer']);
    const latency = options.latencyMs;
    if (typeof latency === 'number') {
      const fixed = nonNegativeNumber('latencyMs', latency);
      this.#latency = () => fixed;
    } else {
      this.#latency = fn('latencyMs', latency);
    }
    this.#concurrency = options.concurrency === Infinity ? Infinity : positiveInt('concurrency', options.concurrency, Infinity);
    this.#valueFor = fn('valueFor', options.valueFor, (() => undefined) as (key: string) => V | undefined);
    this.#random = fn('random', options.random, seededRandom(1));
  }

  /**
   * One round trip for all of `keys`, after the latency on the virtual clock, once a slot is free. An empty
   * `keys` resolves at once without a call. Rejects with ERR_CLOSED after `close()`, and with the signal's reason
   * when `signal` aborts (a call already in flight still holds its slot until its round trip ends).
   */
  getMany(keys: readonly string[], options: FetchOptions = {}): Promise<Array<OriginRecord<V> | undefined>> {
    if (this.#closed) return Promise.reject(new PrescientError('ERR_CLOSED', 'SimOrigin is closed'));
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const call: PendingCall<V> = { keys: [...keys], purpose: options.purpose ?? 'demand', signal: options.signal, resolve, reject, settled: false, started: false };
      call.signal?.addEventListener('abort', () => this.#abort(call), { once: true });
      (call.purpose === 'demand' ? this.#demandQueue : this.#prefetchQueue).push(call);
      this.#drain();
      const queued = this.#queued();
      if (queued > this.#peakQueued) this.#peakQueued = queued;
    });
  }

  /** Counters so far. */
  stats(): SimOriginStats {
    return Object.freeze({
      calls: this.#calls,
      keysFetched: this.#keysFetched,
      demandKeys: this.#demandKeys,
      prefetchKeys: this.#prefetchKeys,
      inFlight: this.#inFlight,
      queued: this.#queued(),
      peakQueued: this.#peakQueued,
    });
  }

  /** Rejects every waiting call with ERR_CLOSED and refuses new ones; calls in flight still complete. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#deadInQueue = 0;
    for (const queue of [this.#demandQueue, this.#prefetchQueue]) {
      for (let call = queue.shift(); call !== undefined; call = queue.shift()) {
        this.#settle(call, undefined, new PrescientError('ERR_CLOSED', 'SimOrigin is closed'));
      }
    }
  }

  #drain(): void {
    while (this.#inFlight < this.#concurrency) {
      const call = this.#demandQueue.shift() ?? this.#prefetchQueue.shift();
      if (call === undefined) return;
      if (call.settled) {
        this.#deadInQueue--;
        continue;
      }
      this.#start(call);
    }
  }

  #queued(): number {
    return this.#demandQueue.size + this.#prefetchQueue.size - this.#deadInQueue;
  }

  #abort(call: PendingCall<V>): void {
    if (call.settled) return;
    if (!call.started) this.#deadInQueue++;
    this.#settle(call, undefined, call.signal?.reason);
  }

  #start(call: PendingCall<V>): void {
    call.started = true;
    const latencyMs = this.#latency(this.#random);
    if (!(latencyMs >= 0) || !Number.isFinite(latencyMs)) {
      this.#settle(call, undefined, new InvalidOptionError('latencyMs', 'a sampler returning non-negative finite milliseconds', latencyMs));
      return;
    }
    this.#inFlight++;
    this.#calls++;
    this.#keysFetched += call.keys.length;
    if (call.purpose === 'demand') this.#demandKeys += call.keys.length;
    else this.#prefetchKeys += call.keys.length;
    this.#clock.setTimer(latencyMs, () => {
      this.#inFlight--;
      const valueFor = this.#valueFor;
      const records = call.keys.map((key): OriginRecord<V> => ({ key, value: valueFor(key) ?? (key as V), version: 1 }));
      this.#settle(call, records, undefined);
      this.#drain();
    });
  }

  #settle(call: PendingCall<V>, records: Array<OriginRecord<V> | undefined> | undefined, error: unknown): void {
    if (call.settled) return;
    call.settled = true;
    if (records !== undefined) call.resolve(records);
    else call.reject(error);
  }
}

/** FIFO with O(1) shift: a head index over an array, compacted when half of it is consumed. */
class CallQueue<V> {
  #items: PendingCall<V>[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(call: PendingCall<V>): void {
    this.#items.push(call);
  }

  shift(): PendingCall<V> | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const call = this.#items[this.#head++];
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return call;
  }
}
