/**
 * RedisWriteBus: the WriteBus over Redis pub/sub — one channel per namespace, a publishing connection and a
 * subscribing one (a subscribed connection can send nothing else).
 *
 * Why pub/sub and not a stream: a notice only matters to nodes running now (a node that starts later holds no old
 * copy), and one a node missed is covered by forgetting its local copies, so nothing needs to be stored. Delivery is
 * at most once: when the subscribing connection drops, node-redis reconnects and subscribes again, and the bus
 * reports the drop (notices may be lost) and, once subscribed again, a gap. Each connection PINGs every
 * `pingIntervalMs` and is dropped after `idleTimeoutMs` without traffic, so one that died without closing is found
 * in seconds rather than TCP keepalive's minutes. In a Redis Cluster, classic pub/sub reaches every node of the cluster, so the URL of any one node
 * serves the whole cluster.
 */
import { createClient } from 'redis';
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { fn, nonNegativeNumber, optionsObject, positiveInt, urlOption } from '../options.ts';
import { withinMs } from './command-deadline.ts';
import { closeWithin, reconnectStrategy, type ClosableClient } from './redis-client.ts';
import type { WriteBus, WriteBusListener, WriteNotice } from './write-bus.ts';
import { callHandler, encodeNotice } from './write-bus.ts';

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
   * Each connection sends PING this often (node-redis `pingInterval`; a subscribed connection may PING) and the next
   * only once the last one answered. @default 5000
   */
  readonly pingIntervalMs?: number;
  /**
   * A connection that received and sent nothing for this long is dropped and reconnects (node-redis
   * `socket.socketTimeout`); the subscription then reports a gap and the node forgets its local copies. With the
   * PINGs, a healthy connection is never idle that long, and one that died without closing (a partition, a load
   * balancer dropping the flow) is found within about `pingIntervalMs + idleTimeoutMs`, where TCP keepalive would
   * take minutes. An event loop blocked longer than this also drops the connections. At least twice
   * `pingIntervalMs`. @default 15000
   */
  readonly idleTimeoutMs?: number;
  readonly clock?: Clock;
  /**
   * Connection errors (each connection reconnects on its own), and what a subscriber's `notice`, `gap` or `down`
   * threw (the subscription goes on); never thrown. What `onError` itself throws is dropped.
   */
  readonly onError?: (error: unknown) => void;
};

/** The part of a node-redis client the bus uses. */
type Client = ClosableClient & {
  connect(): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
};

export class RedisWriteBus implements WriteBus {
  readonly channel: string;
  readonly #url: string;
  readonly #publishTimeoutMs: number;
  readonly #socket: { reconnectStrategy: (attempt: number) => number; connectTimeout: number; socketTimeout: number };
  readonly #pingInterval: number;
  readonly #clock: Clock;
  readonly #name: string;
  readonly #onError: (error: unknown) => void;
  #publisher: Client | undefined;
  #connecting: Promise<Client> | undefined;
  #pending: Client | undefined;
  /** Each subscription's connection, with what tells its listener the bus closed under it. */
  readonly #subscribers = new Map<Client, () => void>();
  /** Subscribed connections that dropped and have not subscribed again yet. */
  readonly #down = new Set<Client>();
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
    this.#pingInterval = positiveInt('pingIntervalMs', options.pingIntervalMs, 5_000, 3_600_000);
    if (this.#pingInterval < 100) throw new InvalidOptionError('pingIntervalMs', 'an integer of at least 100', options.pingIntervalMs);
    const idleTimeout = positiveInt('idleTimeoutMs', options.idleTimeoutMs, Math.max(15_000, 3 * this.#pingInterval), 2 ** 31 - 1);
    if (idleTimeout < 2 * this.#pingInterval) throw new InvalidOptionError('idleTimeoutMs', `an integer of at least twice pingIntervalMs (${2 * this.#pingInterval})`, options.idleTimeoutMs);
    this.#socket = { reconnectStrategy: reconnectStrategy(options.reconnect), connectTimeout: positiveInt('connectTimeoutMs', options.connectTimeoutMs, 5_000), socketTimeout: idleTimeout };
    this.#clock = options.clock ?? systemClock;
    this.#name = options.clientName ?? 'prescient-write-bus';
    if (typeof this.#name !== 'string' || !/^[!-~]{1,64}$/.test(this.#name)) throw new InvalidOptionError('clientName', '1 to 64 printable characters without spaces', options.clientName);
    const onError = fn<(error: unknown) => void>('onError', options.onError, () => {});
    this.#onError = (error) => callHandler(() => onError(error), () => {});
  }

  /** Sends `notice` on the channel. Rejects with ERR_TIER_FAILED when Redis is unreachable or slower than `publishTimeoutMs`. */
  async publish(notice: WriteNotice): Promise<void> {
    this.#checkOpen();
    // The deadline covers the connection too: node-redis keeps reconnecting, so a first connect may never end.
    const sent = this.#connectPublisher().then((publisher) => publisher.publish(this.channel, encodeNotice(notice)));
    const late = () => new PrescientError('ERR_TIER_FAILED', `Redis did not take a write notice within ${this.#publishTimeoutMs} ms`);
    try {
      await withinMs(this.#clock, this.#publishTimeoutMs, sent, late);
    } catch (error) {
      throw error instanceof PrescientError ? error : new PrescientError('ERR_TIER_FAILED', `Redis refused a write notice: ${String(error)}`, { cause: error });
    }
  }

  /**
   * Subscribes `listener` on its own connection; resolves once subscribed, which waits while Redis is unreachable
   * (the connection keeps retrying). Every later reconnection of that connection (node-redis subscribes again by
   * itself) is reported to `listener.gap`.
   * @throws PrescientError ERR_TIER_FAILED when the subscription fails, ERR_CLOSED when the bus closes first.
   */
  async subscribe(listener: WriteBusListener): Promise<() => Promise<void>> {
    this.#checkOpen();
    const client = this.#client(false);
    let isSubscribed = false;
    let isUp = false;
    // The listener's handlers run inside node-redis's event handlers: a throw there would be an uncaught exception
    // ('reconnecting', 'end'), tear the connection down again ('ready') or drop the rest of a reply (a message).
    const call = (handler: () => void): void => callHandler(handler, this.#onError);
    client.on('ready', () => {
      if (!isSubscribed) return;
      isUp = true;
      this.#down.delete(client);
      call(() => listener.gap()); // reconnected and subscribed again: what was published meanwhile never came
    });
    const dropped = (): void => {
      if (!isUp || !this.#subscribers.has(client)) return; // (closing it ourselves emits 'end' too)
      isUp = false;
      this.#down.add(client);
      // Lost: a connection that died without closing is found only once idle for idleTimeoutMs, and notices sent in
      // that time never came, so local copies may be stale already.
      call(() => listener.down?.(true));
    };
    client.on('reconnecting', dropped);
    client.on('end', dropped);
    // (close ends a subscription still connecting; one it ends after it was up is a drop its listener hears)
    this.#subscribers.set(client, () => {
      if (isUp) call(() => listener.down?.(true));
      isUp = false;
    });
    this.#down.add(client); // not listening until subscribed
    try {
      await client.connect();
      await client.subscribe(this.channel, (message: string) => call(() => listener.notice(message)));
    } catch (error) {
      this.#subscribers.delete(client);
      this.#down.delete(client);
      client.destroy();
      if (this.#isClosed) throw new PrescientError('ERR_CLOSED', 'The write bus is closed');
      throw new PrescientError('ERR_TIER_FAILED', `Could not subscribe to the write notices: ${String(error)}`, { cause: error });
    }
    if (this.#isClosed) {
      client.destroy();
      throw new PrescientError('ERR_CLOSED', 'The write bus is closed');
    }
    isSubscribed = isUp = true;
    this.#down.delete(client);
    return async () => {
      this.#down.delete(client);
      if (!this.#subscribers.delete(client)) return;
      await closeWithin(client, this.#publishTimeoutMs);
    };
  }

  /** False while a subscription of this bus is connecting or down (notices are being missed); true otherwise, also before any. */
  get isListening(): boolean {
    return this.#down.size === 0;
  }

  /**
   * Closes every connection: a connected one once its pending replies came, or within `publishTimeoutMs` of wall time
   * (a hung Redis: then it is destroyed, as is one still connecting). Never rejects.
   */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const clients = [...this.#subscribers.keys()];
    for (const closedUnder of this.#subscribers.values()) closedUnder();
    this.#subscribers.clear();
    this.#down.clear();
    if (this.#publisher !== undefined) clients.push(this.#publisher);
    if (this.#pending !== undefined) clients.push(this.#pending); // a publisher still connecting
    await Promise.all(clients.map((client) => closeWithin(client, this.#publishTimeoutMs)));
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
    const client = createClient({ url: this.#url, name: this.#name, socket: this.#socket, disableOfflineQueue: isPublisher, pingInterval: this.#pingInterval }) as unknown as Client;
    client.on('error', (error: unknown) => this.#onError(error)); // an 'error' without a listener would crash the process
    return client;
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new PrescientError('ERR_CLOSED', 'The write bus is closed');
  }
}
