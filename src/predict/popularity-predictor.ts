/**
 * PopularityPredictor: the most popular keys right now, the cold-start fallback when nothing is known about a
 * session or user.
 *
 * Why: with no context the best single guess is the key most likely to be read next by anyone, i.e. its share of
 * recent traffic. Shares come from exponentially decayed counts kept in a bounded Space-Saving table (see
 * DecayedHeavyHitters, after Metwally et al. 2005); a trend term mixes in a share over a much shorter half-life,
 * so a key rising now outranks a key that was popular an hour ago. Optional per-segment tables answer for a
 * segment that has enough traffic of its own. The ranked list is recomputed every `refreshAccesses` accesses
 * (O(capacity)) when a prediction is asked for, so predict is a slice of a cached array.
 */
import type { ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { nameOption, nonNegativeInt, nonNegativeNumber, numberInRange, optionsObject, positiveInt } from '../options.ts';
import { DecayedHeavyHitters } from './decayed-heavy-hitters.ts';
import { internerOption, type KeyInterner } from './key-interner.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';

/** Options of PopularityPredictor. */
export type PopularityPredictorOptions = {
  /** Half-life of popularity counts, in accesses. @default 10000 */
  readonly halfLifeAccesses?: number;
  /** Half-life of the trend (velocity) counts, in accesses; below `halfLifeAccesses`. @default 500 */
  readonly trendHalfLifeAccesses?: number;
  /** Weight of the trend share against the long share, in [0, 1]. @default 0.5 */
  readonly trendWeight?: number;
  /** Keys tracked per table (Space-Saving counters, about 48 bytes each, reserved when the table is made), up to 1,000,000. @default 1024 */
  readonly capacity?: number;
  /** Segments with their own table (least recently used dropped); 0 for one global table. @default 0 */
  readonly maxSegments?: number;
  /** Accesses a segment's table needs before it answers instead of the global one. @default 100 */
  readonly minSegmentAccesses?: number;
  /** Accesses between recomputations of the ranked list. @default 16 */
  readonly refreshAccesses?: number;
  /** Interning table shared with other models (the ensemble passes one); a private one by default. */
  readonly keys?: KeyInterner;
  /** Name reported in predictions. @default 'popularity' */
  readonly name?: string;
};

/** Length of the cached ranked list; predictions beyond it are not offered. */
const rankedLength = 64;

/** A table with its ranked list: ids and shares (valid up to `n`), Prediction objects made on first use. */
type Table = { hh: DecayedHeavyHitters; ids: Int32Array; scores: Float64Array; n: number; ranked: Prediction[]; stale: number };

/** Decayed-popularity and trend predictor. */
export class PopularityPredictor implements Predictor {
  readonly name: string;
  readonly #long: number;
  readonly #short: number;
  readonly #trend: number;
  readonly #capacity: number;
  readonly #maxSegments: number;
  readonly #minSegment: number;
  readonly #refresh: number;
  readonly #keys: KeyInterner;
  readonly #global: Table;
  #segments = new Map<string, Table>();

  constructor(options: PopularityPredictorOptions = {}) {
    optionsObject(options);
    this.name = nameOption('name', options.name, 'popularity');
    this.#keys = internerOption(options.keys);
    this.#long = nonNegativeNumber('halfLifeAccesses', options.halfLifeAccesses, 10_000);
    if (this.#long === 0) throw new InvalidOptionError('halfLifeAccesses', 'a positive number', 0);
    this.#short = nonNegativeNumber('trendHalfLifeAccesses', options.trendHalfLifeAccesses, Math.min(500, this.#long));
    if (this.#short === 0 || this.#short > this.#long) {
      throw new InvalidOptionError('trendHalfLifeAccesses', `a positive number no larger than \`halfLifeAccesses\` (${this.#long})`, this.#short);
    }
    this.#trend = numberInRange('trendWeight', options.trendWeight, 0, 1, 0.5);
    this.#capacity = positiveInt('capacity', options.capacity, 1024, 1_000_000);
    this.#maxSegments = nonNegativeInt('maxSegments', options.maxSegments, 0);
    this.#minSegment = nonNegativeInt('minSegmentAccesses', options.minSegmentAccesses, 100);
    this.#refresh = positiveInt('refreshAccesses', options.refreshAccesses, 16);
    this.#global = this.#table();
  }

  /** Counters held over all tables. */
  get stateCount(): number {
    let n = this.#global.hh.size;
    for (const t of this.#segments.values()) n += t.hh.size;
    return n;
  }

  observe(access: Access): void {
    const id = this.#keys.id(access.key);
    this.#count(this.#global, id);
    const seg = access.ctx.segment;
    if (seg === undefined || this.#maxSegments === 0) return;
    let t = this.#segments.get(seg);
    if (t === undefined) {
      t = this.#table();
      if (this.#segments.size >= this.#maxSegments) this.#segments.delete(this.#segments.keys().next().value as string);
    } else {
      this.#segments.delete(seg);
    }
    this.#segments.set(seg, t);
    this.#count(t, id);
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    if (!(limit > 0)) return [];
    const t = this.#fresh(ctx);
    const n = Math.min(limit, t.n);
    const ranked = t.ranked;
    for (let r = ranked.length; r < n; r++) ranked.push({ key: this.#keys.key(t.ids[r]), probability: Math.min(1, t.scores[r]), source: this.name });
    return ranked.slice(0, n);
  }

  /**
   * Id-level predict for the ensemble: the ranked ids (of the interner passed as `keys`) and shares of the
   * table that answers `ctx`, valid up to the returned `n` (at most 64) and until the next observe.
   */
  rankedIds(ctx: ReadContext): { readonly ids: Int32Array; readonly scores: Float64Array; readonly n: number } {
    return this.#fresh(ctx);
  }

  #fresh(ctx: ReadContext): Table {
    let t = this.#global;
    if (ctx.segment !== undefined) {
      const s = this.#segments.get(ctx.segment);
      if (s !== undefined && s.hh.accesses >= this.#minSegment) t = s;
    }
    if (t.stale >= this.#refresh || (t.n === 0 && t.hh.size > 0)) this.#rank(t);
    return t;
  }

  #table(): Table {
    return { hh: new DecayedHeavyHitters(this.#capacity, this.#long, this.#short), ids: new Int32Array(rankedLength), scores: new Float64Array(rankedLength), n: 0, ranked: [], stale: 0 };
  }

  #count(t: Table, id: number): void {
    t.hh.add(id);
    t.stale++;
  }

  #rank(t: Table): void {
    t.n = t.hh.topInto(rankedLength, this.#trend, t.ids, t.scores);
    for (let r = 0; r < t.n; r++) if (t.scores[r] > 1) t.scores[r] = 1;
    t.ranked = [];
    t.stale = 0;
  }
}
