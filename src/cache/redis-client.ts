/**
 * The node-redis client of a RedisTier: the client the tier builds from a URL or cluster root nodes, and the part
 * of a client's surface the tier relies on, so a client passed in (single server or cluster) fits the same shape.
 */
import { createClient, createCluster, RESP_TYPES } from 'redis';
import { withinMs, type CommandDeadline } from './command-deadline.ts';
import { isWellFormed } from './entry.ts';
import type { ScriptRunner } from './redis-scripts.ts';
import { systemClock } from '../clock.ts';
import { InvalidOptionError } from '../errors.ts';
import { positiveInt, urlOption } from '../options.ts';

/** The type mapping the tier reads values with (binary strings as Buffers); give it to a client you pass in. */
export const redisTierTypeMapping = Object.freeze({ [RESP_TYPES.BLOB_STRING]: Buffer });

/** The connection options of RedisTierOptions (documented there). */
export type RedisClientSettings = {
  readonly url?: string;
  readonly rootNodes?: readonly string[];
  readonly clientSideCache?: { readonly maxEntries?: number } | false;
  readonly reconnect?: { readonly minDelayMs?: number; readonly maxDelayMs?: number };
};

/** The part of a node-redis client or cluster the tier uses (both shapes fit it). */
export type RedisConnection = ScriptRunner & {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  readonly options?: { readonly commandOptions?: { readonly typeMapping?: Record<number, unknown> } };
  readonly _options?: { readonly defaults?: { readonly commandOptions?: { readonly typeMapping?: Record<number, unknown> } } };
  readonly clientSideCache?: { stats(): { hitCount: number; missCount: number }; size(): number; invalidate(key: string | null): void };
  readonly masters?: readonly unknown[];
  get(key: string): Promise<unknown>;
  unlink(keys: Array<string | Buffer>): Promise<number>;
  withCommandOptions(options: object): RedisConnection;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  nodeClient?(node: unknown): Promise<RedisConnection>;
  scanIterator?(options: { MATCH: string; COUNT: number }): AsyncIterable<Array<string | Buffer>>;
};

/**
 * A client the tier owns, not yet connected: one server (`url`) or a cluster (`rootNodes`), RESP 3, the offline
 * queue off (a command while disconnected fails at once), the Buffer type mapping, client-side caching unless
 * `clientSideCache: false`, and reconnection with capped exponential backoff and full jitter.
 * @throws InvalidOptionError for a bad `url`, `rootNodes`, `clientSideCache` or `reconnect`.
 */
export function createRedisTierClient(options: RedisClientSettings, connectTimeoutMs: number): RedisConnection {
  const urls = options.url !== undefined ? [options.url] : options.rootNodes;
  if (!Array.isArray(urls) || urls.length === 0) throw new InvalidOptionError('rootNodes', 'a non-empty array of redis:// or rediss:// URLs', urls);
  for (const url of urls) urlOption(options.url !== undefined ? 'url' : 'rootNodes', url, ['redis:', 'rediss:'], (u) => new URL(u));
  const csc = options.clientSideCache ?? {};
  if (csc !== false && (typeof csc !== 'object' || csc === null)) throw new InvalidOptionError('clientSideCache', 'an object or false', csc);
  const clientSideCache = csc === false ? undefined : { maxEntries: positiveInt('clientSideCache.maxEntries', csc.maxEntries, 10_000), evictPolicy: 'LRU' as const };
  const socket = { reconnectStrategy: reconnectStrategy(options.reconnect), connectTimeout: connectTimeoutMs };
  const commandOptions = { typeMapping: redisTierTypeMapping };
  if (options.url !== undefined) {
    return createClient({ url: options.url, RESP: 3, disableOfflineQueue: true, clientSideCache, commandOptions, socket }) as unknown as RedisConnection;
  }
  // `commandOptions` is not in the typed `defaults`, but node-redis 6.3 passes it to every node client, whose default
  // type mapping is what its client-side cache compares against (test/cache/redis-cluster.redis.test.ts checks it).
  const defaults = { disableOfflineQueue: true, socket, commandOptions };
  return createCluster({ rootNodes: urls.map((url) => ({ url })), RESP: 3, clientSideCache, commandOptions, defaults }) as unknown as RedisConnection;
}

/**
 * node-redis's `reconnectStrategy` for the `reconnect` option: capped exponential backoff with full jitter (AWS
 * Architecture Blog, "Exponential Backoff and Jitter", 2015), which spreads the reconnects of many nodes.
 * @throws InvalidOptionError for delays that are not positive integers, or a maximum below the minimum.
 */
export function reconnectStrategy(reconnect: RedisClientSettings['reconnect']): (attempt: number) => number {
  const minDelayMs = positiveInt('reconnect.minDelayMs', reconnect?.minDelayMs, 50);
  const maxDelayMs = positiveInt('reconnect.maxDelayMs', reconnect?.maxDelayMs, 2_000);
  if (maxDelayMs < minDelayMs) throw new InvalidOptionError('reconnect.maxDelayMs', `at least reconnect.minDelayMs (${minDelayMs})`, maxDelayMs);
  return (attempt) => Math.round(Math.random() * Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 20)));
}

/** The part of a node-redis client (or cluster) `closeWithin` uses. */
export type ClosableClient = { readonly isReady: boolean; readonly isOpen: boolean; close(): Promise<unknown>; destroy(): void };

/**
 * Closes `client`: gracefully when it is ready (the replies still pending get up to `ms` of wall time, as network
 * waits are), else, or when the server hangs past `ms`, by `destroy()` (pending commands fail at once). A client not
 * ready is destroyed at once, since `close()` would wait for a connection that may never come. Never rejects.
 */
export async function closeWithin(client: ClosableClient, ms: number): Promise<void> {
  if (!client.isReady) {
    if (client.isOpen) client.destroy();
    return;
  }
  try {
    await withinMs(systemClock, ms, client.close(), () => new Error(`Redis did not close within ${ms} ms`));
  } catch {
    client.destroy(); // (after a close() begun: it ends the draining socket)
  }
}

/**
 * Walks every key matching the glob `match` on every master of `client` (the client itself when it is not a
 * cluster), `count` keys per SCAN step, handing each non-empty step to `onStep` with the node it came from. Each
 * step is awaited within the tier's command `deadline`.
 */
export async function scanNodes(
  client: RedisConnection,
  match: string,
  count: number,
  deadline: CommandDeadline,
  onStep: (node: RedisConnection, keys: Array<string | Buffer>) => Promise<void>,
): Promise<void> {
  const nodes = client.masters === undefined ? [client] : await Promise.all(client.masters.map((m) => client.nodeClient!(m)));
  for (const node of nodes) {
    const scan = node.scanIterator!({ MATCH: match, COUNT: count })[Symbol.asyncIterator]();
    for (let step = await deadline.bound(scan.next(), 'SCAN'); step.done !== true; step = await deadline.bound(scan.next(), 'SCAN')) {
      if (step.value.length > 0) await onStep(node, step.value);
    }
  }
}

/** `text` with the glob characters of Redis's MATCH escaped, so it matches itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Removes every key of namespace `ns` (its entries `{ns}:*`, tag index `{ns}#tag:*`, then `metaKeys`), in batches of `count`. */
export async function unlinkNamespace(client: RedisConnection, ns: string, metaKeys: string[], count: number, deadline: CommandDeadline): Promise<void> {
  for (const pattern of [`${escapeGlob(ns)}:*`, `${escapeGlob(`${ns}#tag:`)}*`]) {
    await scanNodes(client, pattern, count, deadline, async (node, keys) => void (await deadline.bound(node.unlink(keys), 'UNLINK')));
  }
  await deadline.bound(client.unlink(metaKeys), 'UNLINK');
}

/**
 * The keys of namespace `ns` that start with `prefix` (SCAN on every master), without the `{ns}:` head. Keys are
 * well-formed UTF-16 (RedisTier refuses others), so a prefix that ends inside a surrogate pair is matched in UTF-16
 * (its UTF-8 has no such byte prefix), and one with a lone surrogate anywhere else matches none.
 */
export async function keysStartingWith(client: RedisConnection, ns: string, prefix: string, count: number, deadline: CommandDeadline): Promise<string[]> {
  const last = prefix.charCodeAt(prefix.length - 1);
  const isSplitPair = last >= 0xd800 && last <= 0xdbff;
  const scanned = isSplitPair ? prefix.slice(0, -1) : prefix;
  if (!isWellFormed(scanned)) return [];
  const keys: string[] = [];
  await scanNodes(client, `${escapeGlob(`${ns}:${scanned}`)}*`, count, deadline, async (_node, found) => {
    for (const k of found) {
      const key = k.toString().slice(ns.length + 1);
      if (!isSplitPair || key.startsWith(prefix)) keys.push(key);
    }
  });
  return keys;
}

/**
 * The keys a tag index lists, step by step: `step(cursor)` runs tagmembers.lua and answers `[next cursor, entry
 * keys...]`; the `{ns}:` head is taken off. Each step is one short command, however large the tag.
 */
export async function keysOfTag(step: (cursor: string) => Promise<Array<string | Buffer>>, ns: string): Promise<string[]> {
  const keys = new Set<string>(); // SSCAN may return a member twice (a set resized while it is walked)
  let cursor = '0';
  do {
    const [next, ...alive] = await step(cursor);
    cursor = next.toString();
    for (const member of alive) keys.add(member.toString().slice(ns.length + 1));
  } while (cursor !== '0');
  return [...keys];
}
