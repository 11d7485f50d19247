/**
 * EnsemblePredictor: blends the Markov scopes (user, segment, global), delta, popularity and session-kNN by the
 * accuracy each has MEASURED online, per kind of context.
 *
 * Why: no single model wins everywhere — a transition table is sharp once a context is known, kNN carries a
 * session's intent, popularity is all there is for a newcomer — and which one to trust shifts with the traffic.
 * Like a weighted-majority learner (Littlestone & Warmuth 1994) the ensemble scores each source after every
 * access: it remembers what each source predicted for the session at the previous step and updates an
 * exponentially weighted hit@`hitDepth` rate per source and per context kind (position in the session 1, 2,
 * 3+, and whether a user is known). Candidates are mixed with weights rate^`sharpness`; the user scope's weight is
 * further scaled by n / (n + `userConfidence`) with the user's observation count, so a new user leans on the
 * segment and global models. The mixed score is calibrated into a probability with per-score-bin hit counts
 * (histogram binning, Zadrozny & Elkan 2001), so `probability` estimates the chance the key is the next access.
 * Every observe computes the session's source lists and combined list once and caches them, so `predict` for a
 * live session is a slice. Cost: the sum of the sources' predict costs per access (dominated by kNN when on).
 */
import type { ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { nonNegativeNumber, positiveInt } from '../options.ts';
import { DeltaPredictor, type DeltaPredictorOptions } from './delta-predictor.ts';
import { MarkovPredictor, type MarkovPredictorOptions } from './markov-predictor.ts';
import { PopularityPredictor, type PopularityPredictorOptions } from './popularity-predictor.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';
import { SessionKnnPredictor, type SessionKnnPredictorOptions } from './session-knn-predictor.ts';
import { SessionRegistry } from './session-registry.ts';

/** Options of EnsemblePredictor. A source set to `false` is left out. */
export type EnsemblePredictorOptions = {
  /** Options of the inner MarkovPredictor (its user, segment and global scopes are three sources). */
  readonly markov?: MarkovPredictorOptions;
  /** Options of the inner DeltaPredictor, or false. @default {} */
  readonly delta?: DeltaPredictorOptions | false;
  /** Options of the inner PopularityPredictor, or false. @default {} */
  readonly popularity?: PopularityPredictorOptions | false;
  /** Options of the inner SessionKnnPredictor, or false. @default {} */
  readonly knn?: SessionKnnPredictorOptions | false;
  /** Predictions taken from each source and kept in the combined list. @default 20 */
  readonly candidates?: number;
  /** A source scores a hit when the next key is in its top `hitDepth`. @default 10 */
  readonly hitDepth?: number;
  /** Half-life of the accuracy averages, in scored steps. @default 2000 */
  readonly accuracyHalfLife?: number;
  /** Exponent applied to accuracy to form weights (higher trusts the leader more). @default 2 */
  readonly sharpness?: number;
  /** User observations at which the per-user model gets half its accuracy weight. @default 10 */
  readonly userConfidence?: number;
  /** Most live sessions whose last predictions are cached. @default 20000 */
  readonly maxSessions?: number;
  /** A session idle longer than this, in ms, is dropped. @default 1800000 */
  readonly sessionIdleMs?: number;
  /** Name reported by the ensemble. @default 'ensemble' */
  readonly name?: string;
};

type SourceFn = (ctx: ReadContext, limit: number) => Prediction[];
type Cached = { lastAt: number; position: number; lists: Prediction[][]; combined: Prediction[]; raw: number[] };

/** Context kinds: position bucket (1, 2, 3+) x user known. */
const kinds = 6;
/** Accuracy every source starts from, before any evidence (a mediocre hit rate). */
const priorAccuracy = 0.1;
/** Calibration bins over the mixed score in [0, 1]. */
const bins = 20;
/** Pseudo-observations that pull a calibration bin towards the raw score. */
const binPrior = 2;
/** Calibration counts are halved past this many observations per bin, so they follow drift. */
const binCeiling = 10_000;
const anonymousSession = '\u0000anonymous';

/** Accuracy-weighted blend of the Markov scopes, delta, popularity and session-kNN. */
export class EnsemblePredictor implements Predictor {
  readonly name: string;
  readonly #markov: MarkovPredictor;
  readonly #models: Predictor[];
  readonly #names: string[] = [];
  readonly #sources: SourceFn[] = [];
  readonly #userSource: number;
  readonly #depth: number;
  readonly #hitDepth: number;
  readonly #alpha: number;
  readonly #sharpness: number;
  readonly #c: number;
  readonly #accuracy: Float64Array;
  readonly #scored: Float64Array;
  readonly #binHits = new Float64Array(bins);
  readonly #binCount = new Float64Array(bins);
  readonly #sessions: SessionRegistry<Cached>;

  constructor(options: EnsemblePredictorOptions = {}) {
    this.name = options.name ?? 'ensemble';
    this.#depth = positiveInt('candidates', options.candidates, 20);
    this.#hitDepth = positiveInt('hitDepth', options.hitDepth, 10);
    const halfLife = nonNegativeNumber('accuracyHalfLife', options.accuracyHalfLife, 2000, true);
    if (halfLife === 0) throw new InvalidOptionError('accuracyHalfLife', 'a positive number or Infinity', 0);
    this.#alpha = 1 - Math.pow(2, -1 / halfLife);
    this.#sharpness = nonNegativeNumber('sharpness', options.sharpness, 2);
    this.#c = nonNegativeNumber('userConfidence', options.userConfidence, 10);
    const maxSessions = positiveInt('maxSessions', options.maxSessions, 20_000);
    const idleMs = nonNegativeNumber('sessionIdleMs', options.sessionIdleMs, 30 * 60_000, true);
    const markov = new MarkovPredictor({ ...options.markov, name: 'markov' });
    this.#markov = markov;
    this.#models = [markov];
    this.#userSource = this.#sources.length;
    this.#add('markov:user', (ctx, n) => markov.predictScope('user', ctx, n));
    this.#add('markov:segment', (ctx, n) => markov.predictScope('segment', ctx, n));
    this.#add('markov:global', (ctx, n) => markov.predictScope('global', ctx, n));
    for (const [name, opts, Make] of [
      ['delta', options.delta, DeltaPredictor],
      ['popularity', options.popularity, PopularityPredictor],
      ['session-knn', options.knn, SessionKnnPredictor],
    ] as const) {
      if (opts === false) continue;
      if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw new InvalidOptionError(name, 'an options object or false', opts);
      const model: Predictor = new Make({ ...(opts ?? {}), name });
      this.#models.push(model);
      this.#add(name, (ctx, n) => model.predict(ctx, n));
    }
    this.#accuracy = new Float64Array(this.#sources.length * kinds).fill(priorAccuracy);
    this.#scored = new Float64Array(this.#sources.length * kinds);
    this.#sessions = new SessionRegistry(maxSessions, idleMs, () => ({ lastAt: 0, position: 0, lists: [], combined: [], raw: [] }));
  }

  /** Names of the sources, in the order of `accuracy()`. */
  get sources(): readonly string[] {
    return this.#names;
  }

  /** States held by all inner models plus cached sessions. */
  get stateCount(): number {
    let n = this.#sessions.size;
    for (const m of this.#models) n += m.stateCount ?? 0;
    return n;
  }

  /**
   * The measured hit@hitDepth rate of each source by name: the context kinds' rates weighted by how often each
   * kind was scored (the prior while a source has never been scored).
   */
  accuracy(): Record<string, number> {
    const out: Record<string, number> = {};
    this.#names.forEach((name, j) => {
      let s = 0;
      let n = 0;
      for (let k = 0; k < kinds; k++) {
        s += this.#accuracy[j * kinds + k] * this.#scored[j * kinds + k];
        n += this.#scored[j * kinds + k];
      }
      out[name] = n === 0 ? priorAccuracy : s / n;
    });
    return out;
  }

  observe(access: Access): void {
    const ctx = access.ctx;
    const state = this.#sessions.touch(ctx.session ?? ctx.user ?? anonymousSession, access.at);
    if (state.position > 0) this.#score(state, access.key, this.#kind(state.position, ctx));
    for (const m of this.#models) m.observe(access);
    state.position++;
    const kind = this.#kind(state.position, ctx);
    state.lists = this.#sources.map((source) => source(ctx, this.#depth));
    this.#combine(state, ctx, kind);
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    if (!(limit > 0)) return [];
    const live = ctx.session ?? ctx.user ?? anonymousSession;
    let state = this.#sessions.peek(live);
    if (state === undefined) {
      state = { lastAt: 0, position: 0, lists: this.#sources.map((source) => source(ctx, this.#depth)), combined: [], raw: [] };
      this.#combine(state, ctx, this.#kind(0, ctx));
    }
    return state.combined.length <= limit ? state.combined.slice() : state.combined.slice(0, limit);
  }

  #add(name: string, fn: SourceFn): void {
    this.#names.push(name);
    this.#sources.push(fn);
  }

  #kind(position: number, ctx: ReadContext): number {
    return (Math.min(Math.max(position, 1), 3) - 1) * 2 + (ctx.user === undefined ? 0 : 1);
  }

  #score(state: Cached, key: string, kind: number): void {
    const a = this.#alpha;
    for (let j = 0; j < state.lists.length; j++) {
      const list = state.lists[j];
      if (list.length === 0) continue;
      let hit = 0;
      for (let i = 0; i < list.length && i < this.#hitDepth; i++) {
        if (list[i].key === key) {
          hit = 1;
          break;
        }
      }
      const at = j * kinds + kind;
      this.#accuracy[at] += a * (hit - this.#accuracy[at]);
      this.#scored[at]++;
    }
    for (let i = 0; i < state.combined.length && i < this.#hitDepth; i++) {
      const b = Math.min(bins - 1, Math.floor(state.raw[i] * bins));
      this.#binCount[b]++;
      if (state.combined[i].key === key) this.#binHits[b]++;
      if (this.#binCount[b] > binCeiling) {
        this.#binCount[b] /= 2;
        this.#binHits[b] /= 2;
      }
    }
  }

  #combine(state: Cached, ctx: ReadContext, kind: number): void {
    const scores = new Map<string, { score: number; best: number; source: number; etaMs?: number }>();
    let sumW = 0;
    for (let j = 0; j < state.lists.length; j++) {
      const list = state.lists[j];
      if (list.length === 0) continue;
      let w = Math.pow(this.#accuracy[j * kinds + kind], this.#sharpness);
      if (j === this.#userSource) {
        const n = this.#markov.observations('user', ctx);
        w *= n / (n + this.#c);
      }
      if (w <= 0) continue;
      sumW += w;
      for (const p of list) {
        const part = w * p.probability;
        const e = scores.get(p.key);
        if (e === undefined) scores.set(p.key, { score: part, best: part, source: j, etaMs: p.etaMs });
        else {
          e.score += part;
          if (part > e.best) {
            e.best = part;
            e.source = j;
          }
          if (e.etaMs === undefined) e.etaMs = p.etaMs;
        }
      }
    }
    if (sumW === 0) {
      state.combined = [];
      state.raw = [];
      return;
    }
    const ranked = [...scores].sort((x, y) => y[1].score - x[1].score);
    if (ranked.length > this.#depth) ranked.length = this.#depth;
    const combined: Prediction[] = [];
    const raw: number[] = [];
    let ceiling = 1;
    for (const [key, e] of ranked) {
      const r = Math.min(1, e.score / sumW);
      const b = Math.min(bins - 1, Math.floor(r * bins));
      const calibrated = Math.min(ceiling, (this.#binHits[b] + binPrior * r) / (this.#binCount[b] + binPrior));
      ceiling = calibrated;
      raw.push(r);
      const source = this.#names[e.source];
      combined.push(e.etaMs === undefined ? { key, probability: calibrated, source } : { key, probability: calibrated, etaMs: e.etaMs, source });
    }
    state.combined = combined;
    state.raw = raw;
  }
}
