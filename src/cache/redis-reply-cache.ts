/**
 * ReplyCache: a RedisTier's view of its client's client-side cache (RESP3 tracking, node-redis `clientSideCache`) —
 * whether the tier's reads use it, its counters, and dropping replies a write notice made stale.
 *
 * Why dropping: Redis invalidates a cached reply with a push on the tier's own connection, while another node's write
 * notice comes on the write bus's connection; when the bus is the faster path, a node applies the notice (drops its
 * memory copy) before the push arrives, and its next read was answered from the client-side cache with the copy the
 * notice was about, which the node then kept for the entry's TTL. Dropping the named keys' replies (every reply for a
 * prefix, a tag or a gap) sends that read to Redis, which has already applied the writer's change.
 */
import { RESP_TYPES } from 'redis';
import { redisTierTypeMapping, type RedisConnection } from './redis-client.ts';

/** Whether the tier's reads are answered by the client-side cache: 'bypassed' when the client has one it cannot use. */
export type ReplyCacheMode = 'on' | 'off' | 'bypassed';

/** The client-side cache of one tier's client (none, when the client has no cache: every method is then a no-op). */
export class ReplyCache {
  readonly #client: RedisConnection;
  readonly mode: ReplyCacheMode;
  /** The type mapping the tier reads with: the client's own when it maps strings to Buffers (so the cache answers). */
  readonly readMapping: Readonly<Record<number, unknown>>;

  constructor(client: RedisConnection) {
    this.#client = client;
    // The client-side cache only answers commands sent with the (node) client's default type mapping object.
    const ownMapping = client.masters === undefined ? client.options?.commandOptions?.typeMapping : client._options?.defaults?.commandOptions?.typeMapping;
    const isBufferMapping = ownMapping !== undefined && ownMapping[RESP_TYPES.BLOB_STRING] === Buffer;
    this.mode = client.clientSideCache === undefined ? 'off' : isBufferMapping ? 'on' : 'bypassed';
    this.readMapping = isBufferMapping ? ownMapping : redisTierTypeMapping;
  }

  /**
   * Drops the cached replies of the Redis keys `dataKeys`, or every cached reply when undefined, so the next read of
   * them asks Redis. A read in flight for a named key is not cached when it lands (node-redis marks it invalid); a
   * drop of every reply cannot reach those, and Redis's own invalidation, right behind, removes them.
   */
  drop(dataKeys?: readonly string[]): void {
    const csc = this.#client.clientSideCache;
    if (csc === undefined) return;
    if (dataKeys === undefined) csc.invalidate(null);
    else for (const key of dataKeys) csc.invalidate(key);
  }

  /** `cscHits`, `cscMisses` and `cscEntries` for the tier's `stats().extra`. */
  stats(): { cscHits: number; cscMisses: number; cscEntries: number } {
    const csc = this.#client.clientSideCache;
    const counts = csc?.stats();
    return { cscHits: counts?.hitCount ?? 0, cscMisses: counts?.missCount ?? 0, cscEntries: csc?.size() ?? 0 };
  }
}
