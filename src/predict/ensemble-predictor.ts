/**
 * EnsemblePredictor: blends the Markov scopes (user, segment, global), delta, popularity and session-kNN with
 * mixture weights LEARNED online from how well each source predicted, per kind of context.
 *
 * Why: no single model wins everywhere — a transition table is sharp once a context is known, kNN carries a
 * session's intent, popularity is all there is for a newcomer, delta is the only one that names a block never
 * read before — and which one to trust shifts with the traffic. The ensemble is a mixture of experts whose
 * weights follow the online EM update for mixture weights (the responsibility rule of a Bayesian / PPM-style
 * mixture, cf. Littlestone & Warmuth 1994 for the weighted-majority family): when the next key arrives, each
 * source that offered a list gets responsibility w_j p_j(key) / sum_i w_i p_i(key) and its weight moves towards
 * it (exponential average, `accuracyHalfLife`). A source that adds only diluted guesses next to a sharper one
 * loses its weight, so the mixture converges on the accurate source of each context kind: position in the
 * session (1, 2, 3+) x user known, plus one kind for anonymous reads (no session, no user: object and block
 * traces where the model learns the global stream). The user scope's weight is further scaled by
 * n / (n + `userConfidence`). The hit@`hitDepth` rate of every source is tracked beside it for `accuracy()`.
 * The mixed probability is calibrated with per-score-bin hit counts (histogram binning, Zadrozny & Elkan 2001),
 * so `probability` estimates the chance the key is the next access.
 * Cost: predict builds the source lists once per session step (id-level, sharing one KeyInterner, no objects
 * but the answer) and keeps them; the session's next observe scores those kept lists, so scoring costs no extra
 * prediction. Observes of sessions nobody asked a prediction for are scored on a sample (1 in `sampleEvery`).
 */
import type { ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { nonNegativeNumber, positiveInt } from '../options.ts';
import { DeltaPredictor, type DeltaPredictorOptions } from './delta-predictor.ts';
import { MarkovPredictor, type MarkovPredictorOptions } from './markov-predictor.ts';
import { PopularityPredictor, type PopularityPredictorOptions } from './popularity-predictor.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';
import { SessionKnnPredictor, type SessionKnnPredictorOptions } from './session-knn-predictor.ts';
import { CandidateSet } from './candidate-set.ts';
import { KeyInterner } from './key-interner.ts';
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
  /** Exponent applied to the learned mixture weights (1 = the likelihood mixture; higher trusts the leader more). @default 1 */
  readonly sharpness?: number;
  /** User observations at which the per-user model gets half its accuracy weight. @default 10 */
  readonly userConfidence?: number;
  /** Observes without kept lists (nobody asked a prediction) scored: 1 in this many. @default 8 */
  readonly sampleEvery?: number;
  /** Most live sessions whose last predictions are cached. @default 20000 */
  readonly maxSessions?: number;
  /** A session idle longer than this, in ms, is dropped. @default 1800000 */
  readonly sessionIdleMs?: number;
  /** Name reported by the ensemble. @default 'ensemble' */
  readonly name?: string;
};

type Live = {
  lastAt: number;
  /** Accesses observed in this session. */
  position: number;
  /** Position at which `ids` / `probs` / `lens` were filled, or -1. */
  listsAt: number;
  /** Position at which `combined` / `raw` were computed, or -1. */
  combinedAt: number;
  /** Kept source lists: source j's top hitDepth ids at [j * hitDepth, ...), -1 for a delta key never seen. */
  ids: Int32Array | undefined;
  probs: Float64Array | undefined;
  lens: Uint8Array | undefined;
  /** Delta's kept keys (strings: delta names keys nobody has read yet). */
  deltaKeys: string[];
  /** The mixed list: `cn` entries of key id (-1: the key is in `ckeys`), raw score, probability, ETA (NaN: none), source. */
  cn: number;
  cids: Int32Array | undefined;
  raw: Float64Array | undefined;
  cprob: Float64Array | undefined;
  ceta: Float64Array | undefined;
  csrc: Int32Array | undefined;
  ckeys: string[];
};
type SourceKind = 'markov:user' | 'markov:segment' | 'markov:global' | 'delta' | 'popularity' | 'session-knn';

/** Context kinds: position bucket (1, 2, 3+) x user known, plus anonymous reads (no session, no user). */
const kinds = 7;
const anonymousKind = 6;
/** Hit rate every source starts from, before any evidence (a mediocre hit rate; reported by `accuracy()`). */
const priorAccuracy = 0.1;
/** Mixture weights never fall below this share of the active sources' total, so a source can win back trust. */
const weightFloor = 1e-3;
/**
 * Calibration bins over the mixed score in [0, 1], kept per leading source (the source that contributed most to
 * a candidate), so a sharp source outvoted in the mixture (delta's next block under a busy Markov table) is
 * calibrated on its own record instead of sharing a low bin with every weak guess. Measured with
 * bench/tune-prescient.ts against one shared set of bins: OLTP (ARC) hit 56.0% vs 53.2%, cache2k orm-busy 76.6%
 * vs 77.2%; half-octave bins helped OLTP further (58.1%) but cost orm-busy 4 points.
 */
const bins = 20;
/** Pseudo-observations that pull a calibration bin towards the raw score. */
const binPrior = 2;
/** Calibration counts are halved past this many observations per bin, so they follow drift. */
const binCeiling = 10_000;
const anonymousSession = '\u0000anonymous';

/** Mixture of the Markov scopes, delta, popularity and session-kNN with online-learned weights per context kind. */
export class EnsemblePredictor implements Predictor {
  readonly name: string;
  readonly #keys = new KeyInterner();
  readonly #markov: MarkovPredictor;
  readonly #delta: DeltaPredictor | undefined;
  readonly #popularity: PopularityPredictor | undefined;
  readonly #knn: SessionKnnPredictor | undefined;
  readonly #models: Predictor[];
  readonly #names: string[] = [];
  readonly #kindOf: SourceKind[] = [];
  readonly #userSource = 0;
  readonly #deltaSource: number;
  readonly #depth: number;
  readonly #hitDepth: number;
  /** Delta's list length: its keys are fresh strings to look up, and past hitDepth its guesses are far-fetched. */
  readonly #deltaDepth: number;
  readonly #alpha: number;
  readonly #sharpness: number;
  readonly #c: number;
  readonly #sampleEvery: number;
  readonly #accuracy: Float64Array;
  readonly #scored: Float64Array;
  readonly #weight: Float64Array;
  /** Weight updates made per context kind. */
  readonly #updates = new Float64Array(kinds);
  readonly #binHits: Float64Array;
  readonly #binCount: Float64Array;
  readonly #order: Int32Array;
  readonly #tmp: Float64Array;
  readonly #sessions: SessionRegistry<Live>;
  #unscored = 0;
  // Scratch of one gather + combine (reused; nothing here outlives a call).
  readonly #lid: Int32Array;
  readonly #lp: Float64Array;
  readonly #llen: Int32Array;
  readonly #views: { ids: Int32Array; probs: Float64Array }[] = [];
  #deltaList: Prediction[] = [];
  readonly #mix = new CandidateSet();
  readonly #best: Float64Array;
  readonly #src: Int32Array;
  readonly #eta: Float64Array;
  readonly #rankIds: Int32Array;
  readonly #rankScores: Float64Array;
  readonly #pj: Float64Array;
  /** Holds the mixed list for a context with no live session. */
  readonly #temp: Live;

  constructor(options: EnsemblePredictorOptions = {}) {
    this.name = options.name ?? 'ensemble';
    this.#depth = positiveInt('candidates', options.candidates, 20);
    this.#hitDepth = positiveInt('hitDepth', options.hitDepth, 10);
    if (this.#hitDepth > 255) throw new InvalidOptionError('hitDepth', 'an integer from 1 to 255', this.#hitDepth);
    this.#deltaDepth = Math.min(this.#depth, this.#hitDepth);
    const halfLife = nonNegativeNumber('accuracyHalfLife', options.accuracyHalfLife, 2000, true);
    if (halfLife === 0) throw new InvalidOptionError('accuracyHalfLife', 'a positive number or Infinity', 0);
    this.#alpha = 1 - Math.pow(2, -1 / halfLife);
    this.#sharpness = nonNegativeNumber('sharpness', options.sharpness, 1);
    this.#c = nonNegativeNumber('userConfidence', options.userConfidence, 10);
    this.#sampleEvery = positiveInt('sampleEvery', options.sampleEvery, 8);
    const maxSessions = positiveInt('maxSessions', options.maxSessions, 20_000);
    const idleMs = nonNegativeNumber('sessionIdleMs', options.sessionIdleMs, 30 * 60_000, true);
    const keys = this.#keys;
    const markov = new MarkovPredictor({ ...options.markov, name: 'markov', keys });
    this.#markov = markov;
    this.#models = [markov];
    for (const k of ['markov:user', 'markov:segment', 'markov:global'] as const) this.#add(k);
    const checked = (name: string, opts: unknown): object | undefined => {
      if (opts === false) return undefined;
      if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw new InvalidOptionError(name, 'an options object or false', opts);
      return opts ?? {};
    };
    const d = checked('delta', options.delta);
    const p = checked('popularity', options.popularity);
    const k = checked('knn', options.knn);
    this.#delta = d === undefined ? undefined : new DeltaPredictor({ ...d, name: 'delta' });
    this.#popularity = p === undefined ? undefined : new PopularityPredictor({ ...p, name: 'popularity', keys });
    this.#knn = k === undefined ? undefined : new SessionKnnPredictor({ ...k, name: 'session-knn', keys });
    this.#deltaSource = this.#delta === undefined ? -1 : this.#names.length;
    if (this.#delta !== undefined) this.#add('delta', this.#delta);
    if (this.#popularity !== undefined) this.#add('popularity', this.#popularity);
    if (this.#knn !== undefined) this.#add('session-knn', this.#knn);
    const n = this.#names.length;
    const depth = this.#depth;
    this.#accuracy = new Float64Array(n * kinds).fill(priorAccuracy);
    this.#scored = new Float64Array(n * kinds);
    this.#weight = new Float64Array(n * kinds).fill(1 / n);
    this.#lid = new Int32Array(n * depth);
    this.#lp = new Float64Array(n * depth);
    this.#llen = new Int32Array(n);
    for (let j = 0; j < n; j++) this.#views.push({ ids: this.#lid.subarray(j * depth, (j + 1) * depth), probs: this.#lp.subarray(j * depth, (j + 1) * depth) });
    this.#best = new Float64Array(n * depth);
    this.#src = new Int32Array(n * depth);
    this.#eta = new Float64Array(n * depth);
    this.#rankIds = new Int32Array(depth);
    this.#rankScores = new Float64Array(depth);
    this.#pj = new Float64Array(n);
    this.#binHits = new Float64Array(n * bins);
    this.#binCount = new Float64Array(n * bins);
    this.#order = new Int32Array(depth);
    this.#tmp = new Float64Array(depth * 5);
    this.#sessions = new SessionRegistry(maxSessions, idleMs, () => ({
      lastAt: 0, position: 0, listsAt: -1, combinedAt: -1, ids: undefined, probs: undefined, lens: undefined, deltaKeys: [], cn: 0, cids: undefined, raw: undefined, cprob: undefined, ceta: undefined, csrc: undefined, ckeys: [],
    }));
    this.#temp = this.#newLive();
    this.#buffers(this.#temp);
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
    return this.#byName(this.#accuracy, priorAccuracy);
  }

  /**
   * The learned mixture weight of each source by name, as a share of the weights of the sources scored in the
   * same context kind, averaged over kinds by how often the source was scored there (0 while never scored).
   */
  weights(): Record<string, number> {
    const n = this.#names.length;
    const share = new Float64Array(n * kinds);
    for (let k = 0; k < kinds; k++) {
      let total = 0;
      for (let j = 0; j < n; j++) if (this.#scored[j * kinds + k] > 0) total += this.#weight[j * kinds + k];
      for (let j = 0; j < n; j++) if (this.#scored[j * kinds + k] > 0) share[j * kinds + k] = this.#weight[j * kinds + k] / total;
    }
    return this.#byName(share, 0);
  }

  observe(access: Access): void {
    const ctx = access.ctx;
    const state = this.#sessions.touch(ctx.session ?? ctx.user ?? anonymousSession, access.at);
    if (state.position > 0) {
      const kind = this.#kind(state.position, ctx);
      if (state.listsAt === state.position) this.#score(state, access.key, kind);
      else if (++this.#unscored >= this.#sampleEvery) {
        this.#unscored = 0;
        this.#gather(ctx);
        this.#keep(state);
        this.#score(state, access.key, kind);
      }
    }
    for (const m of this.#models) m.observe(access);
    state.position++;
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    if (!(limit > 0)) return [];
    const state = this.#sessions.peek(ctx.session ?? ctx.user ?? anonymousSession);
    if (state === undefined || state.position === 0) {
      this.#gather(ctx);
      this.#combine(ctx, this.#kind(0, ctx), this.#temp);
      return this.#answer(this.#temp, limit);
    }
    if (state.combinedAt !== state.position) {
      this.#gather(ctx);
      this.#keep(state);
      this.#combine(ctx, this.#kind(state.position, ctx), state);
      state.combinedAt = state.position;
    }
    return this.#answer(state, limit);
  }

  #answer(state: Live, limit: number): Prediction[] {
    const n = Math.min(limit, state.cn);
    const out: Prediction[] = new Array(n);
    const cids = state.cids!;
    const cprob = state.cprob!;
    const ceta = state.ceta!;
    const csrc = state.csrc!;
    for (let r = 0; r < n; r++) {
      const key = cids[r] >= 0 ? this.#keys.key(cids[r]) : state.ckeys[r];
      const source = this.#names[csrc[r]];
      const eta = ceta[r];
      out[r] = Number.isNaN(eta) ? { key, probability: cprob[r], source } : { key, probability: cprob[r], etaMs: eta, source };
    }
    return out;
  }

  #newLive(): Live {
    return { lastAt: 0, position: 0, listsAt: -1, combinedAt: -1, ids: undefined, probs: undefined, lens: undefined, deltaKeys: [], cn: 0, cids: undefined, raw: undefined, cprob: undefined, ceta: undefined, csrc: undefined, ckeys: [] };
  }

  /** One buffer per session (allocating typed arrays is costly): the kept lists and the mixed list. */
  #buffers(state: Live): void {
    const n = this.#names.length;
    const h = this.#hitDepth;
    const d = this.#depth;
    const buf = new ArrayBuffer(n * h * 12 + d * 32 + n);
    let at = 0;
    state.probs = new Float64Array(buf, at, n * h);
    at += n * h * 8;
    state.raw = new Float64Array(buf, at, d);
    at += d * 8;
    state.cprob = new Float64Array(buf, at, d);
    at += d * 8;
    state.ceta = new Float64Array(buf, at, d);
    at += d * 8;
    state.ids = new Int32Array(buf, at, n * h);
    at += n * h * 4;
    state.cids = new Int32Array(buf, at, d);
    at += d * 4;
    state.csrc = new Int32Array(buf, at, d);
    at += d * 4;
    state.lens = new Uint8Array(buf, at, n);
  }

  #add(name: SourceKind, model?: Predictor): void {
    this.#names.push(name);
    this.#kindOf.push(name);
    if (model !== undefined) this.#models.push(model);
  }

  #byName(values: Float64Array, prior: number): Record<string, number> {
    const out: Record<string, number> = {};
    this.#names.forEach((name, j) => {
      let s = 0;
      let n = 0;
      for (let k = 0; k < kinds; k++) {
        s += values[j * kinds + k] * this.#scored[j * kinds + k];
        n += this.#scored[j * kinds + k];
      }
      out[name] = n === 0 ? prior : s / n;
    });
    return out;
  }

  #kind(position: number, ctx: ReadContext): number {
    if (ctx.session === undefined && ctx.user === undefined) return anonymousKind;
    return (Math.min(Math.max(position, 1), 3) - 1) * 2 + (ctx.user === undefined ? 0 : 1);
  }

  /** Fills the scratch lists of every source for `ctx` (ids of the shared interner; -(r+1) for delta's r-th key when never seen). */
  #gather(ctx: ReadContext): void {
    const depth = this.#depth;
    for (let j = 0; j < this.#names.length; j++) {
      const v = this.#views[j];
      let n = 0;
      switch (this.#kindOf[j]) {
        case 'markov:user':
          n = this.#markov.predictScopeIds('user', ctx, depth, v.ids, v.probs);
          break;
        case 'markov:segment':
          n = this.#markov.predictScopeIds('segment', ctx, depth, v.ids, v.probs);
          break;
        case 'markov:global':
          n = this.#markov.predictScopeIds('global', ctx, depth, v.ids, v.probs);
          break;
        case 'delta': {
          const list = this.#delta!.predict(ctx, this.#deltaDepth);
          this.#deltaList = list;
          n = list.length;
          for (let r = 0; r < n; r++) {
            const id = this.#keys.peek(list[r].key);
            v.ids[r] = id >= 0 ? id : -(r + 1);
            v.probs[r] = list[r].probability;
          }
          break;
        }
        case 'popularity': {
          const t = this.#popularity!.rankedIds(ctx);
          n = Math.min(depth, t.n);
          v.ids.set(t.ids.subarray(0, n));
          v.probs.set(t.scores.subarray(0, n));
          break;
        }
        case 'session-knn': {
          const knn = this.#knn!;
          n = knn.predictIds(ctx, depth);
          v.ids.set(knn.topIds.subarray(0, n));
          v.probs.set(knn.topScores.subarray(0, n));
          break;
        }
      }
      this.#llen[j] = n;
    }
  }

  /** Keeps the top hitDepth of each scratch list in the session, to be scored on its next observe. */
  #keep(state: Live): void {
    const h = this.#hitDepth;
    const n = this.#names.length;
    if (state.ids === undefined) this.#buffers(state);
    const ids = state.ids!;
    const probs = state.probs!;
    for (let j = 0; j < n; j++) {
      const len = Math.min(h, this.#llen[j]);
      state.lens![j] = len;
      const from = j * this.#depth;
      for (let r = 0; r < len; r++) {
        ids[j * h + r] = this.#lid[from + r];
        probs[j * h + r] = this.#lp[from + r];
      }
      if (j === this.#deltaSource) for (let r = 0; r < len; r++) state.deltaKeys[r] = this.#deltaList[r].key;
    }
    state.listsAt = state.position;
  }

  #score(state: Live, key: string, kind: number): void {
    const ids = state.ids!;
    const probs = state.probs!;
    const lens = state.lens!;
    const h = this.#hitDepth;
    const id = this.#keys.peek(key);
    const a = this.#alpha;
    const pj = this.#pj;
    let mixed = 0;
    let active = 0;
    for (let j = 0; j < lens.length; j++) {
      const len = lens[j];
      pj[j] = -1;
      if (len === 0) continue;
      let p = 0;
      if (j === this.#deltaSource) {
        for (let r = 0; r < len; r++) {
          if (state.deltaKeys[r] === key) {
            p = probs[j * h + r];
            break;
          }
        }
      } else if (id >= 0) {
        for (let r = 0; r < len; r++) {
          if (ids[j * h + r] === id) {
            p = probs[j * h + r];
            break;
          }
        }
      }
      const at = j * kinds + kind;
      this.#accuracy[at] += a * ((p > 0 ? 1 : 0) - this.#accuracy[at]);
      this.#scored[at]++;
      pj[j] = p;
      mixed += this.#weight[at] * p;
      active += this.#weight[at];
    }
    if (mixed > 0) {
      // A running mean at first (step 1 / (t + 2)), the exponential average once it is the smaller step.
      const t = this.#updates[kind]++;
      const step = Math.max(a, 1 / (t + 2));
      for (let j = 0; j < lens.length; j++) {
        if (pj[j] < 0) continue;
        const at = j * kinds + kind;
        const w = this.#weight[at];
        const next = w + step * ((w * pj[j] * active) / mixed - w);
        this.#weight[at] = Math.max(next, weightFloor * active);
      }
    }
    if (state.combinedAt === state.position) {
      const raw = state.raw!;
      const cids = state.cids!;
      for (let i = 0; i < state.cn && i < h; i++) {
        const b = bin(raw[i], state.csrc![i]);
        this.#binCount[b]++;
        if (cids[i] >= 0 ? cids[i] === id : state.ckeys[i] === key) this.#binHits[b]++;
        if (this.#binCount[b] > binCeiling) {
          this.#binCount[b] /= 2;
          this.#binHits[b] /= 2;
        }
      }
    }
  }

  /** Mixes the scratch lists with the weights of `kind` into calibrated predictions; raw scores go to `state`. */
  #combine(ctx: ReadContext, kind: number, state: Live): void {
    const mix = this.#mix;
    mix.clear();
    const depth = this.#depth;
    const synthetic = this.#keys.size;
    const best = this.#best;
    const src = this.#src;
    const eta = this.#eta;
    let sumW = 0;
    for (let j = 0; j < this.#names.length; j++) {
      const len = this.#llen[j];
      if (len === 0) continue;
      let w = this.#weight[j * kinds + kind];
      if (this.#sharpness !== 1) w = Math.pow(w, this.#sharpness);
      if (j === this.#userSource) {
        const n = this.#markov.observations('user', ctx);
        w *= n / (n + this.#c);
      }
      if (!(w > 0)) continue;
      sumW += w;
      const isDelta = j === this.#deltaSource;
      for (let r = 0; r < len; r++) {
        const raw = this.#lid[j * depth + r];
        const id = raw >= 0 ? raw : synthetic - raw - 1;
        const part = w * this.#lp[j * depth + r];
        const known = mix.indexOf(id);
        if (known < 0) {
          const i = mix.add(id, part);
          best[i] = part;
          src[i] = j;
          eta[i] = isDelta ? (this.#deltaList[r].etaMs ?? Number.NaN) : Number.NaN;
        } else {
          mix.scores[known] += part;
          if (part > best[known]) {
            best[known] = part;
            src[known] = j;
          }
          if (isDelta && Number.isNaN(eta[known])) eta[known] = this.#deltaList[r].etaMs ?? Number.NaN;
        }
      }
    }
    state.cn = 0;
    if (sumW === 0) return;
    const n = mix.topInto(depth, this.#rankIds, this.#rankScores);
    // Calibrate each entry on its leading source's bins, then order by calibrated probability (stable).
    const tmp = this.#tmp;
    const order = this.#order;
    for (let r = 0; r < n; r++) {
      const i = mix.indexOf(this.#rankIds[r]);
      const score = Math.min(1, this.#rankScores[r] / sumW);
      const b = bin(score, src[i]);
      const calibrated = Math.min(1, (this.#binHits[b] + binPrior * score) / (this.#binCount[b] + binPrior));
      tmp[r] = score;
      tmp[depth + r] = calibrated;
      tmp[2 * depth + r] = eta[i];
      tmp[3 * depth + r] = src[i];
      let at = r;
      while (at > 0 && tmp[depth + order[at - 1]] < calibrated) {
        order[at] = order[at - 1];
        at--;
      }
      order[at] = r;
    }
    for (let r = 0; r < n; r++) {
      const o = order[r];
      const id = this.#rankIds[o];
      state.raw![r] = tmp[o];
      state.cprob![r] = tmp[depth + o];
      state.ceta![r] = tmp[2 * depth + o];
      state.csrc![r] = tmp[3 * depth + o];
      if (id < synthetic) state.cids![r] = id;
      else {
        state.cids![r] = -1;
        state.ckeys[r] = this.#deltaList[id - synthetic].key;
      }
    }
    state.cn = n;
  }
}

/** The calibration bin of a mixed score led by source `source`. */
function bin(score: number, source: number): number {
  return source * bins + Math.min(bins - 1, Math.floor(score * bins));
}
