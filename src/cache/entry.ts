import type { ReadContext } from '../context.ts';
import { InvalidKeyError } from '../errors.ts';

/**
 * Entry: one cached value with everything the tiers, the scheduler and the feedback loop need to know about it.
 */

/** Where an entry came from: a read that missed, or a prefetch made on a prediction. */
export type EntrySource = 'demand' | 'prefetch';

/** A cached value. Times are milliseconds on the cache's clock. */
export type Entry<V = unknown> = {
  readonly key: string;
  readonly value: V;
  /** Version from the origin (or the hybrid logical clock of a local write); higher wins. */
  readonly version: number;
  /** Size charged against the tier's `maxBytes`. */
  readonly sizeBytes: number;
  readonly createdAt: number;
  /** After this time the entry is stale: served while it is refreshed in the background. */
  readonly staleAt: number;
  /** After this time the entry is expired: never served, except within the origin-failure grace period. */
  readonly expiresAt: number;
  readonly source: EntrySource;
  /** Probability the entry was predicted with (1 for demand entries). */
  readonly probability: number;
  readonly tags: readonly string[];
  /** Context the prefetch was made for (a shadow-catalog reference); undefined for demand entries. */
  readonly predictedFor?: { readonly session?: string; readonly user?: string; readonly segment?: string };
  /** Name of the model whose prediction brought the entry in; undefined for demand entries. */
  readonly predictedBy?: string;
  /**
   * Number of times the entry was served. A prefetched entry with `hits === 0` has not been used yet; tiers
   * increment it on `get`. The memory tier counts hits by slot: a plain entry it hands out (`get`, `peek`, `entries`,
   * removal callbacks) is a copy made with the count of that moment, and an entry it keeps whole (a prefetch) gets the
   * hits counted since whenever it is handed out: a reference kept from earlier (such as `Cache.set`'s) may show fewer.
   */
  hits: number;
};

/** The tags of an entry that has none, shared. */
export const noTags: readonly string[] = Object.freeze([]);

/** What a prefetched entry was predicted with: the probability, the model and the context it was made for. */
export type EntryPrediction = { readonly probability: number; readonly source?: string; readonly ctx?: Entry['predictedFor'] };

/** Stale and expiry times as offsets from `createdAt`, shared by every entry stored with the same pair. */
export type Lifetime = { readonly staleMs: number; readonly ttlMs: number };

/**
 * The entries the engine stores. Why a class and not an object literal: an `Entry` literal holds 14 fields, three of
 * them doubles V8 boxes on their own (the times), about 190 bytes beyond the value on this Node (no pointer
 * compression). Here the stale and expiry times are offsets kept in a `Lifetime` shared by every entry made with
 * the same TTL settings (so one boxed time, `createdAt`), and the four prediction fields live in the prediction
 * object the scheduler already made (undefined for demand entries): 10 fields, about 120 bytes (BENCHMARKS.md,
 * Memory per entry). The other fields are prototype getters, exact: `staleAt` is `createdAt + staleMs`, the sum
 * `createEntry` computed. Not for spreading (`{ ...entry }` drops the getters): copy through {@link restoreEntry}.
 */
class StoredEntry<V> implements Entry<V> {
  readonly key: string;
  readonly value: V;
  readonly version: number;
  readonly sizeBytes: number;
  readonly createdAt: number;
  readonly lifetime: Lifetime;
  readonly tags: readonly string[];
  readonly prediction: EntryPrediction | undefined;
  hits = 0;

  constructor(key: string, value: V, version: number, sizeBytes: number, createdAt: number, lifetime: Lifetime, tags: readonly string[], prediction: EntryPrediction | undefined) {
    this.key = key;
    this.value = value;
    this.version = version;
    this.sizeBytes = sizeBytes;
    this.createdAt = createdAt;
    this.lifetime = lifetime;
    this.tags = tags;
    this.prediction = prediction;
  }

  get staleAt(): number {
    return this.createdAt + this.lifetime.staleMs;
  }

  get expiresAt(): number {
    return this.createdAt + this.lifetime.ttlMs;
  }

  get source(): EntrySource {
    return this.prediction === undefined ? 'demand' : 'prefetch';
  }

  get probability(): number {
    return this.prediction === undefined ? 1 : this.prediction.probability;
  }

  get predictedFor(): Entry['predictedFor'] {
    return this.prediction?.ctx;
  }

  get predictedBy(): string | undefined {
    return this.prediction?.source;
  }

  /** What `JSON.stringify` writes: the Entry fields, as a plain object would hold them. */
  toJSON(): Entry<V> {
    return entryFields(this);
  }
}

/**
 * The Entry fields of `entry` as a plain object (the prediction fields only when set): for logging,
 * serialising or comparing entries, which a spread cannot do for the engine's own (their times are getters).
 */
export function entryFields<V>(entry: Entry<V>): Entry<V> {
  const { key, value, version, sizeBytes, createdAt, staleAt, expiresAt, source, probability, tags, predictedFor, predictedBy, hits } = entry;
  const fields: Entry<V> = { key, value, version, sizeBytes, createdAt, staleAt, expiresAt, source, probability, tags, hits };
  if (predictedFor !== undefined) (fields as { predictedFor?: Entry['predictedFor'] }).predictedFor = predictedFor;
  if (predictedBy !== undefined) (fields as { predictedBy?: string }).predictedBy = predictedBy;
  return fields;
}

/**
 * A restored entry whose times cannot be written as offsets from `createdAt` exactly (a time near 2^53 beside a
 * small `createdAt`, say): it keeps its own. Rare, so the read path's property loads stay monomorphic in practice.
 */
class PinnedTimesEntry<V> extends StoredEntry<V> {
  readonly #staleAt: number;
  readonly #expiresAt: number;

  constructor(base: Readonly<ConstructorParameters<typeof StoredEntry<V>>>, staleAt: number, expiresAt: number) {
    super(...base);
    this.#staleAt = staleAt;
    this.#expiresAt = expiresAt;
  }

  override get staleAt(): number {
    return this.#staleAt;
  }

  override get expiresAt(): number {
    return this.#expiresAt;
  }
}

/** The lifetime made last, reused while entries keep coming with the same pair (the usual case: one TTL setting). */
let lastLifetime: Lifetime = { staleMs: Infinity, ttlMs: Infinity };

function lifetimeOf(staleMs: number, ttlMs: number): Lifetime {
  const last = lastLifetime;
  if (Object.is(last.staleMs, staleMs) && Object.is(last.ttlMs, ttlMs)) return last;
  return (lastLifetime = { staleMs, ttlMs });
}

/**
 * A fresh entry stored at `now`: stale after min(staleAfterMs, ttlMs), expired after ttlMs; a `prediction` makes it
 * a prefetched entry carrying the probability, the model and the context it was predicted with.
 */
export function createEntry<V>(fields: {
  readonly key: string;
  readonly value: V;
  readonly version: number;
  readonly sizeBytes: number;
  readonly now: number;
  readonly ttlMs: number;
  readonly staleAfterMs: number;
  readonly prediction?: { readonly probability: number; readonly source: string; readonly ctx: ReadContext };
  readonly tags?: readonly string[];
}): Entry<V> {
  const { ttlMs } = fields;
  const lifetime = lifetimeOf(Math.min(fields.staleAfterMs, ttlMs), ttlMs);
  return new StoredEntry(fields.key, fields.value, fields.version, fields.sizeBytes, fields.now, lifetime, fields.tags ?? noTags, fields.prediction);
}

/**
 * An entry with the given absolute times (one read back from the shared tier, or an entry re-stored with another
 * prediction), `hits` set to `hits`. The times come back exactly: as offsets from `createdAt` when those are exact
 * (any clock values within a factor of two of each other, integral ones, Infinity), else kept as given.
 */
export function restoreEntry<V>(
  fields: Pick<Entry<V>, 'key' | 'value' | 'version' | 'sizeBytes' | 'createdAt' | 'staleAt' | 'expiresAt' | 'tags'> & {
    readonly prediction: EntryPrediction | undefined;
    readonly hits?: number;
  },
): Entry<V> {
  const { createdAt, staleAt, expiresAt } = fields;
  const lifetime = lifetimeOf(staleAt - createdAt, expiresAt - createdAt);
  const base = [fields.key, fields.value, fields.version, fields.sizeBytes, createdAt, lifetime, fields.tags, fields.prediction] as const;
  const isExact = createdAt + lifetime.staleMs === staleAt && createdAt + lifetime.ttlMs === expiresAt;
  const entry = isExact ? new StoredEntry(...base) : new PinnedTimesEntry<V>(base, staleAt, expiresAt);
  entry.hits = fields.hits ?? 0;
  return entry;
}

/**
 * The stale and expiry offsets of `entry` when a tier may keep it as bare fields (key, value, version, size, `createdAt`,
 * tags and this lifetime) and hand out {@link columnEntry} copies in its place: one `createEntry`/`restoreEntry` made,
 * with no prediction and its times exact as offsets. Undefined for any other entry, which the tier keeps as it is.
 */
export function plainLifetime(entry: Entry): Lifetime | undefined {
  if (!(entry instanceof StoredEntry) || entry instanceof PinnedTimesEntry) return undefined;
  return entry.prediction === undefined ? entry.lifetime : undefined;
}

/** A plain entry (see {@link plainLifetime}) rebuilt from the fields a tier kept of it, `hits` set. */
export function columnEntry<V>(key: string, value: V, version: number, sizeBytes: number, createdAt: number, lifetime: Lifetime, tags: readonly string[], hits: number): Entry<V> {
  const entry = new StoredEntry<V>(key, value, version, sizeBytes, createdAt, lifetime, tags, undefined);
  entry.hits = hits;
  return entry;
}

/**
 * True when `a` and `b` are the same entry: one object, or a plain entry and a copy a tier rebuilt of it (see
 * {@link matchesEntry}; neither has a prediction). `hits` is not compared (a copy counts its own).
 */
export function isSameEntry(a: Entry | undefined, b: Entry | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || plainLifetime(a) === undefined || plainLifetime(b) === undefined) return false;
  return matchesEntry(b, a.key, a.value, a.version, a.sizeBytes, a.createdAt, a.staleAt, a.expiresAt, a.tags);
}

/**
 * True when `entry` has these fields: the same key, value (`Object.is`), version, size and times (equal or both NaN)
 * and the same tags array (any two empty ones count as the same: a tier keeps no empty array).
 */
export function matchesEntry(entry: Entry, key: string, value: unknown, version: number, sizeBytes: number, createdAt: number, staleAt: number, expiresAt: number, tags: readonly string[]): boolean {
  return entry.key === key && Object.is(entry.value, value) && sameNumber(entry.version, version) && sameNumber(entry.sizeBytes, sizeBytes)
    && (entry.tags === tags || (entry.tags.length === 0 && tags.length === 0))
    && sameNumber(entry.createdAt, createdAt) && sameNumber(entry.staleAt, staleAt) && sameNumber(entry.expiresAt, expiresAt);
}

/** Equal, or both NaN. */
function sameNumber(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** True when `now` is past the entry's stale time. */
export function isStale(entry: Entry, now: number): boolean {
  return now >= entry.staleAt;
}

/** True when `now` is past the entry's expiry time. */
export function isExpired(entry: Entry, now: number): boolean {
  return now >= entry.expiresAt;
}

/** Why an entry left a tier. */
export type RemovalCause = 'evicted' | 'expired' | 'deleted' | 'replaced' | 'rejected';

/**
 * Checks a cache key: a non-empty string of at most `maxKeyLength` characters, well-formed UTF-16 (see
 * {@link checkWellFormedKey}). @throws InvalidKeyError
 */
export function checkKey(key: unknown, maxKeyLength: number): asserts key is string {
  if (typeof key !== 'string') throw new InvalidKeyError(key, 'expected a string');
  if (key.length === 0) throw new InvalidKeyError(key, 'expected a non-empty string');
  if (key.length > maxKeyLength) throw new InvalidKeyError(key, `longer than ${maxKeyLength} characters`);
  checkWellFormedKey(key);
}

/** True when `text` holds no surrogate without its partner: `String.prototype.isWellFormed` (Node 20; TypeScript's ES2023 lib does not declare it). */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** A UTF-16 surrogate without its partner. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks that `key` is well-formed UTF-16: no surrogate without its partner. Why: a shared tier (Redis), a write
 * notice's peers and trace files hold keys as UTF-8, where every lone surrogate becomes U+FFFD, so two such keys would
 * become one there (`'a\uD800'` and `'a\uDC00'` read each other's values). @throws InvalidKeyError
 */
export function checkWellFormedKey(key: string): void {
  if (isWellFormed(key)) return;
  const at = key.search(LONE_SURROGATE);
  const unit = key.charCodeAt(at).toString(16).toUpperCase();
  throw new InvalidKeyError(key, `not well-formed UTF-16: a lone surrogate (U+${unit}) at index ${at}, which has no UTF-8 form, so the key could not be told apart from others in a shared tier`);
}
