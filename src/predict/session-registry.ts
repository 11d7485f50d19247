/**
 * SessionRegistry: the live sessions a predictor tracks, bounded in count and in idle time.
 *
 * Why: a session's own recent keys are the context every sequence model predicts from, but sessions end without
 * saying so. A Map kept in least-recently-used order (re-inserted on each touch) gives O(1) LRU; each touch also
 * inspects the oldest entry and drops it when idle for more than `idleMs`, so idle sessions leave at the rate new
 * ones arrive, and the `maxSessions` cap drops the least recently used beyond it. A session touched after an idle
 * gap starts afresh (web-analytics convention: 30 minutes of inactivity ends a visit).
 */

/** State kept per session; `lastAt` is maintained by the registry (ms of the last touch). */
export type SessionState = { lastAt: number };

/** Bounded, idle-expiring map of session id -> state. */
export class SessionRegistry<T extends SessionState> {
  readonly #max: number;
  readonly #idleMs: number;
  readonly #create: () => T;
  #map = new Map<string, T>();
  #lastId: string | undefined;

  /**
   * @param maxSessions most sessions kept (least recently used dropped beyond it).
   * @param idleMs a session untouched for longer is dropped or, when touched again, restarted.
   * @param create makes the state of a new session.
   */
  constructor(maxSessions: number, idleMs: number, create: () => T) {
    this.#max = maxSessions;
    this.#idleMs = idleMs;
    this.#create = create;
  }

  /** Number of live sessions. */
  get size(): number {
    return this.#map.size;
  }

  /** The state of session `id` at time `at` (ms), created or restarted as needed, and marked most recent. */
  touch(id: string, at: number): T {
    const map = this.#map;
    let state = map.get(id);
    if (state !== undefined && at - state.lastAt > this.#idleMs) {
      map.delete(id);
      state = undefined;
    }
    if (state === undefined) {
      state = this.#create();
      map.set(id, state);
      if (map.size > this.#max) this.#dropOldest();
    } else if (this.#lastId !== id) {
      map.delete(id);
      map.set(id, state);
    }
    this.#lastId = id;
    state.lastAt = at;
    this.#expireOldest(at);
    return state;
  }

  /** The state of session `id` without touching it, or undefined. */
  peek(id: string): T | undefined {
    return this.#map.get(id);
  }

  #dropOldest(): void {
    const first = this.#map.keys().next();
    if (!first.done) this.#map.delete(first.value);
  }

  #expireOldest(at: number): void {
    for (let k = 0; k < 2; k++) {
      const first = this.#map.entries().next();
      if (first.done || at - first.value[1].lastAt <= this.#idleMs) return;
      this.#map.delete(first.value[0]);
    }
  }
}
