/**
 * EnsembleSources: the inner models of the ensemble over one KeyInterner, and the top list each one offers for
 * a context, gathered as dense key ids into one scratch slab.
 *
 * Why: the ensemble mixes six sources (the Markov scopes user, segment and global, delta, popularity,
 * session-kNN; seven with sequential rules) per access, so their answers must cost no strings or objects: every
 * model but delta shares the interner and answers with ids; delta computes keys (block n + 1) that may never have been read,
 * so its values are looked up by number (KeyInterner.peekNumber) and a value never interned gets a synthetic id past
 * the interner's size, turned back into a string only if it is returned. Asking a source is the cost, so the
 * caller says which to ask (muted sources are left empty). Cost: one list per asked source, no allocation.
 */
import type { ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { nestedOptions } from '../options.ts';
import { DeltaPredictor } from './delta-predictor.ts';
import type { EnsemblePredictorOptions } from './ensemble-options.ts';
import { KeyInterner } from './key-interner.ts';
import type { SourceLists } from './list-mixer.ts';
import { MarkovPredictor } from './markov-predictor.ts';
import { PopularityPredictor } from './popularity-predictor.ts';
import type { Access, Predictor } from './predictor.ts';
import { SequentialRulesPredictor } from './sequential-rules-predictor.ts';
import { SessionKnnPredictor } from './session-knn-predictor.ts';

/** Options of the inner models (the ensemble's own, see ensemble-options.ts); a source set to `false` is left out. */
export type EnsembleSourcesOptions = Pick<EnsemblePredictorOptions, 'markov' | 'delta' | 'popularity' | 'knn' | 'rules' | 'maxKeys' | 'sessionIdleMs'>;

/** Name of a source, as reported by the ensemble. */
export type SourceName = 'markov:user' | 'markov:segment' | 'markov:global' | 'delta' | 'popularity' | 'session-knn' | 'sequential-rules';

/**
 * Inner options the ensemble changes from the models' own defaults, measured with bench/predictor-cost.ts and
 * bench/predictor-accuracy.ts: kNN scanning 60 ring entries for 30 candidate sessions and 30 neighbours (instead
 * of 300 / 100 / 50) costs about 2 µs less per access for ensemble Recall@20 0.657 vs 0.6645 on yoochoose
 * (diginetica and msnbc unchanged); ranking popularity every 64 accesses instead of 16 saves about 1 µs on
 * yoochoose and changes no figure.
 */
const knnDefaults = { maxScanned: 60, sampleSize: 30, neighbors: 30 } as const;
const popularityDefaults = { refreshAccesses: 64 } as const;

/** Source kinds by name, dense for `gather`'s switch (a string switch compares names on every source of every access). */
const kindUser = 0;
const kindSegment = 1;
const kindGlobal = 2;
const kindDelta = 3;
const kindPopularity = 4;
const kindKnn = 5;
const kindRules = 6;
const sourceKinds: Record<SourceName, number> = {
  'markov:user': kindUser,
  'markov:segment': kindSegment,
  'markov:global': kindGlobal,
  delta: kindDelta,
  popularity: kindPopularity,
  'session-knn': kindKnn,
  'sequential-rules': kindRules,
};

/**
 * A source's options as given: undefined for `false` (when `canOmit`), else a plain object (undefined: {}) without
 * `name` or `keys`, which the ensemble sets itself (names its sources, shares one interner).
 * @throws InvalidOptionError (ERR_INVALID_OPTION) naming the option (`knn`, `markov.keys`, ...).
 */
function innerOptions(name: string, opts: unknown, canOmit = true): Record<string, unknown> | undefined {
  if (opts === false && canOmit) return undefined;
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new InvalidOptionError(name, canOmit ? 'an options object or false' : 'an options object', opts);
  const o = opts as Record<string, unknown>;
  if (o.name !== undefined) throw new InvalidOptionError(`${name}.name`, 'left out (the ensemble names its sources)', o.name);
  if (o.keys !== undefined) throw new InvalidOptionError(`${name}.keys`, 'left out (the ensemble shares one interner; see maxKeys)', o.keys);
  return o;
}

/** The ensemble's inner models and the scratch lists they fill. */
export class EnsembleSources {
  /** Source names, in source order: the Markov scopes, then delta, popularity, session-kNN, sequential rules if present. */
  readonly names: SourceName[] = ['markov:user', 'markov:segment', 'markov:global'];
  /** The interner every id refers to. */
  readonly keys: KeyInterner;
  /** The lists of the last `gather`: source j's at [j * stride, ...), `lens[j]` long; delta carries ETAs. */
  readonly lists: SourceLists;
  /** Delta's key values of the last `gather`, by rank. */
  readonly deltaValues: Float64Array;
  /** Index of the delta source and of the popularity source, or -1. */
  readonly deltaSource: number;
  readonly popularitySource: number;
  readonly #markov: MarkovPredictor;
  readonly #delta: DeltaPredictor | undefined;
  readonly #popularity: PopularityPredictor | undefined;
  readonly #knn: SessionKnnPredictor | undefined;
  readonly #rules: SequentialRulesPredictor | undefined;
  readonly #models: Predictor[];
  /** What source j is, by index (a `kind*` constant): `gather` dispatches on it, not on the name string. */
  readonly #kinds: Uint8Array;
  readonly #viewIds: Int32Array[] = [];
  readonly #viewProbs: Float64Array[] = [];

  /**
   * @param depth longest list asked of a source.
   * @throws InvalidOptionError (ERR_INVALID_OPTION) on bad inner options.
   */
  constructor(options: EnsembleSourcesOptions, depth: number) {
    const keys = new KeyInterner({ maxKeys: options.maxKeys });
    this.keys = keys;
    // An inner model's own sessionIdleMs wins; left unset, the ensemble's (when given) is its default.
    const idle = options.sessionIdleMs;
    const withIdle = (o: Record<string, unknown>) => (idle === undefined || o.sessionIdleMs !== undefined ? o : { ...o, sessionIdleMs: idle });
    const d = innerOptions('delta', options.delta);
    const p = innerOptions('popularity', options.popularity);
    const k = innerOptions('knn', options.knn);
    const s = innerOptions('rules', options.rules === undefined ? false : options.rules);
    const m = innerOptions('markov', options.markov, false) ?? {};
    this.#markov = nestedOptions('markov', () => new MarkovPredictor({ ...withIdle(m), name: 'markov', keys }));
    this.#delta = d === undefined ? undefined : nestedOptions('delta', () => new DeltaPredictor({ ...withIdle(d), name: 'delta' }));
    this.#popularity = p === undefined ? undefined : nestedOptions('popularity', () => new PopularityPredictor({ ...popularityDefaults, ...p, name: 'popularity', keys }));
    this.#knn = k === undefined ? undefined : nestedOptions('knn', () => new SessionKnnPredictor({ ...knnDefaults, ...withIdle(k), name: 'session-knn', keys }));
    this.#rules = s === undefined ? undefined : nestedOptions('rules', () => new SequentialRulesPredictor({ ...withIdle(s), name: 'sequential-rules', keys }));
    this.#models = [this.#markov];
    const optional = [['delta', this.#delta], ['popularity', this.#popularity], ['session-knn', this.#knn], ['sequential-rules', this.#rules]] as const;
    for (const [name, model] of optional) {
      if (model === undefined) continue;
      this.names.push(name);
      this.#models.push(model);
    }
    this.#kinds = Uint8Array.from(this.names, (name) => sourceKinds[name]);
    this.deltaSource = this.names.indexOf('delta');
    this.popularitySource = this.names.indexOf('popularity');
    const n = this.names.length;
    const ids = new Int32Array(n * depth);
    const probs = new Float64Array(n * depth);
    for (let j = 0; j < n; j++) {
      this.#viewIds.push(ids.subarray(j * depth, (j + 1) * depth));
      this.#viewProbs.push(probs.subarray(j * depth, (j + 1) * depth));
    }
    this.deltaValues = new Float64Array(depth);
    this.lists = { ids, probs, lens: new Int32Array(n), stride: depth, etaSource: this.deltaSource, etas: new Float64Array(depth) };
  }

  /** States held by all inner models. */
  get stateCount(): number {
    let n = 0;
    for (const m of this.#models) n += m.stateCount ?? 0;
    return n;
  }

  /** Observations of the context's user (what the user scope has learned from). */
  userObservations(ctx: ReadContext): number {
    return this.#markov.observations('user', ctx);
  }

  /**
   * Every inner model learns from the access, in source order (the order they intern new keys in). Direct calls,
   * not a loop over `#models`: that call site sees five classes, past what V8 inlines or caches.
   */
  observe(access: Access): void {
    this.#markov.observe(access);
    this.#delta?.observe(access);
    this.#popularity?.observe(access);
    this.#knn?.observe(access);
    this.#rules?.observe(access);
  }

  /**
   * Fills `lists` for `ctx`: each source j with `asked[j]` gives up to `depth` (at most the constructor's),
   * delta up to `deltaDepth`; the others are left empty. A delta key never interned gets id `keys.size` + rank:
   * delta offers each value once, so no two ranks share a key under different ids.
   */
  gather(ctx: ReadContext, depth: number, deltaDepth: number, asked: Uint8Array): void {
    const { ids, probs, lens, stride, etas } = this.lists;
    const kinds = this.#kinds;
    for (let j = 0; j < kinds.length; j++) {
      let n = 0;
      const from = j * stride;
      if (asked[j] !== 0) {
        switch (kinds[j]) {
          case kindUser:
            if (ctx.user !== undefined) n = this.#markov.predictScopeIds('user', ctx, depth, this.#viewIds[j], this.#viewProbs[j]);
            break;
          case kindSegment:
            if (ctx.segment !== undefined) n = this.#markov.predictScopeIds('segment', ctx, depth, this.#viewIds[j], this.#viewProbs[j]);
            break;
          case kindGlobal:
            n = this.#markov.predictScopeIds('global', ctx, depth, this.#viewIds[j], this.#viewProbs[j]);
            break;
          case kindDelta: {
            const delta = this.#delta!;
            n = delta.predictValues(ctx, Math.min(depth, deltaDepth));
            const keys = this.keys;
            const synthetic = keys.size;
            const values = delta.valueOut;
            const probabilities = delta.probabilityOut;
            const deltaEtas = delta.etaOut;
            const deltaValues = this.deltaValues;
            for (let r = 0; r < n; r++) {
              const v = values[r];
              const id = keys.peekNumber(v);
              ids[from + r] = id >= 0 ? id : synthetic + r;
              probs[from + r] = probabilities[r];
              deltaValues[r] = v;
              etas[r] = deltaEtas[r];
            }
            break;
          }
          case kindPopularity: {
            const t = this.#popularity!.rankedIds(ctx);
            n = Math.min(depth, t.n);
            const tIds = t.ids;
            const tScores = t.scores;
            for (let r = 0; r < n; r++) {
              ids[from + r] = tIds[r];
              probs[from + r] = tScores[r];
            }
            break;
          }
          case kindRules:
            n = this.#rules!.predictIds(ctx, depth, this.#viewIds[j], this.#viewProbs[j]);
            break;
          case kindKnn: {
            const knn = this.#knn!;
            n = knn.predictIds(ctx, depth);
            const topIds = knn.topIds;
            const topScores = knn.topScores;
            for (let r = 0; r < n; r++) {
              ids[from + r] = topIds[r];
              probs[from + r] = topScores[r];
            }
            break;
          }
        }
      }
      lens[j] = n;
    }
  }
}
