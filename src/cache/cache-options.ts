/**
 * CacheOptions: everything a Cache is built from, checked once at construction into a frozen shape.
 */
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { fn, hasMethods, nonNegativeNumber, numberInRange, positiveInt } from '../options.ts';
import type { Origin } from '../origin/origin.ts';
import type { Predictor } from '../predict/predictor.ts';
import type { PrefetchSchedulerOptions } from '../prefetch/prefetch-scheduler.ts';
import { resolvePredictionBudget, type PredictionBudgetOptions } from './prediction-budget.ts';
import type { Tier } from './tier.ts';
import { defaultMaxFloorKeys } from './version-floors.ts';
import type { WriteBus } from './write-bus.ts';

/** Scheduler settings a cache passes through (the cache supplies target, clock and feedback). */
export type CachePrefetchOptions = Omit<PrefetchSchedulerOptions, 'target' | 'clock' | 'feedback'> & {
  /**
   * Predictions asked for per context after each drained batch. The ones already cached are kept fresh in eviction
   * order (touched); the rest are prefetch candidates. 20 (the ensemble's whole list) measured better than 8 on
   * yoochoose at 5% (55.3 → 55.9% over 6 hash seeds, the touches of ranks 9-20 doing the work) and moved the
   * block and object traces by under 0.3 points once popularity left anonymous reads. @default 20
   */
  readonly predictLimit?: number;
  /**
   * CPU budget of the prediction loop (learning and predicting), for a cache that shares its event loop with a
   * server: drains run in slices of a few ms, and once a window's share of real time is spent, predictions wait
   * and drains pace themselves (accesses past `accessBufferSize` are then dropped and counted). `false` or
   * omitted: no budget, every drained batch observed and predicted as it comes (what the simulator measures).
   * Applies while prefetching is on (`prefetch` not false). @default false
   */
  readonly budget?: PredictionBudgetOptions | false;
};

export type CacheOptions<V> = {
  /** The slow store behind the cache. */
  readonly origin: Origin<V>;
  /** Time source. @default systemClock */
  readonly clock?: Clock;
  /** Bytes the in-process tier may hold. @default 67108864 (64 MiB) */
  readonly maxBytes?: number;
  /** Largest value accepted, in bytes; larger values are served but not cached. @default min(maxBytes, 8 MiB) */
  readonly maxEntryBytes?: number;
  /** Size charged for a value, in bytes. @default a structural estimate (strings 2 bytes a character, ...) */
  readonly sizeOf?: (value: V, key: string) => number;
  /** Longest key accepted, in characters. @default 1024 */
  readonly maxKeyLength?: number;
  /** Time an entry may be served, in ms; Infinity for no expiry. @default 300000 (5 minutes) */
  readonly ttlMs?: number;
  /**
   * Age after which an entry is stale: still served, refreshed in the background. At most `ttlMs`. @default each
   * entry's own time to live (`ttlMs`, or the `ttlMs` its `set` gave): stale only when it expires
   */
  readonly staleAfterMs?: number;
  /** How long past expiry an entry may still be served while the origin fails, in ms. @default 0 */
  readonly graceMs?: number;
  /**
   * How long an origin's "no such key" is remembered, in ms (negative caching, absent-keys.ts): repeats of the read
   * are hits saying `isFound: false` instead of origin round trips, and the key is never prefetched meanwhile. A write
   * or delete through this cache (so a change notice too) forgets it at once; a key created at the origin by someone
   * else reads as absent for up to this long. 0 turns it off. @default 0
   */
  readonly absentTtlMs?: number;
  /** Absent keys remembered at most (the oldest answer goes first). @default 10000 */
  readonly maxAbsentKeys?: number;
  /**
   * Keys that keep a version floor at most, and as many with a delete window (docs/stores.md): a delete or a change
   * notice (another node's write heard on `bus`, the change feed's deletes) keeps copies older than it from being read
   * from `l2` or cached for 30 s. Past this many keys the oldest is forgotten first (counted in
   * `stats().sharedTier.floorsEvicted`), so at more than about maxFloorKeys / 30 keys changed a second across the
   * cluster a floor ends early. Each costs about 100 bytes. @default 10000
   */
  readonly maxFloorKeys?: number;
  /** Shared second tier (Redis), consulted before the origin. */
  readonly l2?: Tier<V>;
  /**
   * How the nodes sharing `l2` tell each other of writes (`RedisWriteBus` from `prescient/redis`): each `set`,
   * `delete` and `invalidate` is announced once the shared tier holds it, and the other nodes drop their local
   * copies that it made stale (docs/stores.md, write bus). Without one, another node's write reaches this node's
   * memory tier only through a change feed, or at the copy's TTL.
   */
  readonly bus?: WriteBus;
  /** The model that predicts next accesses; omit for a plain (non-predictive) cache. */
  readonly predictor?: Predictor;
  /** Prefetch scheduling; `false` observes and predicts but never prefetches. @default {} */
  readonly prefetch?: CachePrefetchOptions | false;
  /** Accesses buffered for the models before new ones are dropped. @default 8192 */
  readonly accessBufferSize?: number;
  /** Largest origin batch. @default 256 */
  readonly maxBatch?: number;
  /** Memory-tier tuning passed through (initial share of the prefetch region, hill climbing, sketch seed). */
  readonly memory?: {
    readonly prefetchFraction?: number;
    readonly initialWindowFraction?: number;
    readonly adaptive?: boolean;
    readonly seed?: number;
  };
  /**
   * Per-user and per-segment shadow catalogs (references to the items predicted for each, consulted first by reads
   * with a `user` or `segment`); `false` turns them off. @default {}
   */
  readonly shadow?: ShadowOptions | false;
  /**
   * Told of every fault the cache contains so it fails no read: a predictor call or event listener that threw
   * (`model`, `listener`), a loaded value that could not be stored (`store`). The counts are in `stats()`; this is
   * where the causes go (a logger). It must not throw itself (if it does, that is ignored).
   */
  readonly onFault?: (fault: CacheFault) => void;
};

/** A fault the cache contained (see `CacheOptions.onFault`). */
export type CacheFault = { readonly kind: 'model' | 'listener' | 'store' | 'internal'; readonly error: unknown };

export type ResolvedCacheOptions<V> = {
  readonly origin: Origin<V>;
  readonly clock: Clock;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  readonly sizeOf: (value: V, key: string) => number;
  readonly maxKeyLength: number;
  readonly ttlMs: number;
  readonly staleAfterMs: number;
  readonly graceMs: number;
  readonly absentTtlMs: number;
  readonly maxAbsentKeys: number;
  readonly maxFloorKeys: number;
  readonly l2: Tier<V> | undefined;
  readonly bus: WriteBus | undefined;
  readonly predictor: Predictor | undefined;
  readonly prefetch: CachePrefetchOptions | false;
  readonly predictLimit: number;
  readonly accessBufferSize: number;
  readonly maxBatch: number;
  readonly memory: NonNullable<CacheOptions<V>['memory']>;
  readonly shadow: ResolvedShadowOptions | false;
  /** Never throws (a throwing `onFault` is ignored); a no-op without one. */
  readonly onFault: (fault: CacheFault) => void;
};

/** Settings of the shadow catalogs (`CacheOptions.shadow`). */
export type ShadowOptions = {
  /** References kept per catalog (per user, per segment). @default 64 */
  readonly perUserLimit?: number;
  /** User catalogs kept (about least recently used dropped first); segment catalogs capped alike. @default 10000 */
  readonly maxCatalogs?: number;
  /**
   * Least probability at which a prediction puts an item in the user's (segment's) catalog without a prefetch made
   * for it: the item is cached already, or fetched for someone else. A prefetch made for the catalog always joins
   * it (the scheduler already judged it). @default 0.1
   */
  readonly minProbability?: number;
  /**
   * Bytes (`sizeBytes`) the catalogs may keep alive beyond what the memory tier holds: items predicted for a user
   * that the tier evicted stay servable from the user's catalog within this budget; past it the ones outside the
   * longest stop being served (a read of them goes to the tiers and the origin). 0: the catalogs serve only what
   * the tier holds. @default a quarter of the cache's `maxBytes`
   */
  readonly maxBytesOutsideTier?: number;
};

/** Shadow options with defaults filled in. */
export type ResolvedShadowOptions = {
  readonly perUserLimit: number;
  readonly maxCatalogs: number;
  readonly minProbability: number;
  readonly maxBytesOutsideTier: number;
};

/**
 * Checks `CacheOptions.shadow`: false turns the catalogs off, undefined takes the defaults.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) naming `shadow` or `shadow.<field>`.
 */
export function resolveShadowOptions(value: unknown, maxBytes = 64 * 1024 * 1024): ResolvedShadowOptions | false {
  if (value === false) return false;
  const o = (value ?? {}) as ShadowOptions;
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('shadow', 'an object or false', value);
  return Object.freeze({
    perUserLimit: positiveInt('shadow.perUserLimit', o.perUserLimit, 64),
    maxCatalogs: positiveInt('shadow.maxCatalogs', o.maxCatalogs, 10_000),
    minProbability: numberInRange('shadow.minProbability', o.minProbability, 0, 1, 0.1),
    maxBytesOutsideTier: nonNegativeNumber('shadow.maxBytesOutsideTier', o.maxBytesOutsideTier, Math.floor(maxBytes / 4), true),
  });
}

const mib = 1024 * 1024;

/** The keys of `CacheOptions.memory`. */
const memoryTuning: readonly string[] = ['prefetchFraction', 'initialWindowFraction', 'adaptive', 'seed'];

/** Checks `options` and fills in defaults; throws ERR_INVALID_OPTION naming the first bad option. */
export function resolveCacheOptions<V>(options: CacheOptions<V>): ResolvedCacheOptions<V> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
  const origin = hasMethods<Origin<V>>('origin', options.origin, ['getMany']);
  const clock = options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']);
  const maxBytes = positiveInt('maxBytes', options.maxBytes, 64 * mib);
  const maxEntryBytes = positiveInt('maxEntryBytes', options.maxEntryBytes, Math.min(maxBytes, 8 * mib));
  if (maxEntryBytes > maxBytes) throw new InvalidOptionError('maxEntryBytes', `at most \`maxBytes\` (${maxBytes})`, maxEntryBytes);
  const ttlMs = nonNegativeNumber('ttlMs', options.ttlMs, 300_000, true);
  if (ttlMs === 0) throw new InvalidOptionError('ttlMs', 'a positive number of milliseconds or Infinity', ttlMs);
  // Unset, it is Infinity: each entry is stale at its own expiry (createEntry takes the lesser), so an entry `set` with
  // a longer ttlMs than the cache's is not refreshed at the cache's.
  const staleAfterMs = nonNegativeNumber('staleAfterMs', options.staleAfterMs, Infinity, true);
  if (options.staleAfterMs !== undefined && staleAfterMs > ttlMs) throw new InvalidOptionError('staleAfterMs', `at most \`ttlMs\` (${ttlMs})`, staleAfterMs);
  const predictor = options.predictor === undefined ? undefined : hasMethods<Predictor>('predictor', options.predictor, ['observe', 'predict']);
  const prefetch = options.prefetch ?? {};
  if (prefetch !== false && (typeof prefetch !== 'object' || prefetch === null)) {
    throw new InvalidOptionError('prefetch', 'an object or false', prefetch);
  }
  const memory = options.memory ?? {};
  if (typeof memory !== 'object' || memory === null || Array.isArray(memory)) throw new InvalidOptionError('memory', 'an object', memory);
  // The memory tier's tuning only: its size, clock and removal hook are the cache's (a `memory.maxBytes` used to
  // override `maxBytes`, a `memory.onRemoval` the cache's own hook).
  for (const name of Object.keys(memory)) {
    if (!memoryTuning.includes(name)) throw new InvalidOptionError(`memory.${name}`, `absent: \`memory\` takes ${memoryTuning.join(', ')}`, (memory as Record<string, unknown>)[name]);
  }
  return Object.freeze({
    origin,
    clock,
    maxBytes,
    maxEntryBytes,
    sizeOf: checkedSize(fn('sizeOf', options.sizeOf, estimateBytes as (value: V, key: string) => number)),
    maxKeyLength: positiveInt('maxKeyLength', options.maxKeyLength, 1024),
    ttlMs,
    staleAfterMs,
    graceMs: nonNegativeNumber('graceMs', options.graceMs, 0, true),
    absentTtlMs: nonNegativeNumber('absentTtlMs', options.absentTtlMs, 0),
    maxAbsentKeys: positiveInt('maxAbsentKeys', options.maxAbsentKeys, 10_000),
    maxFloorKeys: positiveInt('maxFloorKeys', options.maxFloorKeys, defaultMaxFloorKeys),
    l2: options.l2 === undefined ? undefined : hasMethods<Tier<V>>('l2', options.l2, ['get', 'getMany', 'set', 'delete']),
    bus: options.bus === undefined ? undefined : hasMethods<WriteBus>('bus', options.bus, ['publish', 'subscribe']),
    predictor,
    prefetch: prefetch === false || prefetch.budget === undefined || prefetch.budget === false ? prefetch : Object.freeze({ ...prefetch, budget: resolvePredictionBudget('prefetch.budget', prefetch.budget) }),
    predictLimit: prefetch === false ? 20 : positiveInt('prefetch.predictLimit', prefetch.predictLimit, 20),
    accessBufferSize: positiveInt('accessBufferSize', options.accessBufferSize, 8192, 2 ** 24),
    maxBatch: positiveInt('maxBatch', options.maxBatch, 256),
    memory,
    shadow: resolveShadowOptions(options.shadow, maxBytes),
    onFault: guardedFault(fn('onFault', options.onFault, () => {})),
  });
}

function guardedFault(onFault: (fault: CacheFault) => void): (fault: CacheFault) => void {
  return (fault) => {
    try {
      onFault(fault);
    } catch {
      // The handler of contained faults cannot itself become one.
    }
  };
}

/** Fixed cost charged per entry for bookkeeping, in bytes (node, links and entry fields). */
const entryOverheadBytes = 64;

/**
 * A structural size estimate: strings at 2 bytes a character (V8 may store them in 1, so this errs high), numbers
 * 8, buffers their length, arrays and objects the sum of their parts, plus the key and a fixed entry overhead.
 * Walks at most 10,000 nodes, so a huge object costs bounded time (and is charged at least what was walked).
 */
export function estimateBytes(value: unknown, key: string): number {
  let total = entryOverheadBytes + 2 * key.length;
  let budget = 10_000;
  const stack: unknown[] = [value];
  while (stack.length > 0 && budget-- > 0) {
    const v = stack.pop();
    switch (typeof v) {
      case 'string':
        total += 2 * v.length + 16;
        break;
      case 'number':
      case 'bigint':
        total += 8;
        break;
      case 'boolean':
      case 'undefined':
        total += 4;
        break;
      case 'object':
        if (v === null) total += 4;
        else if (ArrayBuffer.isView(v)) total += v.byteLength + 32;
        else if (Array.isArray(v)) {
          total += 16 + 8 * v.length;
          for (const x of v) stack.push(x);
        } else {
          total += 32;
          for (const [k, x] of Object.entries(v)) {
            total += 2 * k.length + 8;
            stack.push(x);
          }
        }
        break;
      default:
        total += 16;
    }
  }
  return Math.ceil(total);
}

/**
 * `sizeOf` with its answer checked: a size that is not a finite number >= 0 (NaN from a bad estimate, a negative
 * count) would let the byte bound drift, so it is refused like a value that cannot be stored: `set` throws, a loaded
 * value is served but not cached (counted in `stats().storeFailures`).
 */
function checkedSize<V>(sizeOf: (value: V, key: string) => number): (value: V, key: string) => number {
  return (value, key) => {
    let size: number;
    try {
      size = sizeOf(value, key);
    } catch (error) {
      throw new PrescientError('ERR_INVALID_VALUE', `\`sizeOf\` threw for key ${JSON.stringify(key)}: ${String(error)}`, { cause: error });
    }
    // Whole bytes: byte counters stay exact integers (fractions summed and taken away leave residue, 1e-16 bytes
    // that made an empty region look full).
    if (typeof size === 'number' && size >= 0 && Number.isFinite(size)) return Math.ceil(size);
    throw new PrescientError('ERR_INVALID_VALUE', `\`sizeOf\` gave ${String(size)} for key ${JSON.stringify(key)}; expected a finite number of bytes >= 0`);
  };
}
