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
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { PrescientError } from '../errors.ts';

type Waiter = { readonly at: number; readonly reject: (error: unknown) => void };

/** Rejects bounded promises with ERR_TIMEOUT once `timeoutMs` (+ up to a quarter) has passed without an answer. */
export class CommandDeadline {
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #waiting = new Set<Waiter>();
  #timer: TimerHandle | undefined;
  #timeouts = 0;

  /** `timeoutMs`: the bound, a positive number of ms; `clock`: the wall clock to measure it on (tests may inject). */
  constructor(timeoutMs: number, clock: Clock = systemClock) {
    this.#timeoutMs = timeoutMs;
    this.#clock = clock;
  }

  /** Commands that ran out of time so far. */
  get timeouts(): number {
    return this.#timeouts;
  }

  /**
   * Settles like `work`, or rejects with PrescientError ERR_TIMEOUT when `work` has not settled in time
   * (`what` names the operation in the message).
   */
  bound<T>(work: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        at: this.#clock.now() + this.#timeoutMs,
        reject: () => reject(new PrescientError('ERR_TIMEOUT', `Redis ${what} got no answer within ${this.#timeoutMs} ms`)),
      };
      this.#waiting.add(waiter);
      if (this.#timer === undefined) this.#arm();
      work.then(
        (value) => {
          this.#waiting.delete(waiter);
          resolve(value);
        },
        (error: unknown) => {
          this.#waiting.delete(waiter);
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
      waiter.reject(undefined);
    }
    if (this.#waiting.size > 0) this.#arm();
  }
}
