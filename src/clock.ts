/**
 * Clock: the only place in the engine that reads time or sets timers.
 *
 * Why: the simulator runs the same engine that ships, on virtual time, so every TTL, backoff, decay and budget
 * window must take its time from an injected clock (Caffeine's `Ticker`, node-lru-cache's `perf` option).
 * `systemClock` is the wall clock in milliseconds (monotonic, from `performance.now()` offset to the epoch);
 * `VirtualClock` advances only when told to and fires due timers in time order, ties in creation order.
 */
import { InvalidOptionError } from './errors.ts';

/** Opaque handle of a timer set on a clock. */
export type TimerHandle = { readonly id: number };

/** Time source and timer service. All times are milliseconds. */
export interface Clock {
  /** Current time in milliseconds since the Unix epoch (virtual clocks may start anywhere). */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now (0 or less: on the next turn). */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancels a timer; a no-op for one that fired or was cleared. */
  clearTimer(handle: TimerHandle): void;
  /**
   * Optional: calls `fn` once, as soon as the event loop has run the I/O callbacks already due — sooner than
   * `setTimer(0)` (which waits for the next timers phase, 1 ms under Node). `clearTimer` cancels it. A clock
   * without it is used through `setTimer(0)`: see {@link deferOn}.
   */
  defer?(fn: () => void): TimerHandle;
}

/** Handles returned by `systemClock.defer` (Node Immediates), which `clearTimer` cancels with `clearImmediate`. */
const immediates = new WeakSet<object>();

const epochOffsetMs = Date.now() - performance.now();

/** The longest delay a Node timer holds (2^31 - 1 ms, about 24.8 days); a longer one would fire after 1 ms. */
export const maxTimerMs = 2 ** 31 - 1;

/**
 * The wall clock. Timers are unref'd so a cache never keeps a process alive on its own. A delay past `maxTimerMs`
 * (a retry backoff doubled many times, a huge configured interval) waits `maxTimerMs`, never 1 ms.
 */
export const systemClock: Clock = Object.freeze({
  now: () => epochOffsetMs + performance.now(),
  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer = setTimeout(fn, ms > maxTimerMs ? maxTimerMs : Math.max(0, ms));
    timer.unref?.();
    return timer as unknown as TimerHandle;
  },
  clearTimer(handle: TimerHandle): void {
    if (immediates.has(handle)) clearImmediate(handle as unknown as NodeJS.Immediate);
    else clearTimeout(handle as unknown as NodeJS.Timeout);
  },
  /** `setImmediate`, unref'd: runs after the I/O callbacks of the current turn, before the next timers. */
  defer(fn: () => void): TimerHandle {
    const immediate = setImmediate(fn);
    immediate.unref?.();
    immediates.add(immediate);
    return immediate as unknown as TimerHandle;
  },
});

/**
 * Calls `fn` once on `clock`'s next turn: `clock.defer` when it has one, else `setTimer(0)`. Cancel with
 * `clock.clearTimer`.
 */
export function deferOn(clock: Clock, fn: () => void): TimerHandle {
  return clock.defer === undefined ? clock.setTimer(0, fn) : clock.defer(fn);
}

/** A timer of a VirtualClock; it is its own handle (no Set of live ids to keep: the state lives on the timer). */
class VirtualTimer implements TimerHandle {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
  readonly owner: VirtualClock;
  /** Waiting in the heap; false once fired or cleared. */
  isPending = true;
  /** Cleared while waiting: skipped when it reaches the top of the heap. */
  isCancelled = false;

  constructor(owner: VirtualClock, id: number, at: number, fn: () => void) {
    this.owner = owner;
    this.id = id;
    this.at = at;
    this.fn = fn;
  }
}

/**
 * A clock that moves only when `advance`/`advanceTo` is called. Timers live in a binary heap keyed by
 * (due time, creation order), so firing n timers costs O(n log n).
 */
export class VirtualClock implements Clock {
  #now: number;
  #nextId = 1;
  #heap: VirtualTimer[] = [];
  /** Cleared timers still in the heap. */
  #cancelled = 0;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) unless `startMs` is a finite number. */
  constructor(startMs = 0) {
    if (typeof startMs !== 'number' || !Number.isFinite(startMs)) throw new InvalidOptionError('startMs', 'a finite number of ms', startMs);
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer = new VirtualTimer(this, this.#nextId++, this.#now + Math.max(0, ms), fn);
    this.#push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    if (!(handle instanceof VirtualTimer) || handle.owner !== this || !handle.isPending) return;
    handle.isPending = false;
    handle.isCancelled = true;
    this.#cancelled++;
  }

  /** A 0 ms timer: virtual time has no I/O to let through, so a deferred call orders exactly like `setTimer(0)`. */
  defer(fn: () => void): TimerHandle {
    return this.setTimer(0, fn);
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#heap.length - this.#cancelled;
  }

  /** Due time of the earliest pending timer, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    this.#dropCancelledTop();
    return this.#heap[0]?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. Synchronous. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /**
   * Moves time to `atMs` (never backwards), firing due timers in order; time stands at each timer's due time
   * while it runs, so timers it sets are ordered correctly.
   */
  advanceTo(atMs: number): void {
    for (;;) {
      this.#dropCancelledTop();
      const top = this.#heap[0];
      if (top === undefined || top.at > atMs) break;
      this.#pop();
      if (top.at > this.#now) this.#now = top.at;
      top.fn();
    }
    if (atMs > this.#now) this.#now = atMs;
  }

  /** Fires only the earliest pending timer, moving time to it. Returns false when no timer is pending. */
  step(): boolean {
    this.#dropCancelledTop();
    const top = this.#pop();
    if (top === undefined) return false;
    if (top.at > this.#now) this.#now = top.at;
    top.fn();
    return true;
  }

  /**
   * Like `advance`, but lets promise continuations run after each timer, so async work started by one timer
   * (a fetch that resolves, a scheduler that awaits) sees the clock where it fired. For tests and the simulator.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flushMicrotasks();
    for (;;) {
      this.#dropCancelledTop();
      const top = this.#heap[0];
      if (top === undefined || top.at > target) break;
      this.#pop();
      if (top.at > this.#now) this.#now = top.at;
      top.fn();
      await flushMicrotasks();
    }
    if (target > this.#now) this.#now = target;
    await flushMicrotasks();
  }

  #dropCancelledTop(): void {
    while (this.#heap.length > 0 && this.#heap[0].isCancelled) {
      this.#cancelled--;
      this.#pop();
    }
  }

  #push(timer: VirtualTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #pop(): VirtualTimer | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (top !== undefined) top.isPending = false;
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

/**
 * Resolves after every promise continuation queued so far (and those they queue) has run: a macrotask boundary.
 * This is not a timer in the engine's sense: it reads no time and waits for nothing but the microtask queue.
 */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
