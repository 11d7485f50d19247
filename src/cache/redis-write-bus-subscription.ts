/**
 * RedisBusSubscription: one subscription of a RedisWriteBus — its own connection, and the heartbeat that tells a
 * live subscription from one that died silently.
 *
 * Why a heartbeat: a connection can stop delivering without closing (a partition, a NAT or load balancer dropping an
 * idle flow, a middlebox that stops forwarding). Nothing is sent on a subscribed connection, and TCP keepalive
 * notices after about 11 minutes on Linux defaults: meanwhile the node said it listened, heard no notices, and served
 * the copies other nodes had replaced. So every `heartbeatMs` the subscription publishes a heartbeat (its send time)
 * on a channel only it listens to, on the same connection (`<channel>#heartbeat:<random id>`), and expects it back.
 * When no heartbeat sent in the last `heartbeatTimeoutMs` has come back, it reports the subscription down with the
 * notices lost (the node forgets what it holds: what it missed is unknown), destroys the connection and subscribes
 * on a new one, again each `heartbeatTimeoutMs` until one listens, which it reports as a gap. A connection that
 * node-redis itself found dropped and does not get back within `heartbeatTimeoutMs` (a handshake that hangs) is
 * replaced the same way. Other nodes never hear the heartbeats (the channel is this subscription's own): they count
 * nothing and forget nothing. Timers run on the bus's Clock.
 */
import { randomUUID } from 'node:crypto';
import { deferOn, type Clock, type TimerHandle } from '../clock.ts';
import { PrescientError } from '../errors.ts';
import { closeWithin, type ClosableClient } from './redis-client.ts';
import type { WriteBusListener } from './write-bus.ts';

/** The part of a node-redis client a subscription uses. */
export type SubscriberClient = ClosableClient & {
  connect(): Promise<unknown>;
  subscribe(channels: string | string[], listener: (message: string, channel: string) => void): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
};

export type RedisBusSubscriptionOptions = {
  readonly channel: string;
  readonly clock: Clock;
  /** Between heartbeats, in ms. */
  readonly heartbeatMs: number;
  /** A subscription none of whose heartbeats sent this long ago came back is replaced, in ms (> heartbeatMs). */
  readonly heartbeatTimeoutMs: number;
  /** How long a closing connection may take to answer what it was sent (then it is destroyed), in ms. */
  readonly closeMs: number;
  readonly listener: WriteBusListener;
  /** A new subscribing connection, not connected yet (its 'error' events already handled). */
  readonly createClient: () => SubscriberClient;
  /** Publishes `message` on `channel`; rejects when it could not (the heartbeat then does not come back). */
  readonly publish: (channel: string, message: string) => Promise<void>;
  readonly onError: (error: unknown) => void;
};

export class RedisBusSubscription {
  readonly #o: RedisBusSubscriptionOptions;
  readonly #heartbeatChannel: string;
  /** The connection in use (the newest); events of older ones are ignored. */
  #client: SubscriberClient | undefined;
  /** The connection whose subscription was made (node-redis subscribes it again after a reconnection). */
  #subscribed: SubscriberClient | undefined;
  #isUp = false;
  #isClosed = false;
  /** The latest sign of life: the send time of the newest heartbeat that came back, or when the connection (re)started or went up. */
  #lastSign: number;
  #timer: TimerHandle | undefined;

  constructor(options: RedisBusSubscriptionOptions) {
    this.#o = options;
    this.#heartbeatChannel = `${options.channel}#heartbeat:${randomUUID()}`;
    this.#lastSign = options.clock.now();
  }

  /** True while subscribed and not known down. */
  get isUp(): boolean {
    return this.#isUp;
  }

  /**
   * Connects and subscribes; resolves once subscribed (the first subscription: no gap is reported), then starts the
   * heartbeat. Rejects with ERR_TIER_FAILED when that fails, ERR_CLOSED when closed first.
   */
  async start(): Promise<void> {
    const client = this.#open();
    try {
      await this.#listen(client);
    } catch (error) {
      this.#client = undefined;
      client.destroy();
      if (this.#isClosed) throw closedError();
      throw new PrescientError('ERR_TIER_FAILED', `Could not subscribe to the write notices: ${String(error)}`, { cause: error });
    }
    if (this.#isClosed || client !== this.#client) {
      client.destroy();
      throw closedError();
    }
    this.#subscribed = client;
    this.#isUp = true;
    this.#lastSign = this.#o.clock.now();
    this.#schedule();
  }

  /** Stops the heartbeat and closes the connection (see closeWithin). Never rejects. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#isUp = false;
    if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = this.#subscribed = undefined;
    if (client !== undefined) await closeWithin(client, this.#o.closeMs);
  }

  /** A new connection, made the current one, with the events of a subscription. */
  #open(): SubscriberClient {
    const client = this.#o.createClient();
    this.#client = client;
    this.#lastSign = this.#o.clock.now();
    client.on('ready', () => {
      if (client !== this.#subscribed || client !== this.#client || this.#isClosed) return; // (a first connect: not subscribed yet)
      this.#lastSign = this.#o.clock.now();
      this.#isUp = true;
      this.#o.listener.gap(); // node-redis reconnected and subscribed again: what was published meanwhile never came
    });
    const dropped = (): void => {
      if (client !== this.#client || !this.#isUp) return; // (an old connection, or closing it ourselves)
      this.#isUp = false;
      this.#lastSign = this.#o.clock.now(); // node-redis reconnects: it has heartbeatTimeoutMs to get back
      this.#o.listener.down?.();
    };
    client.on('reconnecting', dropped);
    client.on('end', dropped);
    return client;
  }

  async #listen(client: SubscriberClient): Promise<void> {
    await client.connect();
    await client.subscribe([this.#o.channel, this.#heartbeatChannel], (message, channel) => {
      if (channel === this.#heartbeatChannel) this.#echo(client, message);
      else this.#o.listener.notice(message);
    });
  }

  #echo(client: SubscriberClient, message: string): void {
    if (client !== this.#client) return;
    const sentAt = Number(message);
    this.#lastSign = Math.max(this.#lastSign, Number.isFinite(sentAt) ? sentAt : this.#o.clock.now());
  }

  #schedule(): void {
    if (this.#isClosed) return;
    this.#timer = this.#o.clock.setTimer(this.#o.heartbeatMs, () => this.#tick());
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#isClosed) return;
    const now = this.#o.clock.now();
    if (this.#isLate(now)) {
      // After a blocked event loop, timers run before the I/O that waited: look again once that I/O has run.
      this.#timer = deferOn(this.#o.clock, () => {
        this.#timer = undefined;
        if (this.#isClosed) return;
        if (this.#isLate(this.#o.clock.now())) this.#replace();
        this.#schedule();
      });
      return;
    }
    if (this.#isUp) this.#o.publish(this.#heartbeatChannel, String(now)).catch(() => {}); // a lost one does not come back: that is the signal
    this.#schedule();
  }

  #isLate(now: number): boolean {
    return now - this.#lastSign >= this.#o.heartbeatTimeoutMs;
  }

  /** Gives up the current connection (silent, or not back in time) and subscribes on a new one. */
  #replace(): void {
    const timeoutMs = this.#o.heartbeatTimeoutMs;
    if (this.#isUp) {
      this.#isUp = false;
      this.#o.onError(new PrescientError('ERR_TIER_FAILED', `No write-bus heartbeat came back within ${timeoutMs} ms: subscribing on a new connection`));
      this.#o.listener.down?.(true); // notices were missed already, unnoticed: the local copies are not to be trusted now
    }
    const old = this.#client;
    this.#subscribed = undefined;
    const client = this.#open();
    old?.destroy(); // (its events are ignored from now on)
    this.#listen(client).then(
      () => {
        if (client !== this.#client || this.#isClosed) return; // replaced or closed meanwhile
        this.#subscribed = client;
        this.#lastSign = this.#o.clock.now();
        this.#isUp = true;
        this.#o.listener.gap();
      },
      (error: unknown) => {
        if (client !== this.#client || this.#isClosed) return;
        this.#o.onError(error); // the next tick past the deadline tries another connection
      },
    );
  }
}

function closedError(): PrescientError {
  return new PrescientError('ERR_CLOSED', 'The write bus is closed');
}
