/**
 * SessionRegistry: the live sessions a predictor tracks, bounded in count and in idle time.
 *
 * Why: a session's own recent keys are the context every sequence model predicts from, but sessions end without
 * saying so. A Map from id to a node of a doubly linked list in least-recently-used order gives O(1) LRU without
 * re-inserting into the Map (deleting from the front of a V8 Map leaves tombstones that every later iteration
 * from the front must skip); each touch also inspects the oldest entry and drops it when idle for more than `idleMs`, so idle sessions leave at the rate new
 * ones arrive, and the `maxSessions` cap drops the least recently used beyond it. A session touched after an idle
 * gap starts afresh (web-analytics convention: 30 minutes of inactivity ends a visit). The last session touched
 * or peeked is remembered, so the usual pattern — observe a session's access, then predict for it — finds its
 * node without a second Map lookup.
 */

/**
 * A session's entry: its state and when it was last touched (ms). The time lives here, not in the state: every
 * registry's nodes share one shape, so the expiry checks stay monomorphic however many kinds of state the
 * predictors keep, and the oldest entry's check reads no state object.
 */
type Node<T> = { id: string; lastAt: number; state: T; prev: Node<T> | undefined; next: Node<T> | undefined };

/** Bounded, idle-expiring map of session id -> state. */
export class SessionRegistry<T extends object> {
  readonly #max: number;
  readonly #idleMs: number;
  readonly #create: () => T;
  #map = new Map<string, Node<T>>();
  /** Least recently touched. */
  #head: Node<T> | undefined;
  /** Most recently touched. */
  #tail: Node<T> | undefined;
  /** The node last found by `touch` or `peek` (undefined once removed). */
  #last: Node<T> | undefined;

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
    let node = this.#last !== undefined && this.#last.id === id ? this.#last : this.#map.get(id);
    // A time that is not a number (a broken clock, a bad trace field) must not read as "everyone idle": keep the last.
    if (!Number.isFinite(at)) at = node?.lastAt ?? this.#tail?.lastAt ?? 0;
    if (node !== undefined && at - node.lastAt > this.#idleMs) {
      this.#remove(node);
      node = undefined;
    }
    if (node === undefined) {
      node = { id, lastAt: at, state: this.#create(), prev: undefined, next: undefined };
      this.#map.set(id, node);
      this.#append(node);
      if (this.#map.size > this.#max && this.#head !== undefined) this.#remove(this.#head);
    } else if (node !== this.#tail) {
      this.#unlink(node);
      this.#append(node);
    }
    node.lastAt = at;
    this.#last = node;
    for (let k = 0; k < 2; k++) {
      const oldest = this.#head;
      if (oldest === undefined || oldest === node || at - oldest.lastAt <= this.#idleMs) break;
      this.#remove(oldest);
    }
    return node.state;
  }

  /** The state of session `id` without touching it, or undefined. */
  peek(id: string): T | undefined {
    const last = this.#last;
    if (last !== undefined && last.id === id) return last.state;
    const node = this.#map.get(id);
    if (node !== undefined) this.#last = node;
    return node?.state;
  }

  #remove(node: Node<T>): void {
    if (node === this.#last) this.#last = undefined;
    this.#map.delete(node.id);
    this.#unlink(node);
  }

  #unlink(node: Node<T>): void {
    if (node.prev === undefined) this.#head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.#tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
  }

  #append(node: Node<T>): void {
    node.prev = this.#tail;
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
  }
}
