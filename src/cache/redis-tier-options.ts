/**
 * The options of a RedisTier and its fixed tuning constants, apart from the tier so the tier's file holds its
 * mechanism only.
 */
import type { RedisClientType, RedisClusterType } from 'redis';
import type { Clock } from '../clock.ts';
import { InvalidOptionError, type PrescientError } from '../errors.ts';
import { hasMethods } from '../options.ts';
import { createRedisTierClient, type RedisConnection } from './redis-client.ts';

/** Options of a {@link RedisTier}. Give exactly one of `client`, `url` and `rootNodes`. */
export type RedisTierOptions = {
  /** Budget of the namespace in bytes, as charged by `entry.sizeBytes`; shared by every node. Required. */
  readonly maxBytes: number;
  /**
   * A node-redis client or cluster the caller created, connected and will close. For client-side caching it
   * must use RESP 3, `clientSideCache`, and `commandOptions: { typeMapping: redisTierTypeMapping }` (for a
   * cluster, in `defaults`, the options of the node clients); otherwise
   * the tier still works, reading through Redis every time (`extra.clientSideCache` says 'bypassed').
   */
  readonly client?: RedisClientType<any, any, any, any, any> | RedisClusterType<any, any, any, any, any>;
  /** URL of one Redis server (`redis://host:port/db`, `rediss://` for TLS); the tier creates and owns the client. */
  readonly url?: string;
  /** URLs of some nodes of a Redis Cluster; the tier creates and owns a cluster client. */
  readonly rootNodes?: readonly string[];
  /** Prefix and hash tag of every key: keys are `{namespace}:key`. No `{`, `}`, at most 64 chars. @default 'prescient' */
  readonly namespace?: string;
  /** How long Redis keeps an entry past its `expiresAt`, in ms (match the Cache's `graceMs`). Infinity: no TTL. @default 0 */
  readonly expiryGraceMs?: number;
  /** Longest wait for the reply of any Redis command, in ms (1x to 1.25x); over it, a failure. @default 250 */
  readonly commandTimeoutMs?: number;
  /** Bound of the first connection in `start()`, in ms (the client keeps retrying after it). @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Client-side cache of an owned client: most replies kept (LRU), or false for none. @default { maxEntries: 10_000 } */
  readonly clientSideCache?: { readonly maxEntries?: number } | false;
  /** Reconnection backoff of an owned client: full jitter over min(maxDelayMs, minDelayMs * 2^attempt). @default { minDelayMs: 50, maxDelayMs: 2000 } */
  readonly reconnect?: { readonly minDelayMs?: number; readonly maxDelayMs?: number };
  /** Time source of entry expiry (TTLs are sent as durations from its `now()`). @default systemClock */
  readonly clock?: Clock;
  /** Told of every failed command and connection error, as ERR_TIER_FAILED with the client's error as `cause`. */
  readonly onError?: (error: PrescientError) => void;
};

/**
 * The hash tag of every key of the namespace: `{<namespace>}` (default `prescient`).
 * @throws InvalidOptionError naming `namespace` unless it is 1 to 64 characters without braces.
 */
export function namespaceTag(value: unknown): string {
  const ns = value ?? 'prescient';
  if (typeof ns !== 'string' || ns.length === 0 || ns.length > 64 || /[{}]/.test(ns)) {
    throw new InvalidOptionError('namespace', 'a string of 1 to 64 characters without { or }', ns);
  }
  return `{${ns}}`;
}

/**
 * The client of a tier: the one passed in (not owned), or one made from `url` / `rootNodes` (owned: connected and
 * closed by the tier). @throws InvalidOptionError unless exactly one of `client`, `url` and `rootNodes` is given.
 */
export function tierClient(options: RedisTierOptions, connectTimeoutMs: number): { readonly client: RedisConnection; readonly isOwned: boolean } {
  const given = (['client', 'url', 'rootNodes'] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw new InvalidOptionError(given[1] ?? 'client', 'the only one given of `client`, `url` and `rootNodes` (exactly one is required)', given.length === 0 ? undefined : options[given[1]]);
  }
  if (options.client === undefined) return { client: createRedisTierClient(options, connectTimeoutMs), isOwned: true };
  return { client: hasMethods<RedisConnection>('client', options.client, ['get', 'evalSha', 'eval', 'unlink', 'withCommandOptions', 'on']), isOwned: false };
}

/** Expired index members a single script call sweeps, so one call stays short. */
export const SWEEP_LIMIT = 1_000;
/**
 * Index members checked for keys Redis evicted on its own, per write and per `stats()`: 4 EXISTS add little to a
 * write's script and walk an index of 100,000 entries once per 25,000 writes; `stats()` (a scrape) checks 128.
 */
export const RECONCILE_PER_WRITE = 4;
export const RECONCILE_PER_STATS = 128;
/**
 * Longest Redis TTL sent, in ms (~285,000 years): the largest integer a double holds exactly, which `String` spells
 * without an exponent and Redis's `SET PX` takes. An entry living longer is stored without expiry, which is what the
 * memory tier does with it in practice (its expiry never comes).
 */
export const MAX_TTL_MS = Number.MAX_SAFE_INTEGER;
/** Keys per SCAN step and per UNLINK in `clear()`. */
export const CLEAR_BATCH = 500;
/** Most per-key hit counters kept; the oldest-touched is dropped beyond it (its count restarts at 0). */
export const HIT_COUNTS_MAX = 65_536;
