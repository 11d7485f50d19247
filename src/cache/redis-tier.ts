/**
 * RedisTier: the shared L2 tier on Redis (one server or a cluster), with RESP3 client-side caching.
 *
 * Why client-side caching: a shared tier is read far more than it is written, and a hot key read over the network
 * costs a round trip every time. With RESP3 tracking (node-redis `clientSideCache`), a node keeps the replies of
 * the keys it read; Redis remembers which connection read which key and pushes an invalidation when any client
 * (this node, another node, a script) changes it, so the next read goes back to Redis. Reads of hot keys are then
 * served from this process, yet never older than the moment the invalidation arrives, or another node's write notice
 * naming the key, whichever comes first (`dropCachedReplies`, redis-reply-cache.ts).
 *
 * Layout: every key of a tier lives under the hash tag `{namespace}` (`{prescient}:user:42`), so one namespace is
 * one cluster slot. That keeps the compare-by-version writes, the byte accounting and the budget evictions
 * atomic in one Lua script, even on a cluster; the cost is that one namespace lives on one shard (its memory and
 * load are not spread). Spread load with several namespaces (one tier per namespace). A per-key-prefix hash tag
 * was not built: the byte budget would then have to be kept per slot and summed, which is not cheap.
 * Values are one string each (redis-codec.ts); the scripts are in lua/ (redis-scripts.ts).
 *
 * Bytes and entries: each entry is charged its `sizeBytes` (as in the memory tier, not Redis's memory use) in a
 * counters hash every node shares, beside an index of each key's size and expiry. Keys Redis expires leave the
 * counts at the next write or `stats()`; keys it evicts under its own `maxmemory` are found by a sweep of a few index
 * members per write and more per `stats()` (`extra.lost`), so between sweeps the counts are an upper bound. A write
 * that would pass `maxBytes` evicts the entries nearest their expiry first; `maxmemory` stays the hard bound. Tags
 * are indexed (`{namespace}#tag:<tag>`, pruned as written and read) so `invalidate({ tag })` finds Redis's copies.
 *
 * Faults: nothing throws because Redis is down or slow. A command while disconnected is not sent (a read answers a
 * miss at once, `set` and `delete` false; the owned client's offline queue is off); every reply wait is bounded by
 * `commandTimeoutMs` (command-deadline.ts); a `set` that timed out answers false but may still land. The client
 * reconnects with capped exponential backoff and full jitter; `stats().extra` says how it went.
 */
import { checkWellFormedKey, type Entry } from './entry.ts';
import type { Tier, TierStats } from './tier.ts';
import { CommandDeadline, withinMs } from './command-deadline.ts';
import { HitCounters } from './hit-counters.ts';
import { decodeRedisEntry, encodeRedisEntry } from './redis-codec.ts';
import { closeWithin, keysOfTag, keysStartingWith, unlinkNamespace, type RedisConnection } from './redis-client.ts';
import { ReplyCache } from './redis-reply-cache.ts';
import { redisScripts, runScript, type RedisScript } from './redis-scripts.ts';
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { fn, hasMethods, nonNegativeNumber, positiveInt } from '../options.ts';
import { CLEAR_BATCH, HIT_COUNTS_MAX, MAX_TTL_MS, namespaceTag, RECONCILE_PER_STATS, RECONCILE_PER_WRITE, SWEEP_LIMIT, tierClient, type RedisTierOptions } from './redis-tier-options.ts';

export { redisTierTypeMapping } from './redis-client.ts';
export type { RedisTierOptions } from './redis-tier-options.ts';

/**
 * A {@link Tier} on Redis. Every method answers with a promise. Reads never throw because of Redis (a failure is a
 * miss); `set` and `delete` answer false on failure; `clear` and `start` throw ERR_TIER_FAILED. Every method throws
 * ERR_CLOSED after `close()`; those taking a key, InvalidKeyError (ERR_INVALID_KEY) for one that is not well-formed
 * UTF-16 (Redis keys are UTF-8, where two such keys would be one).
 */
export class RedisTier<V = unknown> implements Tier<V> {
  readonly name = 'redis';
  readonly #client: RedisConnection;
  readonly #reader: RedisConnection;
  readonly #isOwned: boolean;
  readonly #replies: ReplyCache;
  readonly #maxBytes: number;
  readonly #ns: string;
  readonly #metaKeys: [string, string, string];
  readonly #graceMs: number;
  readonly #connectTimeoutMs: number;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #deadline: CommandDeadline;
  readonly #onError: ((error: PrescientError) => void) | undefined;
  readonly #hitCounts = new HitCounters(HIT_COUNTS_MAX);
  readonly #listeners: Array<[string, (...args: unknown[]) => void]> = [];
  #hits = 0;
  #misses = 0;
  #failures = 0;
  #offlineReads = 0;
  #reconnects = 0;
  #usage = { bytes: 0, entries: 0, evictions: 0 };
  /** Entries found gone from Redis without expiring (its own maxmemory evictions), namespace-wide, as of the last stats(). */
  #lost = 0;
  #isClosed = false;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) naming the first bad option and its value. */
  constructor(options: RedisTierOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
    this.#maxBytes = positiveInt('maxBytes', options.maxBytes);
    this.#ns = namespaceTag(options.namespace);
    this.#metaKeys = [`${this.#ns}#meta`, `${this.#ns}#expiry`, `${this.#ns}#sizes`];
    this.#graceMs = nonNegativeNumber('expiryGraceMs', options.expiryGraceMs, 0, true);
    const timeout = positiveInt('commandTimeoutMs', options.commandTimeoutMs, 250);
    this.#timeoutMs = timeout;
    this.#connectTimeoutMs = positiveInt('connectTimeoutMs', options.connectTimeoutMs, 5_000);
    this.#clock = options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']);
    this.#onError = options.onError === undefined ? undefined : fn('onError', options.onError);
    ({ client: this.#client, isOwned: this.#isOwned } = tierClient(options, this.#connectTimeoutMs));
    this.#replies = new ReplyCache(this.#client);
    this.#deadline = new CommandDeadline(timeout);
    this.#reader = this.#client.withCommandOptions({ typeMapping: this.#replies.readMapping, timeout });
    this.#listen('error', (error) => this.#failed('connection', error));
    this.#listen(this.#client.masters === undefined ? 'reconnecting' : 'node-reconnecting', () => this.#reconnects++);
  }

  /** A started tier: `new RedisTier(options)` then `start()`. @throws like the constructor and `start`. */
  static async connect<V = unknown>(options: RedisTierOptions): Promise<RedisTier<V>> {
    const tier = new RedisTier<V>(options);
    await tier.start();
    return tier;
  }

  /**
   * Connects an owned client (a no-op for a client passed in). Resolves once connected.
   * @throws PrescientError ERR_TIER_FAILED when not connected within `connectTimeoutMs`; an owned single-server
   * client keeps retrying in the background, and the tier answers misses until it connects.
   */
  async start(): Promise<void> {
    this.#checkOpen();
    if (!this.#isOwned || this.#client.isOpen) return;
    try {
      await withinMs(systemClock, this.#connectTimeoutMs, this.#client.connect(), () => new Error(`not connected after ${this.#connectTimeoutMs} ms`));
    } catch (error) {
      throw new PrescientError('ERR_TIER_FAILED', `Redis tier could not connect: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Whether the client is connected and ready for commands now. */
  get isConnected(): boolean {
    return this.#client.isReady;
  }

  /**
   * The entry for `key`, or undefined: absent, expired (unless `includeExpired`), or Redis unreachable, slow or
   * answering garbage (counted in `failures`). A hit increments the entry's `hits`, which counts this process's
   * reads of that version (reads do not write to Redis). @throws PrescientError ERR_CLOSED after `close()`.
   */
  async get(key: string, includeExpired = false): Promise<Entry<V> | undefined> {
    const entry = await this.#read(key);
    if (entry === undefined || (!includeExpired && this.#clock.now() >= entry.expiresAt)) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    entry.hits = this.#hitCounts.hit(key, entry.version);
    return entry;
  }

  /** Entries for `keys`, aligned with them; the GETs go out in one pipeline. Same guarantees as `get`. */
  getMany(keys: readonly string[]): Promise<Array<Entry<V> | undefined>> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  /**
   * Stores `entry` unless Redis holds a newer version (atomically, in one script), with a Redis TTL of
   * `expiresAt - clock.now() + expiryGraceMs` (none when that is over MAX_TTL_MS, ~285,000 years, or infinite),
   * charged `sizeBytes` rounded up to whole bytes. Answers false when declined: a newer version held, `sizeBytes`
   * over `maxBytes`, already past expiry and grace, a value that cannot be encoded, or Redis failing. Evicts entries
   * nearest their expiry when the namespace would go over `maxBytes`.
   * @throws PrescientError ERR_CLOSED after `close()`.
   */
  async set(entry: Entry<V>): Promise<boolean> {
    return (await this.#set(entry, false, false)) !== undefined;
  }

  /** `set` that rejects with ERR_TIER_FAILED when Redis is unreachable, slow or failing (see the Tier contract). */
  async setStrict(entry: Entry<V>): Promise<boolean> {
    return (await this.#set(entry, true, false)) !== undefined;
  }

  /** See `Tier.setNewest`: one script stores `entry` above the version Redis holds, if that is not below it. */
  setNewest(entry: Entry<V>): Promise<number | undefined> {
    return this.#set(entry, true, true);
  }

  /** The version stored, or undefined when declined (or failed, unless `isStrict`). */
  async #set(entry: Entry<V>, isStrict: boolean, isNewest: boolean): Promise<number | undefined> {
    this.#checkOpen();
    checkWellFormedKey(entry.key);
    if (!(entry.sizeBytes <= this.#maxBytes)) return undefined;
    const ttlMs = Math.ceil(entry.expiresAt + this.#graceMs - this.#clock.now());
    if (!(ttlMs > 0)) return undefined;
    if (!this.#client.isReady) return void this.#offline('set', isStrict);
    let value: Buffer;
    try {
      value = encodeRedisEntry(entry);
    } catch (error) {
      this.#failed('set', error);
      return undefined;
    }
    const ttl = ttlMs <= MAX_TTL_MS ? String(ttlMs) : '0';
    const args = [value, String(entry.version), ttl, String(Math.ceil(entry.sizeBytes)), String(this.#maxBytes), String(SWEEP_LIMIT), String(RECONCILE_PER_WRITE), isNewest ? '1' : ''];
    try {
      const keys = [this.#dataKey(entry.key), ...this.#metaKeys, ...entry.tags.map((tag) => this.#tagKey(tag))];
      const reply = (await this.#script(redisScripts.set, keys, args)) as [number, number, number, number, string];
      if (reply[0] !== 1) return undefined;
      this.#usage = { bytes: reply[2], entries: reply[3], evictions: this.#usage.evictions + reply[1] };
      return isNewest ? Number(reply[4]) : entry.version;
    } catch (error) {
      const failure = this.#failed('set', error);
      if (isStrict) throw failure;
      return undefined;
    }
  }

  /**
   * Removes `key`; with `maxVersion`, only when the held version is not newer (so an invalidation never removes a
   * later write). True when something was removed; false when nothing was, a newer version was kept, or Redis
   * failed. @throws PrescientError ERR_CLOSED after `close()`.
   */
  async delete(key: string, maxVersion?: number): Promise<boolean> {
    return this.#delete(key, maxVersion, false);
  }

  /** `delete` that rejects with ERR_TIER_FAILED when Redis is unreachable, slow or failing (see the Tier contract). */
  deleteStrict(key: string, maxVersion?: number): Promise<boolean> {
    return this.#delete(key, maxVersion, true);
  }

  async #delete(key: string, maxVersion: number | undefined, isStrict: boolean): Promise<boolean> {
    this.#checkOpen();
    checkWellFormedKey(key);
    if (!this.#client.isReady) return this.#offline('delete', isStrict);
    this.#hitCounts.delete(key);
    try {
      const args = [maxVersion === undefined ? '' : String(maxVersion)];
      return (await this.#script(redisScripts.delete, [this.#dataKey(key), ...this.#metaKeys], args)) === 1;
    } catch (error) {
      const failure = this.#failed('delete', error);
      if (isStrict) throw failure;
      return false;
    }
  }

  /**
   * Removes every key of this tier's namespace (SCAN by the `{namespace}:` prefix on every master, UNLINK in batches
   * of 500) and its counters; other namespaces and other data are untouched. Entries written concurrently may
   * survive. @throws PrescientError ERR_TIER_FAILED when Redis fails; ERR_CLOSED after `close()`.
   */
  async clear(): Promise<void> {
    this.#checkOpen();
    this.#hitCounts.clear();
    try {
      await unlinkNamespace(this.#client, this.#ns, this.#metaKeys, CLEAR_BATCH, this.#deadline);
      this.#usage = { bytes: 0, entries: 0, evictions: 0 };
    } catch (error) {
      throw this.#listingFailed('clear', `could not clear ${this.#ns}`, error);
    }
  }

  /** Keys of this namespace that start with `prefix` (SCAN on every master). @throws ERR_TIER_FAILED; ERR_CLOSED. */
  async keysWithPrefix(prefix: string): Promise<string[]> {
    this.#checkOpen();
    try {
      return await keysStartingWith(this.#client, this.#ns, prefix, CLEAR_BATCH, this.#deadline);
    } catch (error) {
      throw this.#listingFailed('keysWithPrefix', `could not list keys of ${this.#ns}`, error);
    }
  }

  /**
   * Keys of this namespace written with `tag` that Redis still holds (the tag index `{namespace}#tag:<tag>`, kept by
   * the set script; members whose entry is gone are pruned as it is read). A key rewritten since without the tag may
   * be listed. @throws ERR_TIER_FAILED; ERR_CLOSED.
   */
  async keysWithTag(tag: string): Promise<string[]> {
    this.#checkOpen();
    try {
      const step = (cursor: string) => this.#script(redisScripts.tagmembers, [this.#tagKey(tag)], [cursor, String(CLEAR_BATCH)]);
      return await keysOfTag(step as (cursor: string) => Promise<Array<string | Buffer>>, this.#ns);
    } catch (error) {
      throw this.#listingFailed('keysWithTag', `could not list keys of ${this.#ns} tagged ${JSON.stringify(tag)}`, error);
    }
  }

  /**
   * Counters. `entries`, `bytes` and `evictions` are the namespace's (every node's writes), read from Redis, or the
   * last known values when Redis is unreachable; `hits` and `misses` are this tier object's. `extra`: `connected`,
   * `reconnects`, `failures` (connection errors, commands failed or timed out, writes skipped while disconnected),
   * `timeouts`, `offlineReads` (reads answered as misses at once while disconnected), `lost` (entries Redis evicted
   * under its own maxmemory, found by the sweep), `clientSideCache`
   * ('on' | 'off' | 'bypassed') and its `cscHits`, `cscMisses`, `cscEntries`, and `namespace`.
   */
  async stats(): Promise<TierStats> {
    if (this.#client.isReady && !this.#isClosed) {
      try {
        const [bytes, entries, evictions, lost] = (await this.#script(redisScripts.usage, this.#metaKeys, [String(SWEEP_LIMIT), String(RECONCILE_PER_STATS)])) as number[];
        this.#usage = { bytes, entries, evictions };
        this.#lost = lost;
      } catch (error) {
        this.#failed('stats', error);
      }
    }
    return {
      name: this.name,
      entries: this.#usage.entries,
      bytes: this.#usage.bytes,
      maxBytes: this.#maxBytes,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#usage.evictions,
      extra: {
        connected: this.#client.isReady,
        reconnects: this.#reconnects,
        failures: this.#failures,
        timeouts: this.#deadline.timeouts, overdue: this.#deadline.overdue,
        offlineReads: this.#offlineReads,
        lost: this.#lost,
        clientSideCache: this.#replies.mode,
        ...this.#replies.stats(),
        namespace: this.#ns,
      },
    };
  }

  /**
   * Drops this process's cached replies (the client-side cache) of `keys`, or all of them when undefined, so the
   * next read of those keys asks Redis: for another node's write notice, which can arrive before Redis's own
   * invalidation does (redis-reply-cache.ts). Never throws; a no-op after `close()` or without a client-side cache.
   */
  dropCachedReplies(keys?: readonly string[]): void {
    if (!this.#isClosed) this.#replies.drop(keys?.map((key) => this.#dataKey(key)));
  }

  /**
   * Stops the tier; an owned client is closed (pending commands get up to `commandTimeoutMs` to finish) or, when
   * disconnected or hung, destroyed. A client passed in is left open.
   */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#deadline.close();
    for (const [event, listener] of this.#listeners) this.#client.off(event, listener);
    if (!this.#isOwned) return;
    this.#client.on('error', () => {});
    await closeWithin(this.#client, this.#timeoutMs);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #read(key: string): Promise<Entry<V> | undefined> {
    this.#checkOpen();
    checkWellFormedKey(key);
    if (!this.#client.isReady) {
      this.#offlineReads++;
      return undefined;
    }
    try {
      const raw = await this.#deadline.bound(() => this.#reader.get(this.#dataKey(key)), 'GET');
      return raw === null || raw === undefined ? undefined : decodeRedisEntry<V>(key, raw as Uint8Array);
    } catch (error) {
      this.#failed('get', error);
      return undefined;
    }
  }

  #script(script: RedisScript, keys: string[], args: Array<string | Buffer>): Promise<unknown> {
    return this.#deadline.bound(() => runScript(this.#reader, script, keys, args), script.name);
  }

  #dataKey(key: string): string {
    return `${this.#ns}:${key}`;
  }

  /** The set of the entry keys written with `tag` (same hash tag, so the same slot, as the entries). */
  #tagKey(tag: string): string {
    return `${this.#ns}#tag:${tag}`;
  }

  #listen(event: string, listener: (...args: unknown[]) => void): void {
    this.#client.on(event, listener);
    this.#listeners.push([event, listener]);
  }

  #offline(operation: string, isStrict = false): false {
    const failure = this.#failed(operation, new Error('not connected, skipped'));
    if (isStrict) throw failure;
    return false;
  }

  /** Counts a failed clear or listing and makes the ERR_TIER_FAILED it rejects with. */
  #listingFailed(operation: string, what: string, error: unknown): PrescientError {
    this.#failed(operation, error);
    return new PrescientError('ERR_TIER_FAILED', `Redis tier ${what}: ${messageOf(error)}`, { cause: error });
  }

  #failed(operation: string, cause: unknown): PrescientError {
    this.#failures++;
    const failure = new PrescientError('ERR_TIER_FAILED', `Redis tier ${operation} failed: ${messageOf(cause)}`, { cause });
    this.#onError?.(failure);
    return failure;
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new PrescientError('ERR_CLOSED', 'The Redis tier is closed');
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
