/**
 * CommandDeadline: bounds how long a caller waits for a remote command's reply, with one watchdog timer for all.
 *
 * Why: node-redis's per-command `timeout` only covers the wait in its write queue; once a command is on the
 * socket, a hung server (stopped process, full network buffer, partition without RST) leaves the reply pending
 * until the socket dies, which can take minutes. A read of a cache tier must not wait that long. A timer per
 * command would cost a timer set and cleared on every read, client-side cache hits included, so instead every
 * bounded promise joins a set with its deadline, and a single timer sweeps the set every quarter of the bound
 * while anything is pending: a wait ends between 1x and 1.25x the bound. The command itself is not cancelled
 * (node-redis has no way to take back a written command); its late reply is ignored.
 *
 * Network waits are wall time, so the deadline runs on a wall clock even when the caller's entries use a virtual one.
 *
 * Because a timed-out command stays queued in the client until its reply comes, a hung server would let every read
 * add one more for as long as it hangs (memory without bound: about 1.5 KB a read with 1 KB keys). So once
 * `maxOverdue` timed-out commands are still unanswered, work given as a function is not started at all: it fails at
 * once with ERR_TIMEOUT (the tier answers a miss) until replies come back and the count falls.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { PrescientError } from '../errors.ts';

type Waiter = { readonly at: number; readonly reject: (error: unknown) => void; isOverdue: boolean };

/** Default `maxOverdue`: timed-out commands left unanswered before new ones are refused without being sent. */
const defaultMaxOverdue = 1024;

/** Rejects bounded promises with ERR_TIMEOUT once `timeoutMs` (+ up to a quarter) has passed without an answer. */
export class CommandDeadline {
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #waiting = new Set<Waiter>();
  readonly #maxOverdue: number;
  #timer: TimerHandle | undefined;
  #timeouts = 0;
  #overdue = 0;

  /**
   * `timeoutMs`: the bound, a positive number of ms; `clock`: the wall clock to measure it on (tests may inject);
   * `maxOverdue`: unanswered timed-out commands past which work given as a function is not started.
   */
  constructor(timeoutMs: number, clock: Clock = systemClock, maxOverdue = defaultMaxOverdue) {
    this.#timeoutMs = timeoutMs;
    this.#clock = clock;
    this.#maxOverdue = maxOverdue;
  }

  /** Commands that ran out of time so far. */
  get timeouts(): number {
    return this.#timeouts;
  }

  /** Commands that ran out of time and have still had no reply. */
  get overdue(): number {
    return this.#overdue;
  }

  /**
   * Settles like `work`, or rejects with PrescientError ERR_TIMEOUT when `work` has not settled in time
   * (`what` names the operation in the message). Work given as a function is started here, unless `maxOverdue`
   * commands are unanswered: then it is not started and the promise rejects with ERR_TIMEOUT at once.
   */
  bound<T>(work: Promise<T> | (() => Promise<T>), what: string): Promise<T> {
    if (typeof work === 'function') {
      if (this.#overdue >= this.#maxOverdue) {
        return Promise.reject(new PrescientError('ERR_TIMEOUT', `Redis is not answering (${this.#overdue} commands overdue): ${what} not sent`));
      }
      work = work();
    }
    const started = work;
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        at: this.#clock.now() + this.#timeoutMs,
        reject: () => reject(new PrescientError('ERR_TIMEOUT', `Redis ${what} got no answer within ${this.#timeoutMs} ms`)),
        isOverdue: false,
      };
      this.#waiting.add(waiter);
      if (this.#timer === undefined) this.#arm();
      const settled = (): void => {
        this.#waiting.delete(waiter);
        if (waiter.isOverdue) this.#overdue--;
      };
      started.then(
        (value) => {
          settled();
          resolve(value);
        },
        (error: unknown) => {
          settled();
          reject(error);
        },
      );
    });
  }

  /** Stops the watchdog; waiters still pending are rejected at once. */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    for (const waiter of this.#waiting) waiter.reject(undefined);
    this.#waiting.clear();
  }

  #arm(): void {
    this.#timer = this.#clock.setTimer(Math.max(1, this.#timeoutMs / 4), () => this.#sweep());
  }

  #sweep(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (const waiter of this.#waiting) {
      if (now < waiter.at) continue;
      this.#waiting.delete(waiter);
      this.#timeouts++;
      waiter.isOverdue = true;
      this.#overdue++;
      waiter.reject(undefined);
    }
    if (this.#waiting.size > 0) this.#arm();
  }
}

/**
 * `promise`, or a rejection with `late()` once `ms` have passed on `clock` first (one timer, cleared when either
 * settles). For a single wait, such as a connection; the late promise is left to settle on its own (its rejection
 * is swallowed: the caller has moved on).
 */
export async function withinMs<T>(clock: Clock, ms: number, promise: Promise<T>, late: () => Error): Promise<T> {
  let timer: TimerHandle | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = clock.setTimer(ms, () => reject(late()));
  });
  try {
    return await Promise.race([promise, timedOut]);
  } catch (error) {
    promise.catch(() => {});
    throw error;
  } finally {
    if (timer !== undefined) clock.clearTimer(timer);
  }
}
