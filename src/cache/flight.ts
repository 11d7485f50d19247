/**
 * Flight: one fetch in flight from the shared tier or the origin (loader.ts), and what it produces.
 */
import type { ReadContext } from '../context.ts';
import type { FetchPurpose, OriginRecord } from '../origin/origin.ts';
import type { PrefetchRequest } from '../prefetch/prefetch-scheduler.ts';
import type { Entry } from './entry.ts';

/** What a load produced: a record from the shared tier or the origin, or undefined when nobody has the key. */
export type LoadOutcome<V> =
  | { readonly from: 'l2'; readonly entry: Entry<V> }
  | { readonly from: 'origin'; readonly record: OriginRecord<V> }
  | { readonly from: 'none' };

/** Why a prefetch flight was started (the cache stores it on the entry). */
export type FlightPrediction = { readonly probability: number; readonly source: string; readonly ctx: ReadContext };

/** A prefetch batch waiting for its flights: `remaining` counts down, the failed requests are collected. */
export type PrefetchWait = {
  remaining: number;
  readonly failed: PrefetchRequest[];
  resolve(result: { failed: PrefetchRequest[] }): void;
};

/**
 * One fetch in flight (or waiting for its batch to be sent). Its promise is made only when someone asks for it
 * (a demand read awaiting the fetch): most flights of a prefetching cache are prefetches nobody awaits, and a
 * promise, its two resolvers and a rejection guard per flight were a third of a replay's garbage.
 */
export class Flight<V> {
  readonly key: string;
  purpose: FetchPurpose;
  /** Set when the key was deleted or invalidated while the fetch ran: its result must not be stored. */
  isDiscarded = false;
  /** True once the batch holding this key was sent. */
  isSent = false;
  /** True when a demand read joined this prefetch after it was sent: what it loads is stored as used (tier-writer.ts). */
  isDemandJoined = false;
  /** True once a read that joined this prefetch counted it as used. */
  isUseCounted = false;
  /** Why a prefetch flight was started (the cache fills it in). */
  prediction: FlightPrediction | undefined = undefined;
  /** The prefetch batch counting on this flight, and the request it made. */
  wait: PrefetchWait | undefined = undefined;
  request: PrefetchRequest | undefined = undefined;
  #promise: Promise<LoadOutcome<V>> | undefined = undefined;
  #resolve: ((outcome: LoadOutcome<V>) => void) | undefined = undefined;
  #reject: ((error: unknown) => void) | undefined = undefined;
  /** 0 while running, 1 once resolved, 2 once rejected. */
  #state = 0;
  #result: LoadOutcome<V> | undefined = undefined;
  #error: unknown = undefined;

  constructor(key: string, purpose: FetchPurpose) {
    this.key = key;
    this.purpose = purpose;
  }

  /** Settles with the outcome of the fetch (made on first use; settled already when asked for after the fact). */
  get promise(): Promise<LoadOutcome<V>> {
    if (this.#promise === undefined) {
      if (this.#state === 1) this.#promise = Promise.resolve(this.#result as LoadOutcome<V>);
      else if (this.#state === 2) this.#promise = Promise.reject(this.#error);
      else {
        this.#promise = new Promise<LoadOutcome<V>>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
      }
    }
    return this.#promise;
  }

  /** Settles the flight with `outcome` (once; later calls are ignored). */
  resolve(outcome: LoadOutcome<V>): void {
    if (this.#state !== 0) return;
    this.#state = 1;
    this.#result = outcome;
    this.#resolve?.(outcome);
    this.#settleWait(false);
  }

  /** Fails the flight with `error` (once; later calls are ignored). */
  reject(error: unknown): void {
    if (this.#state !== 0) return;
    this.#state = 2;
    this.#error = error;
    this.#reject?.(error);
    this.#settleWait(true);
  }

  #settleWait(isFailed: boolean): void {
    const wait = this.wait;
    if (wait === undefined) return;
    this.wait = undefined;
    if (isFailed && this.request !== undefined) wait.failed.push(this.request);
    if (--wait.remaining === 0) wait.resolve({ failed: wait.failed });
  }
}
