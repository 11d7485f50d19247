/**
 * ShadowCatalogs: per-user and per-segment catalogs of the items predicted for them, consulted first by reads
 * that carry a `user` (or `segment`).
 *
 * Why: in a shared tier, one busy user's traffic evicts what the models prepared for everyone else. A catalog
 * keeps, for each user, references to the entries predicted for that user, so those entries stay servable while
 * the user is likely to ask for them, even once the memory tier evicted them (within `maxBytesOutsideTier` bytes of
 * such entries for all catalogs together; past it the ones outside the tier longest go). A catalog holds references,
 * never copies: a reference points to the key's shared cell (entry-cells.ts), and the cell to the very `Entry`
 * object the memory tier holds (or held). So an item is stored once however many users reference it, memory grows
 * with catalogs × `perUserLimit` small references, not catalogs × item size (bench/shadow-catalog-memory.ts), and
 * a newer entry stored or a key deleted reaches every catalog in one Map lookup (a dead reference is released when
 * a read or a listing meets it, and is the first to go when its catalog is full).
 *
 * Bounds: each catalog keeps at most `perUserLimit` references; a full catalog evicts the reference with the lowest
 * probability × recency (probability / (1 + age / recencyHalfS)) when the newcomer scores higher (else the
 * newcomer is refused), scanning its at most `perUserLimit` references: O(perUserLimit) per insertion into a full
 * catalog, O(1) per read. At most `maxCatalogs` user catalogs and as many segment catalogs are kept; the one dropped
 * is picked by second chance (CLOCK) over creation order, which approximates least recently used while a read only
 * sets a flag (moving the catalog to the back of an LRU order on every read cost more than the rest of the read).
 * Staleness: an entry past its `staleAt` is never served from a catalog; the read goes to the origin first (unlike
 * the stale-while-revalidate of the tiers).
 */
import type { Clock } from '../clock.ts';
import type { ReadContext } from '../context.ts';
import type { Prediction } from '../predict/predictor.ts';
import type { ResolvedShadowOptions } from './cache-options.ts';
import { EntryCells, type EntryCell } from './entry-cells.ts';
import { PendingReferences } from './pending-references.ts';
import { isSameEntry, type Entry, type RemovalCause } from './entry.ts';
import type { ShadowRead, ShadowStats } from './shadow-types.ts';
import type { ShadowItem } from './shadow-listing.ts';

export type { ShadowRead, ShadowStats } from './shadow-types.ts';

/**
 * Age at which a reference counts half its probability when a full catalog picks what to evict, in seconds: a
 * minute, about the span of a browsing step, so last minute's weak guess beats an hour-old strong one.
 */
const recencyHalfS = 60;

/**
 * Probabilities are kept in millionths and times in whole seconds since the catalogs were made: small integers
 * live in the reference object itself, where a fractional number costs a 16-byte heap box per field per reference
 * (bench/shadow-catalog-memory.ts). A millionth is finer than any model's calibration; a second is finer than
 * `recencyHalfS`.
 */
const probabilityScale = 1_000_000;

/** One catalog's reference to an item: what was predicted, when, and whether the owner used it yet. */
type ShadowRef<V> = {
  held: EntryCell<V>;
  /** Probability of the latest prediction, in millionths. */
  ppm: number;
  source: string;
  /** When the reference was last predicted or served, in seconds since the catalogs were made. */
  touchedS: number;
  uses: number;
};

/** One user's (or segment's) references by key, and whether it was used since the bound last passed it by. */
class Catalog<V> extends Map<string, ShadowRef<V>> {
  isUsed = false;
}

/** What the catalogs need from their cache. */
export type ShadowCatalogsOptions<V> = ResolvedShadowOptions & {
  readonly clock: Clock;
  /**
   * The memory tier: `peek` without side effect; `get` records a hit (recency, frequency, `entry.hits`); `holds` tells
   * whether it holds an entry (the object, or a copy of a plain one: the tier rebuilds those, see node-table.ts).
   */
  readonly tier: { peek(key: string): Entry<V> | undefined; get(key: string, includeExpired?: boolean): Entry<V> | undefined; holds(entry: Entry<V>): boolean };
  /** The cache's prediction loop (PredictionLoop): a read served from a catalog is recorded, the first use of a prefetch reported. */
  readonly loop: {
    used(entry: Entry<V>): void;
    /** An entry left where it could be used (MemoryTier's removal causes): an unused prefetch leaving is waste. */
    removed(entry: Entry<V>, cause: RemovalCause): void;
    shouldRecord(): boolean;
    record(key: string, ctx: ReadContext, now: number, status: 'hit' | 'prefetched'): void;
  };
  /** The cache's read counters, incremented for reads served from a catalog. */
  readonly reads: Record<'hit' | 'prefetched', number>;
};

/** The catalogs of one cache. Every method is synchronous. */
export class ShadowCatalogs<V = unknown> {
  readonly #o: ShadowCatalogsOptions<V>;
  readonly #users = new Map<string, Catalog<V>>();
  readonly #segments = new Map<string, Catalog<V>>();
  // An entry kept only by the catalogs that they let go of unused was a wasted prefetch: counted then, not when the
  // memory tier evicted it (a catalog may still serve it: counted wasted, then used, before).
  readonly #held = new EntryCells<V>((entry) => this.#o.loop.removed(entry, 'evicted'));
  readonly #pending = new PendingReferences();
  #references = 0;
  #hits = 0;
  #refreshedBeforeServe = 0;
  #evictedReferences = 0;
  #droppedCatalogs = 0;
  #trimmedOutside = 0;
  readonly #epochMs: number;

  constructor(options: ShadowCatalogsOptions<V>) {
    this.#o = options;
    this.#epochMs = options.clock.now();
  }

  /**
   * Serves `key` from the catalog of `ctx.user`, else of `ctx.segment`: the result when the entry is fresh,
   * 'stale' when it must be refreshed from the origin before it is served (the caller loads it), undefined when no
   * catalog of `ctx` names the key (the caller falls through to the tiers). Assumes `ctx` was checked.
   */
  serve(key: string, ctx: ReadContext): ShadowRead<V> | 'stale' | undefined {
    const ref = this.#find(key, ctx, true);
    if (ref === undefined) return undefined;
    const entry = ref.held.entry as Entry<V>;
    const now = this.#o.clock.now();
    ref.touchedS = this.#seconds(now);
    if (now >= entry.staleAt) {
      this.#refreshedBeforeServe++;
      ref.uses++;
      return 'stale';
    }
    const isFirstUse = entry.hits === 0 && entry.source === 'prefetch';
    if (this.#o.tier.holds(entry)) this.#o.tier.get(key, true);
    else entry.hits++;
    ref.uses++;
    const status = isFirstUse ? 'prefetched' : 'hit'; // an entry no prediction brought in is a plain hit
    this.#hits++;
    this.#o.reads[status]++;
    if (isFirstUse) this.#o.loop.used(entry);
    if (this.#o.loop.shouldRecord()) this.#o.loop.record(key, ctx, now, status);
    return { key, value: entry.value, isFound: true, version: entry.version, status, servedFrom: 'shadow', wasInflight: false };
  }

  /**
   * The entry a catalog read of `key` for `ctx` would use (the very object the catalogs share), without counting a
   * use; undefined when no catalog of `ctx` names the key.
   */
  peek(key: string, ctx: ReadContext): Entry<V> | undefined {
    return this.#find(key, ctx, false)?.held.entry;
  }

  /** The entry the catalogs share for `key` (whoever names it), if any; no side effect. */
  held(key: string): Entry<V> | undefined {
    return this.#held.entry(key);
  }

  #find(key: string, ctx: ReadContext, isRead: boolean): ShadowRef<V> | undefined {
    if (ctx.user !== undefined) {
      const ref = this.#live(this.#users, ctx.user, key, isRead);
      if (ref !== undefined) return ref;
    }
    return ctx.segment === undefined ? undefined : this.#live(this.#segments, ctx.segment, key, isRead);
  }

  /**
   * Names `entry` in the catalogs of `ctx.user` and `ctx.segment` (none when `ctx` has neither), with the
   * probability and model of the prediction. An existing reference takes the new probability; the shared cell
   * takes `entry` unless it holds a newer version.
   */
  reference(ctx: ReadContext, entry: Entry<V>, probability: number, source: string): void {
    if (ctx.user !== undefined) this.#add(this.#users, ctx.user, entry, probability, source);
    if (ctx.segment !== undefined) this.#add(this.#segments, ctx.segment, entry, probability, source);
  }

  /**
   * Fresh predictions for `ctx`: those at or above `minProbability` whose item is cached and fresh (in a catalog
   * or in the memory tier) are referenced now; the others wait (pending-references.ts) for the item to be stored.
   */
  predicted(ctx: ReadContext, predictions: readonly Prediction[]): void {
    if (ctx.user === undefined && ctx.segment === undefined) return;
    const now = this.#o.clock.now();
    for (const p of predictions) {
      if (!(p.probability >= this.#o.minProbability)) continue;
      const entry = this.#held.entry(p.key) ?? this.#o.tier.peek(p.key);
      if (entry !== undefined && now < entry.staleAt) this.reference(ctx, entry, p.probability, p.source ?? 'unknown');
      else this.#pending.add(p.key, { ctx, probability: p.probability, source: p.source ?? 'unknown', atS: this.#seconds(now) });
    }
  }

  /**
   * The cache stored `entry` (a load, a refresh, a write): catalogs naming its key now serve it, and the catalogs it
   * was predicted for (the prefetch's context, and those waiting for it) reference it. One Map lookup when none waits.
   */
  stored(entry: Entry<V>, prediction: { readonly probability: number; readonly source: string; readonly ctx: ReadContext } | undefined): void {
    this.#held.supersede(entry, this.#o.clock.now());
    this.#track(entry.key);
    if (prediction !== undefined) this.reference(prediction.ctx, entry, prediction.probability, prediction.source);
    if (this.#pending.size === 0) return;
    for (const w of this.#pending.take(entry.key, this.#seconds(this.#o.clock.now()))) this.reference(w.ctx, entry, w.probability, w.source);
  }

  /**
   * `entry` left the memory tier: if the catalogs point to it, it now counts against `maxBytesOutsideTier`, and the
   * items kept outside longest stop being served past it. A replaced or deleted entry is left to what the cache does
   * next for its key (`stored` with the new entry, `drop`), which settles it: counting it here would trim a
   * legitimate item (or the key's own reference) for an entry about to be superseded. True when the catalogs keep
   * `entry` (evicted or refused by the tier): the cache then leaves its waste, if unused, to them.
   */
  leftTier(entry: Entry<V>, cause: RemovalCause): boolean {
    const held = this.#held.entry(entry.key);
    if (cause === 'replaced' || cause === 'deleted' || held === undefined || !isSameEntry(held, entry)) return false;
    // A copy the tier built of a plain entry: the catalogs' object takes the hits the tier counted, as the stored object did.
    if (held !== entry) held.hits = Math.max(held.hits, entry.hits);
    this.#countOutside(entry.key);
    // Kept to be served: whether it was a wasted prefetch is told when the catalogs let it go unused (`#held`).
    return cause !== 'expired';
  }

  /** After the cell of `key` changed: whether the memory tier holds its entry decides whether its bytes count as outside. */
  #track(key: string): void {
    const entry = this.#held.entry(key);
    if (entry === undefined) return;
    if (this.#o.tier.holds(entry)) this.#held.markHeld(key);
    else this.#countOutside(key);
  }

  /** The entry of `key`'s cell is outside the memory tier: counted, then the budget restored. */
  #countOutside(key: string): void {
    this.#held.markOutside(key);
    this.#trimmedOutside += this.#held.trimOutside(this.#o.maxBytesOutsideTier);
  }

  /**
   * The key was deleted or invalidated up to `maxVersion`: no catalog serves it any more, unless the entry they
   * reference is newer (then nothing changes and the answer is false). True when some catalog named it. One Map
   * lookup; the references die lazily.
   */
  drop(key: string, maxVersion = Infinity): boolean {
    if (maxVersion !== Infinity && (this.#held.entry(key)?.version ?? 0) > maxVersion) return false;
    this.#pending.forget(key);
    return this.#held.drop(key);
  }

  /** Keys referenced by some catalog that start with `prefix` or carry `tag` (for `Cache.invalidate`). */
  keysMatching(prefix: string | undefined, tag: string | undefined): string[] {
    return this.#held.keysMatching(prefix, tag);
  }

  /**
   * The catalog of user (or segment) `id`, most probable first (ties by key), at most `limit` items; empty for an
   * unknown id. Does not count as a use and does not mark the catalog used (for the `maxCatalogs` bound).
   */
  list(kind: 'user' | 'segment', id: string, limit = Infinity): ShadowItem[] {
    const catalog = (kind === 'user' ? this.#users : this.#segments).get(id);
    if (catalog === undefined) return [];
    const now = this.#o.clock.now();
    const items: ShadowItem[] = [];
    for (const [key, ref] of catalog) {
      const entry = ref.held.entry;
      if (entry === undefined) {
        this.#release(catalog, key, ref);
        continue;
      }
      const { createdAt: fetchedAt, staleAt, version } = entry;
      const { source, uses } = ref;
      items.push({ key, probability: ref.ppm / probabilityScale, fetchedAt, staleAt, isStale: now >= staleAt, version, source, uses });
    }
    items.sort((a, b) => b.probability - a.probability || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return items.length > limit ? items.slice(0, limit) : items;
  }

  /** Counters; `bytes` and `bytesOutsideTier` walk the referenced keys (O(heldKeys)). */
  stats(): ShadowStats {
    const bytes = this.#held.bytes((entry) => this.#o.tier.holds(entry));
    return {
      userCatalogs: this.#users.size,
      segmentCatalogs: this.#segments.size,
      references: this.#references,
      heldKeys: this.#held.size,
      pendingKeys: this.#pending.size,
      bytes: bytes.total,
      bytesOutsideTier: bytes.only,
      hits: this.#hits,
      refreshedBeforeServe: this.#refreshedBeforeServe,
      evictedReferences: this.#evictedReferences,
      droppedCatalogs: this.#droppedCatalogs,
      trimmedOutsideTier: this.#trimmedOutside,
    };
  }

  #live(catalogs: Map<string, Catalog<V>>, id: string, key: string, isRead: boolean): ShadowRef<V> | undefined {
    const catalog = catalogs.get(id);
    const ref = catalog?.get(key);
    if (ref === undefined) return undefined;
    if (ref.held.entry === undefined) {
      this.#release(catalog as Catalog<V>, key, ref);
      return undefined;
    }
    if (isRead) (catalog as Catalog<V>).isUsed = true;
    return ref;
  }

  #add(catalogs: Map<string, Catalog<V>>, id: string, entry: Entry<V>, probability: number, source: string): void {
    const nowMs = this.#o.clock.now();
    const now = this.#seconds(nowMs);
    const ppm = Math.round(probability * probabilityScale);
    let catalog = catalogs.get(id);
    if (catalog === undefined) {
      if (catalogs.size >= this.#o.maxCatalogs) this.#dropOldest(catalogs);
      catalog = new Catalog<V>();
      catalogs.set(id, catalog);
    } else {
      catalog.isUsed = true;
    }
    const ref = catalog.get(entry.key);
    if (ref === undefined && catalog.size >= this.#o.perUserLimit && !this.#evictBelow(catalog, ppm, now)) {
      this.#evictedReferences++;
      return;
    }
    if (ref !== undefined) {
      if (ref.held.entry === undefined) {
        // The key was dropped and stored again since: a new item for this catalog.
        this.#held.release(entry.key, ref.held);
        ref.held = this.#held.acquire(entry, nowMs);
        ref.uses = 0;
      } else {
        this.#held.supersede(entry, nowMs);
      }
      this.#track(entry.key);
      ref.ppm = ppm;
      ref.source = source;
      ref.touchedS = now;
      return;
    }
    this.#references++;
    catalog.set(entry.key, { held: this.#held.acquire(entry, nowMs), ppm, source, touchedS: now, uses: 0 });
    this.#track(entry.key);
  }

  /** Evicts the reference of lowest score if it scores below `newcomer` (millionths); false (nothing evicted) otherwise. */
  #evictBelow(catalog: Catalog<V>, newcomer: number, nowS: number): boolean {
    let victimKey: string | undefined;
    let victim: ShadowRef<V> | undefined;
    let lowest = Infinity;
    for (const [key, ref] of catalog) {
      const score = ref.held.entry === undefined ? -1 : ref.ppm / (1 + (nowS - ref.touchedS) / recencyHalfS);
      if (score < lowest) {
        lowest = score;
        victimKey = key;
        victim = ref;
        if (score < 0) break;
      }
    }
    if (victimKey === undefined || victim === undefined || lowest >= newcomer) return false;
    this.#evictedReferences++;
    this.#release(catalog, victimKey, victim);
    return true;
  }

  #seconds(now: number): number {
    return Math.floor((now - this.#epochMs) / 1000);
  }

  /** Second chance (CLOCK) over insertion order: a catalog used since it was last passed by goes to the back. */
  #dropOldest(catalogs: Map<string, Catalog<V>>): void {
    let oldest = catalogs.entries().next().value;
    while (oldest !== undefined && oldest[1].isUsed) {
      oldest[1].isUsed = false;
      catalogs.delete(oldest[0]);
      catalogs.set(oldest[0], oldest[1]);
      oldest = catalogs.entries().next().value;
    }
    if (oldest === undefined) return;
    const [id, catalog] = oldest;
    catalogs.delete(id);
    for (const [key, ref] of catalog) this.#release(catalog, key, ref);
    this.#droppedCatalogs++;
  }

  #release(catalog: Catalog<V>, key: string, ref: ShadowRef<V>): void {
    catalog.delete(key);
    this.#references--;
    this.#held.release(key, ref.held);
  }
}
