/**
 * EnsemblePredictor: blends the Markov scopes (user, segment, global), delta, popularity, session-kNN and (opt-in)
 * sequential rules with mixture weights LEARNED online from how well each source predicted, per kind of context.
 *
 * Why: no single model wins everywhere — a transition table is sharp once a context is known, kNN carries a
 * session's intent, sequential rules what follows a key a few steps later, popularity is all there is for a
 * newcomer, delta is the only one that names a block never read before — and which one to trust shifts with the
 * traffic. The ensemble is a mixture of experts: when the next key arrives, the lists the sources gave are scored and the weights of that context kind take an online
 * EM step (MixtureWeights); the lists are merged by a weighted sum (ListMixer) and calibrated per leading source
 * (ProbabilityCalibrator), so `probability` estimates the chance the key is the next access. Context kinds:
 * position in the session (1, 2, 3+) x user known, plus one kind for anonymous reads (no session, no user:
 * object and block traces where the model learns the global stream). The user scope's weight is further scaled
 * by n / (n + `userConfidence`). The hit@`hitDepth` rate of every source is tracked beside it for `accuracy()`.
 * Cost: predict asks each source for a list once per session step, only as deep as the answer needs
 * (max(hitDepth, 2 x limit), at most `candidates`), on dense key ids sharing one KeyInterner; delta's computed
 * keys become strings only when returned (lists cut to 2 x limit measured better at predictLimit 8 while popularity
 * still answered anonymous reads: OLTP (ARC) hit 57.1% vs 52.1% at a fixed 20; without it, the cache's default
 * predictLimit of 20 asks for the whole list and costs OLTP nothing). The session
 * keeps those lists in a reused buffer (KeptListPool); its next observe scores them, so scoring costs no extra
 * prediction. Observes of sessions nobody asked a prediction for are scored on a sample
 * (1 in `sampleEvery`). A source whose learned weight share in the context kind is under `muteShare` is not
 * asked, except on 1 in `sampleEvery` predictions, where every source is asked and scored so it can win back
 * (popularity is always asked: it costs a copy and fills out lists the context models leave short), except for
 * anonymous reads unless `anonymousPopularity` (there it names keys the cache holds already).
 */
import { anonymousLiveKey, liveKey, isAnonymous, type ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { bool, nameOption, nonNegativeNumber, numberInRange, optionsObject, positiveInt } from '../options.ts';
import type { EnsemblePredictorOptions } from './ensemble-options.ts';
import { EnsembleSources, type SourceName } from './ensemble-sources.ts';
import { type KeptLists, KeptListPool, namesReusedId, scoreAfterReuse } from './kept-lists.ts';
import { canonicalInteger } from './key-interner.ts';
import { ListMixer } from './list-mixer.ts';
import { MixtureWeights } from './mixture-weights.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';
import { ProbabilityCalibrator } from './probability-calibrator.ts';
import { HorizonScores } from './horizon-scores.ts';
import { SessionRegistry } from './session-registry.ts';

export type { EnsemblePredictorOptions } from './ensemble-options.ts';

/** A live session: its position and, while it owns one, its kept lists. */
type Live = {
  /** Accesses observed in this session. */
  position: number;
  /** Position at which `kept`'s source lists were filled, or -1. */
  listsAt: number;
  /** The interner's `reused` count when they were filled (their ids are of that moment: see `#score`). */
  listsReused: number;
  /** Position at which `kept.mixed` was computed, or -1, and the depth it was computed to. */
  combinedAt: number;
  combinedDepth: number;
  /**
   * The interner's `reused` count when `kept.mixed` was computed: the mixed list holds key ids, and an id given to
   * another key since (other sessions' reads past `maxKeys`) would name a key no source offered.
   */
  combinedReused: number;
  kept: KeptLists | undefined;
};

/** Context kinds: position bucket (1, 2, 3+) x user known, plus anonymous reads (no session, no user). */
const kinds = 7;
const anonymousKind = 6;
/** Kept-list buffers in the ring (about 2 KB each): a session keeps its buffer while 1024 others take one. */
const keptBuffers = 1024;
/** Entries of the memo of computed keys' strings (a power of two; a few predictions' worth). */
const keyMemoSize = 256;
/** Mixture of the Markov scopes, delta, popularity, session-kNN (and sequential rules) with weights learned per context kind. */
export class EnsemblePredictor implements Predictor {
  readonly name: string;
  readonly #sources: EnsembleSources;
  readonly #names: readonly SourceName[];
  /** Index of the per-user Markov scope, whose weight is scaled by the user's observations. */
  readonly #userSource = 0;
  readonly #depth: number;
  readonly #hitDepth: number;
  readonly #sharpness: number;
  readonly #c: number;
  readonly #sampleEvery: number;
  readonly #muteShare: number;
  /** Index of the popularity source when it is left out of anonymous reads, else -1. */
  readonly #anonymousMute: number;
  readonly #weights: MixtureWeights;
  readonly #calibrator: ProbabilityCalibrator;
  /** Calibration over the horizon for the anonymous stream (undefined: next-access rule). */
  readonly #horizon: HorizonScores | undefined;
  readonly #mixer: ListMixer;
  readonly #sessions: SessionRegistry<Live>;
  readonly #pool: KeptListPool;
  #unscored = 0;
  #gathers = 0;
  // Scratch of one gather + mix (reused; nothing here outlives a call).
  /** Which sources a gather asks (1) or leaves out (0). */
  readonly #asked: Uint8Array;
  readonly #w: Float64Array;
  readonly #pj: Float64Array;
  /** Holds the mixed list for a context with no live session. */
  readonly #temp: Live;
  /** Strings of delta's computed keys never interned, by value (`#numberKey`); NaN marks an unused entry. */
  readonly #keyMemoValue = new Float64Array(keyMemoSize).fill(Number.NaN);
  readonly #keyMemo: string[] = new Array<string>(keyMemoSize).fill('');

  constructor(options: EnsemblePredictorOptions = {}) {
    optionsObject(options);
    this.name = nameOption('name', options.name, 'ensemble');
    this.#depth = positiveInt('candidates', options.candidates, 20, 10_000);
    this.#hitDepth = positiveInt('hitDepth', options.hitDepth, Math.min(10, this.#depth));
    if (this.#hitDepth > Math.min(255, this.#depth)) throw new InvalidOptionError('hitDepth', `an integer from 1 to min(255, candidates = ${this.#depth})`, this.#hitDepth);
    const halfLife = nonNegativeNumber('accuracyHalfLife', options.accuracyHalfLife, 2000, true);
    if (halfLife === 0) throw new InvalidOptionError('accuracyHalfLife', 'a positive number or Infinity', 0);
    this.#sharpness = nonNegativeNumber('sharpness', options.sharpness, 1);
    this.#c = nonNegativeNumber('userConfidence', options.userConfidence, 10);
    this.#sampleEvery = positiveInt('sampleEvery', options.sampleEvery, 8);
    this.#muteShare = numberInRange('muteShare', options.muteShare, 0, 0.999, 0.01);
    const maxSessions = positiveInt('maxSessions', options.maxSessions, 20_000, 100_000_000);
    const idleMs = nonNegativeNumber('sessionIdleMs', options.sessionIdleMs, 30 * 60_000, true);
    const sources = new EnsembleSources(options, this.#depth);
    this.#sources = sources;
    this.#names = sources.names;
    this.#anonymousMute = bool('anonymousPopularity', options.anonymousPopularity, false) ? -1 : sources.popularitySource;
    const n = this.#names.length;
    const depth = this.#depth;
    this.#weights = new MixtureWeights({ sources: n, kinds, halfLife });
    this.#calibrator = new ProbabilityCalibrator({ groups: n });
    const horizon = positiveInt('anonymousHorizon', options.anonymousHorizon, 3, 64);
    this.#horizon = horizon > 1 && sources.deltaSource >= 0 ? new HorizonScores(horizon, this.#hitDepth, sources.deltaSource, sources.keys) : undefined;
    this.#mixer = new ListMixer(n, depth);
    this.#asked = new Uint8Array(n);
    this.#w = new Float64Array(n);
    this.#pj = new Float64Array(n);
    this.#pool = new KeptListPool(n, this.#hitDepth, depth, keptBuffers);
    this.#sessions = new SessionRegistry(maxSessions, idleMs, () => ({ position: 0, listsAt: -1, listsReused: 0, combinedAt: -1, combinedDepth: 0, combinedReused: 0, kept: undefined }));
    this.#temp = { position: 0, listsAt: -1, listsReused: 0, combinedAt: -1, combinedDepth: 0, combinedReused: 0, kept: this.#pool.create() };
  }

  /** Names of the sources, in the order of `accuracy()`. */
  get sources(): readonly string[] {
    return this.#names;
  }

  /** States held by all inner models plus cached sessions. */
  get stateCount(): number {
    return this.#sessions.size + this.#sources.stateCount;
  }

  /** Distinct keys the models know by id (at most `maxKeys`). */
  get keyCount(): number {
    return this.#sources.keys.size;
  }

  /**
   * The measured hit@hitDepth rate of each source by name: the context kinds' rates weighted by how often each
   * kind was scored (the prior while a source has never been scored).
   */
  accuracy(): Record<string, number> {
    return this.#byName(this.#weights.hitRates());
  }

  /**
   * The learned mixture weight of each source by name, as a share of the weights of the sources scored in the
   * same context kind, averaged over kinds by how often the source was scored there (0 while never scored).
   */
  weights(): Record<string, number> {
    return this.#byName(this.#weights.shares());
  }

  observe(access: Access): void {
    const ctx = access.ctx;
    const state = this.#sessions.touch(liveKey(ctx) ?? anonymousLiveKey, access.at);
    if (this.#horizon !== undefined && isAnonymous(ctx)) {
      this.#horizon.observe(state.position, this.#sources.keys.id(access.key), canonicalInteger(access.key), this.#calibrator);
    }
    if (state.position > 0) {
      const kind = this.#kind(state.position, ctx);
      if (state.listsAt === state.position && state.kept !== undefined) this.#score(state, access.key, kind);
      else if (++this.#unscored >= this.#sampleEvery) {
        this.#unscored = 0;
        this.#gather(ctx, kind, this.#hitDepth, true);
        this.#keep(state);
        this.#score(state, access.key, kind);
      }
    }
    this.#sources.observe(access);
    state.position++;
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    if (!(limit > 0)) return [];
    const depth = Math.min(this.#depth, Math.max(this.#hitDepth, 2 * Math.ceil(limit)));
    const full = ++this.#gathers >= this.#sampleEvery;
    if (full) this.#gathers = 0;
    const state = this.#sessions.peek(liveKey(ctx) ?? anonymousLiveKey);
    if (state === undefined || state.position === 0) {
      const kind = this.#kind(0, ctx);
      this.#gather(ctx, kind, depth, full);
      this.#mix(ctx, kind, depth, this.#temp);
      return this.#answer(this.#temp, limit);
    }
    const reused = this.#sources.keys.reused;
    if (state.kept === undefined || state.combinedAt !== state.position || state.combinedDepth < depth || state.combinedReused !== reused) {
      const kind = this.#kind(state.position, ctx);
      this.#gather(ctx, kind, depth, full);
      this.#keep(state);
      this.#mix(ctx, kind, depth, state);
      state.combinedAt = state.position;
      state.combinedDepth = depth;
      state.combinedReused = reused;
      if (kind === anonymousKind && this.#horizon !== undefined) this.#horizon.push(state.position, state.kept!.mixed, state.kept!.cvals, this.#calibrator);
    }
    return this.#answer(state, limit);
  }

  #answer(state: Live, limit: number): Prediction[] {
    const kept = state.kept!;
    const mixed = kept.mixed;
    const n = Math.min(Math.floor(limit), mixed.n);
    const out: Prediction[] = new Array(n);
    for (let r = 0; r < n; r++) {
      const id = mixed.ids[r];
      const key = id >= 0 ? this.#sources.keys.key(id) : this.#numberKey(kept.cvals[r]);
      const source = this.#names[mixed.source[r]];
      const eta = mixed.eta[r];
      const probability = mixed.probability[r];
      out[r] = Number.isNaN(eta) ? { key, probability, source } : { key, probability, etaMs: eta, source };
    }
    return out;
  }

  /** `String(value)`, from a direct-mapped memo: a scan's next blocks are offered again on its next accesses. */
  #numberKey(value: number): string {
    const m = value & (keyMemoSize - 1);
    if (this.#keyMemoValue[m] === value) return this.#keyMemo[m];
    const key = String(value);
    this.#keyMemoValue[m] = value;
    this.#keyMemo[m] = key;
    return key;
  }

  #byName(values: Float64Array): Record<string, number> {
    const out: Record<string, number> = {};
    this.#names.forEach((name, j) => (out[name] = values[j]));
    return out;
  }

  #kind(position: number, ctx: ReadContext): number {
    if (isAnonymous(ctx)) return anonymousKind;
    return (Math.min(Math.max(position, 1), 3) - 1) * 2 + (ctx.user === undefined ? 0 : 1);
  }

  /**
   * Fills the sources' scratch lists for `ctx`, each up to `depth` (delta's up to hitDepth: past it its guesses
   * are far-fetched). Unless `full`, a source muted in `kind` is not asked (popularity always is: it costs a copy
   * and fills out the lists the context models leave short), and popularity is never asked for anonymous reads
   * unless `anonymousPopularity`.
   */
  #gather(ctx: ReadContext, kind: number, depth: number, full: boolean): void {
    const asked = this.#asked;
    if (full) asked.fill(1);
    else this.#weights.unmutedInto(kind, this.#muteShare, asked);
    if (this.#sources.popularitySource >= 0) asked[this.#sources.popularitySource] = 1;
    if (kind === anonymousKind && this.#anonymousMute >= 0) asked[this.#anonymousMute] = 0;
    this.#sources.gather(ctx, depth, this.#hitDepth, asked);
  }

  /**
   * Keeps the top hitDepth of each scratch list in the session, to be scored on its next observe. A buffer newly
   * claimed holds another session's mixed list (the ring reuses buffers): `combinedAt` is reset so that `#score`
   * does not calibrate against it.
   */
  #keep(state: Live): void {
    const h = this.#hitDepth;
    const had = state.kept;
    const kept = this.#pool.claim(state);
    if (kept !== had) state.combinedAt = -1;
    const { ids, probs, lens } = kept;
    const sources = this.#sources;
    const { ids: listIds, probs: listProbs, lens: listLens, stride } = sources.lists;
    const synthetic = sources.keys.size;
    for (let j = 0; j < lens.length; j++) {
      const len = Math.min(h, listLens[j]);
      lens[j] = len;
      const from = j * stride;
      const to = j * h;
      for (let r = 0; r < len; r++) {
        const id = listIds[from + r];
        ids[to + r] = id < synthetic ? id : -1;
        probs[to + r] = listProbs[from + r];
      }
      if (j === sources.deltaSource) for (let r = 0; r < len; r++) kept.dvals[r] = sources.deltaValues[r];
    }
    state.listsAt = state.position;
    state.listsReused = sources.keys.reused;
  }

  /**
   * Scores the session's kept lists (and its mixed list, for calibration) against the key that came next. Their ids
   * are of when they were made: past `maxKeys`, an id may have gone to another key since. Only when the key that came
   * took its id since then can that mislead (a list's id equal to it named another key; the list may have named this
   * key under an id given away since), and then the lists are scored by `scoreAfterReuse`, which judges only what
   * can still be told; otherwise every id still means what it meant, and the plain comparison is exact.
   */
  #score(state: Live, key: string, kind: number): void {
    const kept = state.kept!;
    const ids = kept.ids;
    const probs = kept.probs;
    const lens = kept.lens;
    const h = this.#hitDepth;
    const keys = this.#sources.keys;
    const id = keys.id(key);
    let value = Number.NaN;
    const pj = this.#pj;
    if (keys.reusedAt(id) > state.listsReused) scoreAfterReuse(kept, h, keys, state.listsReused, canonicalInteger(key), this.#sources.deltaSource, pj);
    else {
      for (let j = 0; j < lens.length; j++) {
        const len = lens[j];
        pj[j] = -1;
        if (len === 0) continue;
        let p = 0;
        for (let r = 0; r < len; r++) {
          const k = ids[j * h + r];
          if (k === id || (k < 0 && (Number.isNaN(value) ? (value = canonicalInteger(key)) : value) === kept.dvals[r])) {
            p = probs[j * h + r];
            break;
          }
        }
        pj[j] = p;
      }
    }
    this.#weights.update(kind, pj);
    if (state.combinedAt !== state.position || (kind === anonymousKind && this.#horizon !== undefined)) return;
    const mixed = kept.mixed;
    const n = Math.min(mixed.n, h);
    // The same doubt for the mixed list: when an id in it went to another key since, whether it named this key is lost.
    if (keys.reusedAt(id) > state.combinedReused && namesReusedId(mixed.ids, 0, n, keys, state.combinedReused)) return;
    for (let i = 0; i < n; i++) {
      const c = mixed.ids[i];
      const isHit = c >= 0 ? c === id : (Number.isNaN(value) ? (value = canonicalInteger(key)) : value) === kept.cvals[i];
      this.#calibrator.record(mixed.raw[i], mixed.source[i], isHit);
    }
  }

  /** Mixes the scratch lists with the weights of `kind` into the calibrated list of `state`. */
  #mix(ctx: ReadContext, kind: number, depth: number, state: Live): void {
    const w = this.#w;
    for (let j = 0; j < w.length; j++) {
      let wj = this.#sources.lists.lens[j] === 0 ? 0 : this.#weights.weight(j, kind);
      if (this.#sharpness !== 1) wj = Math.pow(wj, this.#sharpness);
      if (j === this.#userSource && wj > 0) {
        const n = this.#sources.userObservations(ctx);
        wj *= n / (n + this.#c);
      }
      w[j] = wj;
    }
    const kept = state.kept!;
    const mixed = kept.mixed;
    this.#mixer.mix(this.#sources.lists, w, this.#calibrator, depth, mixed);
    const synthetic = this.#sources.keys.size;
    for (let r = 0; r < mixed.n; r++) {
      const id = mixed.ids[r];
      if (id < synthetic) continue;
      mixed.ids[r] = -1;
      kept.cvals[r] = this.#sources.deltaValues[id - synthetic];
    }
  }
}
