/**
 * RateLimiter: one token bucket per client (per bearer token, or per address when the server runs without tokens).
 *
 * Why a token bucket: it allows a burst of `burst` requests, then a steady `perSecond`, costs two numbers and one
 * clock read per request, and needs no timer — a bucket refills lazily from the time elapsed since it was last
 * touched. Buckets of clients gone quiet are dropped once they would be full anyway, so the table stays bounded
 * by the clients active within the last `burst / perSecond` seconds (and by `maxClients` hard).
 */
import type { Clock } from '../clock.ts';
import { hasMethods, positiveInt } from '../options.ts';
import { InvalidOptionError } from '../errors.ts';

export type RateLimiterOptions = {
  /** Requests a second each client may make, sustained. */
  readonly perSecond: number;
  /** Requests a client may make at once after being idle. */
  readonly burst: number;
  readonly clock: Clock;
  /** Most buckets held; past it, new clients share one overflow bucket. @default 100000 */
  readonly maxClients?: number;
};

type Bucket = { tokens: number; at: number };

/** Key of the bucket shared by clients arriving while the table is full. */
const overflowKey = '\u0000overflow';

export class RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #clock: Clock;
  readonly #maxClients: number;
  readonly #buckets = new Map<string, Bucket>();
  #lastSweepAt = 0;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) for a non-positive rate or burst. */
  constructor(options: RateLimiterOptions) {
    if (!(typeof options.perSecond === 'number' && options.perSecond > 0 && Number.isFinite(options.perSecond))) {
      throw new InvalidOptionError('perSecond', 'a positive finite number', options.perSecond);
    }
    this.#perMs = options.perSecond / 1000;
    this.#burst = positiveInt('burst', options.burst);
    this.#clock = hasMethods<Clock>('clock', options.clock, ['now']);
    this.#maxClients = positiveInt('maxClients', options.maxClients, 100_000);
  }

  /**
   * Takes one token from `client`'s bucket. Returns 0 when the request may go ahead, else the milliseconds
   * until a token is available (for `Retry-After`).
   */
  take(client: string): number {
    const now = this.#clock.now();
    if (now - this.#lastSweepAt > this.#burst / this.#perMs) this.#sweep(now);
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxClients) this.#sweep(now);
      const key = this.#buckets.size >= this.#maxClients ? overflowKey : client;
      bucket = this.#buckets.get(key);
      if (bucket === undefined) {
        bucket = { tokens: this.#burst, at: now };
        this.#buckets.set(key, bucket);
      }
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.#perMs);
  }

  /** Buckets held. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Drops the buckets that have refilled completely: forgetting them changes nothing. */
  #sweep(now: number): void {
    this.#lastSweepAt = now;
    for (const [key, b] of this.#buckets) if (b.tokens + (now - b.at) * this.#perMs >= this.#burst) this.#buckets.delete(key);
  }
}
