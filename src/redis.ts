/**
 * `prescient/redis`: the Redis tier, in its own entry point so that only services that share a Redis tier load
 * node-redis. Use it as the Cache's `l2`:
 *
 * ```ts
 * import { Cache } from 'prescient';
 * import { RedisTier } from 'prescient/redis';
 * const l2 = await RedisTier.connect({ url: 'redis://127.0.0.1:6379', maxBytes: 512 * 2 ** 20, namespace: 'shop' });
 * const bus = new RedisWriteBus({ url: 'redis://127.0.0.1:6379', channel: 'shop:writes' }); // optional: see below
 * const cache = new Cache({ origin, l2, bus });
 * ```
 *
 * The write bus tells the other nodes of each write, so their memory tiers drop the copies it replaced.
 */
export { RedisTier, redisTierTypeMapping } from './cache/redis-tier.ts';
export type { RedisTierOptions } from './cache/redis-tier.ts';
export { decodeRedisEntry, encodeRedisEntry } from './cache/redis-codec.ts';
export { RedisWriteBus } from './cache/redis-write-bus.ts';
export type { RedisWriteBusOptions } from './cache/redis-write-bus.ts';
