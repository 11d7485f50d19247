/**
 * RedisWriteBus: the WriteBus over Redis pub/sub — one channel per namespace, a publishing connection and a
 * subscribing one (a subscribed connection can send nothing else).
 *
 * Why pub/sub and not a stream: a notice only matters to nodes running now (a node that starts later holds no old
 * copy), and one a node missed is covered by forgetting its local copies, so nothing needs to be stored. Delivery is
 * at most once: when the subscribing connection drops, node-redis reconnects and subscribes again, and the bus
 * reports a gap. A connection that stops delivering without closing is found by a heartbeat each subscription sends
 * itself (redis-write-bus-subscription.ts) and replaced. In a Redis Cluster, classic pub/sub reaches every node of the
 * cluster, so the URL of any one node serves the whole cluster.
 */
import { createClient } from 'redis';
import { maxTimerMs, systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { fn, nonNegativeNumber, optionsObject, positiveInt, urlOption } from '../options.ts';
import { withinMs } from './command-deadline.ts';
import { closeWithin, reconnectStrategy, type ClosableClient } from './redis-client.ts';
import { RedisBusSubscription, type SubscriberClient } from './redis-write-bus-subscription.ts';
import type { WriteBus, WriteBusListener, WriteNotice } from './write-bus.ts';
import { encodeNotice } from './write-bus.ts';

export type RedisWriteBusOptions = {
  /** The Redis server (any node of a cluster). */
  readonly url: string;
  /** The channel; nodes that share a Redis tier namespace should share it. @default 'prescient:writes' */
  readonly channel?: string;
  /** A publish not acknowledged within this long fails (the cache retries it). @default 250 */
  readonly publishTimeoutMs?: number;
  /** @default 5000 */
  readonly connectTimeoutMs?: number;
  /** The connections' CLIENT SETNAME (seen in CLIENT LIST). @default 'prescient-write-bus' */
  readonly clientName?: string;
  readonly reconnect?: { readonly minDelayMs?: number; readonly maxDelayMs?: number };
  /**
   * Each subscription publishes a heartbeat to itself this often, in ms, so that a connection that stopped delivering
   * without closing (a partition, a middlebox dropping the flow) is found. @default 2000
   */
  readonly heartbeatMs?: number;
  /**
   * A subscription none of whose heartbeats sent this long ago came back is reported down (the node forgets its local
   * copies) and subscribed again on a new connection, in ms; more than `heartbeatMs`. Found within
   * `heartbeatTimeoutMs + heartbeatMs` of the last heartbeat that came back. @default 6000
   */
  readonly heartbeatTimeoutMs?: number;
  readonly clock?: Clock;
  /** Connection errors (each connection reconnects on its own); never thrown. */
  readonly onError?: (error: unknown) => void;
};

/** The part of a node-redis client the bus uses. */
type Client = ClosableClient & SubscriberClient & {
  publish(channel: string, message: string): Promise<unknown>;
};

export class RedisWriteBus implements WriteBus {
  readonly channel: string;
  readonly #url: string;
  readonly #publishTimeoutMs: number;
  readonly #socket: { reconnectStrategy: (attempt: number) => number; connectTimeout: number };
  readonly #clock: Clock;
  readonly #name: string;
  readonly #onError: (error: unknown) => void;
  #publisher: Client | undefined;
  #connecting: Promise<Client> | undefined;
  #pending: Client | undefined;
  readonly #heartbeatMs: number;
  readonly #heartbeatTimeoutMs: number;
  /** Subscriptions made and not stopped, including those still connecting. */
  readonly #subscriptions = new Set<RedisBusSubscription>();
  #isClosed = false;

  /** @throws InvalidOptionError naming the bad option. Connects lazily (the first publish or subscribe). */
  constructor(options: RedisWriteBusOptions) {
    optionsObject(options);
    this.#url = urlOption('url', options.url, ['redis:', 'rediss:'], (url) => new URL(url).href && url);
    const channel = options.channel ?? 'prescient:writes';
    if (typeof channel !== 'string' || channel.length === 0 || channel.length > 256) throw new InvalidOptionError('channel', 'a string of 1 to 256 characters', channel);
    this.channel = channel;
    this.#publishTimeoutMs = nonNegativeNumber('publishTimeoutMs', options.publishTimeoutMs, 250);
    if (!(this.#publishTimeoutMs > 0)) throw new InvalidOptionError('publishTimeoutMs', 'a positive number', options.publishTimeoutMs);
    this.#socket = { reconnectStrategy: reconnectStrategy(options.reconnect), connectTimeout: positiveInt('connectTimeoutMs', options.connectTimeoutMs, 5_000) };
    this.#clock = options.clock ?? systemClock;
    this.#name = options.clientName ?? 'prescient-write-bus';
    if (typeof this.#name !== 'string' || !/^[!-~]{1,64}$/.test(this.#name)) throw new InvalidOptionError('clientName', '1 to 64 printable characters without spaces', options.clientName);
    this.#onError = fn('onError', options.onError, () => {});
    this.#heartbeatMs = positiveInt('heartbeatMs', options.heartbeatMs, 2_000, maxTimerMs);
    this.#heartbeatTimeoutMs = positiveInt('heartbeatTimeoutMs', options.heartbeatTimeoutMs, Math.max(6_000, 3 * this.#heartbeatMs), maxTimerMs);
    if (this.#heartbeatTimeoutMs <= this.#heartbeatMs) {
      throw new InvalidOptionError('heartbeatTimeoutMs', `more than \`heartbeatMs\` (${this.#heartbeatMs})`, options.heartbeatTimeoutMs);
    }
  }

  /** Sends `notice` on the channel. Rejects with ERR_TIER_FAILED when Redis is unreachable or slower than `publishTimeoutMs`. */
  async publish(notice: WriteNotice): Promise<void> {
    await this.#publish(this.channel, encodeNotice(notice));
  }

  async #publish(channel: string, message: string): Promise<void> {
    this.#checkOpen();
    // The deadline covers the connection too: node-redis keeps reconnecting, so a first connect may never end.
    let used: Client | undefined;
    const sent = this.#connectPublisher().then((publisher) => (used = publisher).publish(channel, message));
    let isLate = false;
    const late = () => ((isLate = true), new PrescientError('ERR_TIER_FAILED', `Redis did not take a write notice within ${this.#publishTimeoutMs} ms`));
    try {
      await withinMs(this.#clock, this.#publishTimeoutMs, sent, late);
    } catch (error) {
      // Unanswered in time on a connection that looked up: it may have died silently (nothing else would notice, and
      // every later publish would wait on it). The next publish connects again.
      if (isLate && used !== undefined && used === this.#publisher) {
        this.#publisher = undefined;
        used.destroy();
      }
      throw error instanceof PrescientError ? error : new PrescientError('ERR_TIER_FAILED', `Redis refused a write notice: ${String(error)}`, { cause: error });
    }
  }

  /**
   * Subscribes `listener` on its own connection; resolves once subscribed, which waits while Redis is unreachable
   * (the connection keeps retrying). Every later reconnection of that connection (node-redis subscribes again by
   * itself, or the heartbeat replaced a silent one) is reported to `listener.gap`; a drop to `listener.down`.
   * @throws PrescientError ERR_TIER_FAILED when the subscription fails, ERR_CLOSED when the bus closes first.
   */
  async subscribe(listener: WriteBusListener): Promise<() => Promise<void>> {
    this.#checkOpen();
    const subscription = new RedisBusSubscription({
      channel: this.channel,
      clock: this.#clock,
      heartbeatMs: this.#heartbeatMs,
      heartbeatTimeoutMs: this.#heartbeatTimeoutMs,
      closeMs: this.#publishTimeoutMs,
      listener,
      createClient: () => this.#client(false),
      publish: (channel, message) => this.#publish(channel, message),
      onError: (error) => this.#onError(error),
    });
    this.#subscriptions.add(subscription); // (close ends a subscription still connecting)
    try {
      await subscription.start();
    } catch (error) {
      this.#subscriptions.delete(subscription);
      if (this.#isClosed) throw new PrescientError('ERR_CLOSED', 'The write bus is closed');
      throw error;
    }
    return async () => {
      if (!this.#subscriptions.delete(subscription)) return;
      await subscription.close();
    };
  }

  /** False while a subscription of this bus is connecting or down (notices are being missed); true otherwise, also before any. */
  get isListening(): boolean {
    for (const subscription of this.#subscriptions) if (!subscription.isUp) return false;
    return true;
  }

  /**
   * Closes every connection: a connected one once its pending replies came, or within `publishTimeoutMs` of wall time
   * (a hung Redis: then it is destroyed, as is one still connecting). Never rejects.
   */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const subscriptions = [...this.#subscriptions];
    this.#subscriptions.clear();
    const clients: Client[] = [];
    if (this.#publisher !== undefined) clients.push(this.#publisher);
    if (this.#pending !== undefined) clients.push(this.#pending); // a publisher still connecting
    await Promise.all([...subscriptions.map((subscription) => subscription.close()), ...clients.map((client) => closeWithin(client, this.#publishTimeoutMs))]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #connectPublisher(): Promise<Client> {
    this.#checkOpen();
    if (this.#publisher !== undefined) return Promise.resolve(this.#publisher);
    this.#connecting ??= (async () => {
      const client = (this.#pending = this.#client(true));
      try {
        await client.connect();
      } catch (error) {
        client.destroy();
        throw new PrescientError('ERR_TIER_FAILED', `Could not connect to Redis for write notices: ${String(error)}`, { cause: error });
      } finally {
        this.#connecting = this.#pending = undefined;
      }
      if (this.#isClosed) {
        client.destroy();
        throw new PrescientError('ERR_CLOSED', 'The write bus is closed');
      }
      return (this.#publisher = client);
    })();
    return this.#connecting;
  }

  /** A client of the channel's server: the publisher fails at once while disconnected (no offline queue). */
  #client(isPublisher: boolean): Client {
    const client = createClient({ url: this.#url, name: this.#name, socket: this.#socket, disableOfflineQueue: isPublisher }) as unknown as Client;
    client.on('error', (error: unknown) => this.#onError(error)); // an 'error' without a listener would crash the process
    return client;
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new PrescientError('ERR_CLOSED', 'The write bus is closed');
  }
}
