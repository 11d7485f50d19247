/**
 * ReadinessProbe: whether the origin answers, asked at most about once a second however often `/readyz` is called.
 *
 * `/readyz` is public and outside the rate limiter (load balancers and orchestrators call it without a token), so
 * a probe per call would let anyone put an unbounded stream of reads on the origin. Calls made while a probe is in
 * flight share it (single flight), and its answer — ready or not — is reused for `readinessReuseMs` after it
 * settles. The cost: readiness is reported up to that long after it changed.
 */
import { systemClock, type Clock } from '../clock.ts';

/**
 * How long a probe's answer is reused, in ms. Orchestrators probe every few seconds at most (Kubernetes: 10 s by
 * default, 1 s at least), so one second never hides a change from them, and a flood costs the origin one read a
 * second.
 */
export const readinessReuseMs = 1000;

/** Longest a probe waits for the origin, in ms, before it counts as not ready. */
export const readinessTimeoutMs = 2000;

export type ReadinessProbeOptions = {
  /** Asks the origin; resolving (with anything) means it answers, rejecting means it does not. */
  readonly probe: () => Promise<unknown>;
  /** Time source of the reuse window (the service's clock). @default systemClock */
  readonly clock?: Clock;
};

export class ReadinessProbe {
  readonly #probe: () => Promise<unknown>;
  readonly #clock: Clock;
  #inFlight: Promise<boolean> | undefined;
  #last: { readonly isReady: boolean; readonly atMs: number } | undefined;

  constructor(options: ReadinessProbeOptions) {
    this.#probe = options.probe;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * True when the origin answered the latest probe within `readinessTimeoutMs`. Reuses an answer younger than
   * `readinessReuseMs` and joins a probe in flight; otherwise starts one. Never rejects.
   */
  check(): Promise<boolean> {
    const last = this.#last;
    if (last !== undefined && this.#clock.now() - last.atMs < readinessReuseMs) return Promise.resolve(last.isReady);
    this.#inFlight ??= this.#run().then((isReady) => {
      this.#last = { isReady, atMs: this.#clock.now() };
      this.#inFlight = undefined;
      return isReady;
    });
    return this.#inFlight;
  }

  async #run(): Promise<boolean> {
    // The wall clock, not the service's: a virtual clock that nobody advances must not hold the probe open.
    let timer: ReturnType<Clock['setTimer']> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = systemClock.setTimer(readinessTimeoutMs, () => resolve(false));
    });
    try {
      return await Promise.race([this.#probe().then(() => true), timeout]);
    } catch {
      return false;
    } finally {
      if (timer !== undefined) systemClock.clearTimer(timer);
    }
  }
}
