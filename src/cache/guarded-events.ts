/**
 * GuardedEvents: the Cache's event emitter, where a listener that throws is counted, not propagated.
 *
 * Why: events fire from inside the engine's own work — a batch the origin answered being stored, the prediction
 * loop offering candidates, a read using a prefetched entry. With a plain EventEmitter a listener that throws would
 * unwind that work: it failed the other keys of an origin batch, rejected a read that had its value, and, from a
 * drain callback, ended the process with an uncaught exception. A listener is the application's code observing the
 * cache; its fault must stay its own. Each listener is wrapped once (kept in a WeakMap so `off` finds the wrapper);
 * the count shows in `stats().listenerErrors`, and each error goes to `onError` (the cache's `onFault`).
 */
import { EventEmitter } from 'node:events';

type Listener = (...args: unknown[]) => void;

/** An event emitter whose listeners cannot throw into the code that emits. */
export class GuardedEvents {
  readonly #emitter = new EventEmitter();
  readonly #wrapped = new WeakMap<Listener, Listener>();
  #errors = 0;
  readonly #onError: (error: unknown) => void;

  /** `onError` hears each error a listener threw (after it is counted). */
  constructor(onError: (error: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  /** Listener calls that threw so far. */
  get errors(): number {
    return this.#errors;
  }

  on(event: string, listener: Listener): void {
    let wrapper = this.#wrapped.get(listener);
    if (wrapper === undefined) {
      wrapper = (...args: unknown[]): void => {
        try {
          listener(...args);
        } catch (error) {
          this.#errors++;
          this.#onError(error);
        }
      };
      this.#wrapped.set(listener, wrapper);
    }
    this.#emitter.on(event, wrapper);
  }

  off(event: string, listener: Listener): void {
    const wrapper = this.#wrapped.get(listener);
    if (wrapper !== undefined) this.#emitter.off(event, wrapper);
  }

  emit(event: string, payload: unknown): void {
    this.#emitter.emit(event, payload);
  }

  listenerCount(event: string): number {
    return this.#emitter.listenerCount(event);
  }
}
