/**
 * DeltaPredictor: predicts numeric keys from the differences between consecutive keys of a session.
 *
 * Why: block, page and row-id workloads scan (+1) and stride (+8, a column read), which a transition table can
 * never learn for keys it has not seen yet; a table of deltas generalises to every key. This follows stride
 * prefetching in processors (Chen & Baer 1995, "Effective hardware-based data prefetching") and the sequential
 * detection of read-ahead: a session's own recent deltas (the last `historyLength`) are blended with the global
 * delta frequencies, and when the last deltas repeat, the run is extended `lookahead` steps (key+d .. key+n·d)
 * with probability falling geometrically and an ETA from the session's mean inter-arrival time; a delta that names
 * a key of the run (2d for a run of d) is folded into that step, so every key is offered once.
 * Interleaved scans (several programs reading their own files, as in the LIRS multi traces) defeat consecutive
 * deltas: the next key of the stream belongs to another scan. So the predictor also learns, per offset d in
 * 1..`nearOffsets`, how often key k + d is read while k is still among the last `historyLength` keys (the learned
 * form of read-ahead, which fetches k+1..k+n after every miss whatever it costs), and offers last + d with that
 * rate when it beats the delta estimate.
 * Keys are numeric when they are written as a canonical safe integer (what String(n) gives); other keys are ignored. Memory: `maxDeltas`
 * global deltas and `maxSessions` sessions of a few numbers each. Cost: O(historyLength) per observe, O(historyLength + 16) per predict, plus a re-rank of the global deltas
 * every 64 accesses. The global table is a DeltaTable (delta-table.ts), the merge and ranking a DeltaRanking
 * (delta-ranking.ts): both are on every access's path, and kept free of Maps and allocation.
 */
import { liveKey, contextScope, type ContextScope, type ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { nameOption, nonNegativeNumber, optionsObject, positiveInt } from '../options.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';
import { canonicalInteger } from './key-interner.ts';
import { DeltaRanking, nearOffsets, outLimit } from './delta-ranking.ts';
import { DeltaTable } from './delta-table.ts';
import { SessionRegistry } from './session-registry.ts';

/** Options of DeltaPredictor. */
export type DeltaPredictorOptions = {
  /** Recent deltas remembered per session (1..64). @default 8 */
  readonly historyLength?: number;
  /** Distinct global deltas kept; the rarest half is dropped when full. @default 256 */
  readonly maxDeltas?: number;
  /** Half-life of global delta counts, in accesses; Infinity for none. @default 10000 */
  readonly halfLifeAccesses?: number;
  /** Steps predicted ahead along a repeating delta (1..64). @default 4 */
  readonly lookahead?: number;
  /** Weight of the global delta table against a session's own deltas, in pseudo-observations. @default 2 */
  readonly globalWeight?: number;
  /** Most live sessions tracked. @default 20000 */
  readonly maxSessions?: number;
  /** A session idle longer than this, in ms, is dropped. @default 1800000 */
  readonly sessionIdleMs?: number;
  /**
   * Learn the near-offset rates per neighbour class of the key (which of key - 1 .. key - 4 were recent: a scan, a
   * stride-2 scan, a lone read) instead of one rate per offset. On LIRS multi2 (interleaved scans) this lifts the
   * ensemble from 42.1 / 60.8% to 47.1 / 65.8% hits at 1% / 5%, but costs yoochoose's sessions (numeric item ids)
   * about 0.1 point at 1%, so by default it applies to the anonymous stream only (no session, no user: block and
   * object traces); true applies it to sessions too (BENCHMARKS.md, "interleaved scans"). @default 'anonymous'
   */
  readonly nearClasses?: ContextScope;
  /** Name reported in predictions. @default 'delta' */
  readonly name?: string;
};

/**
 * `neighbours` holds, for each of the last `historyLength + 1` keys (ring by key index, the latest at `n`), which of
 * key - 1 .. key - `nearOffsets` were among the session's recent keys when it was read (bit d - 1 for key - d).
 */
type DeltaSession = { last: number; deltas: Float64Array; neighbours: Uint8Array; n: number; gapMs: number; prevAt: number };

/** Smoothing of the inter-arrival mean: each gap moves it 20% (about the last five gaps). */
const gapSmoothing = 0.2;

/** Pseudo-count kept for a delta never seen (Laplace-style escape), so no delta is ever certain. */
const novelDeltaMass = 1;
/** Global deltas offered per prediction: the most frequent 16 (a session's own deltas come on top). */
const globalCandidates = 16;
/** Classes of a key by which of its `nearOffsets` predecessors were recent: the near rates are learned per class. */
const neighbourClasses = 1 << nearOffsets;
/** Near-future counts are halved after this many numeric accesses, so the rates follow the workload. */
const nearHalvingAccesses = 8192;
/** Deltas counted between re-rankings of the global list (O(maxDeltas log maxDeltas) each). */
const rerankEvery = 64;

/** Numeric delta / stride predictor. */
export class DeltaPredictor implements Predictor {
  readonly name: string;
  readonly #history: number;
  readonly #maxDeltas: number;
  readonly #halfLife: number;
  readonly #lookahead: number;
  readonly #alpha: number;
  readonly #sessions: SessionRegistry<DeltaSession>;
  readonly #anonymous: DeltaSession;
  readonly #global = new DeltaTable(globalCandidates);
  #globalTotal = 0;
  #weight = 1;
  /** Growth of `#weight` per counted delta (2^(1/halfLife)): new counts weigh more instead of old ones decaying. */
  readonly #growth: number;
  #topStale = false;
  #sinceRank = 0;
  readonly #ranking: DeltaRanking;
  /**
   * Accesses (decayed) in which key - d was among the recent keys, by the neighbour class of key - d when it was
   * read (index class * (nearOffsets + 1) + d).
   */
  readonly #nearHits = new Float64Array(neighbourClasses * (nearOffsets + 1));
  /** Accesses (decayed) by their neighbour class: the keys that could have been followed, per class. */
  readonly #nearObservations = new Float64Array(neighbourClasses);
  #nearTotal = 0;
  /** Whether sessions' and the anonymous stream's keys are classed by their neighbours (else all in class 0). */
  readonly #sessionClasses: boolean;
  readonly #anonymousClasses: boolean;
  /** Key values written by the last `predictValues`. */
  readonly valueOut: Float64Array;
  /** Probabilities written by the last `predictValues`, parallel to `valueOut`. */
  readonly probabilityOut: Float64Array;
  /** ETAs in ms (NaN: unknown) written by the last `predictValues`, parallel to `valueOut`. */
  readonly etaOut: Float64Array;

  constructor(options: DeltaPredictorOptions = {}) {
    optionsObject(options);
    this.name = nameOption('name', options.name, 'delta');
    this.#history = positiveInt('historyLength', options.historyLength, 8);
    if (this.#history > 64) throw new InvalidOptionError('historyLength', 'an integer from 1 to 64', this.#history);
    this.#maxDeltas = positiveInt('maxDeltas', options.maxDeltas, 256);
    this.#halfLife = nonNegativeNumber('halfLifeAccesses', options.halfLifeAccesses, 10_000, true);
    if (this.#halfLife === 0) throw new InvalidOptionError('halfLifeAccesses', 'a positive number or Infinity', 0);
    this.#growth = Math.pow(2, 1 / this.#halfLife);
    this.#lookahead = positiveInt('lookahead', options.lookahead, 4);
    const classes = contextScope('nearClasses', options.nearClasses, 'anonymous');
    this.#sessionClasses = classes === true;
    this.#anonymousClasses = classes !== false;
    if (this.#lookahead > 64) throw new InvalidOptionError('lookahead', 'an integer from 1 to 64', this.#lookahead);
    this.#ranking = new DeltaRanking(this.#history, this.#global, this.#lookahead);
    this.valueOut = this.#ranking.values;
    this.probabilityOut = this.#ranking.probabilities;
    this.etaOut = this.#ranking.steps;
    this.#alpha = nonNegativeNumber('globalWeight', options.globalWeight, 2);
    const maxSessions = positiveInt('maxSessions', options.maxSessions, 20_000);
    const idleMs = nonNegativeNumber('sessionIdleMs', options.sessionIdleMs, 30 * 60_000, true);
    const make = (): DeltaSession => ({ last: Number.NaN, deltas: new Float64Array(this.#history), neighbours: new Uint8Array(this.#history + 1), n: 0, gapMs: Number.NaN, prevAt: 0 });
    this.#sessions = new SessionRegistry(maxSessions, idleMs, make);
    this.#anonymous = make();
  }

  /** Global deltas plus live sessions held. */
  get stateCount(): number {
    return this.#global.size + this.#sessions.size;
  }

  observe(access: Access): void {
    const v = canonicalInteger(access.key);
    if (Number.isNaN(v)) return;
    const id = liveKey(access.ctx);
    const s = id === undefined ? this.#anonymous : this.#sessions.touch(id, access.at);
    if (!Number.isNaN(s.last)) {
      const neighbours = this.#countNear(s, v);
      const d = v - s.last;
      s.deltas[s.n % this.#history] = d;
      s.n++;
      s.neighbours[s.n % (this.#history + 1)] = neighbours;
      this.#nearObservations[neighbours]++;
      const gap = access.at - s.prevAt;
      s.gapMs = Number.isNaN(s.gapMs) ? gap : s.gapMs + gapSmoothing * (gap - s.gapMs);
      this.#count(d);
    }
    s.last = v;
    s.prevAt = access.at;
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    const n = this.predictValues(ctx, limit);
    const keys = this.valueOut;
    const probs = this.probabilityOut;
    const etas = this.etaOut;
    const out: Prediction[] = new Array(n);
    for (let r = 0; r < n; r++) {
      const key = String(keys[r]);
      out[r] = Number.isNaN(etas[r]) ? { key, probability: probs[r], source: this.name } : { key, probability: probs[r], etaMs: etas[r], source: this.name };
    }
    return out;
  }

  /**
   * Numeric predict for the ensemble (no strings): writes up to `limit` (at most 64) predicted key values into
   * `valueOut`, their probabilities into `probabilityOut` and ETAs in ms (NaN: unknown) into `etaOut`, highest
   * probability first, and returns how many. The arrays are valid until the next call.
   */
  predictValues(ctx: ReadContext, limit: number): number {
    const id = liveKey(ctx);
    const s = id === undefined ? this.#anonymous : this.#sessions.peek(id);
    if (s === undefined || Number.isNaN(s.last) || !(limit > 0)) return 0;
    const seen = Math.min(s.n, this.#history);
    const alpha = this.#globalTotal > 0 ? this.#alpha : 0;
    if (seen + alpha === 0) return 0;
    const denom = seen + alpha + novelDeltaMass;
    if (this.#topStale) this.#rankGlobal();
    const ranking = this.#ranking;
    const ms = ranking.session(s.deltas, seen, denom);
    const lastDelta = s.n > 0 ? s.deltas[(s.n - 1) % this.#history] : Number.NaN;
    let run = 0;
    for (let i = 1; i <= seen && s.deltas[(s.n - i) % this.#history] === lastDelta; i++) run++;
    const want = Math.min(Math.floor(limit), outLimit);
    const f = alpha > 0 ? alpha / this.#globalTotal / denom : 0;
    const topN = alpha > 0 ? this.#global.topLength : 0;
    let n: number;
    if (run >= 2 && lastDelta !== 0) n = ranking.run(s.last, ms, topN, f, lastDelta, want);
    else {
      // Off a clean run, the near offsets come at the rates learned for keys of the last key's neighbour class
      // (one key each, so no key is offered twice).
      const lastClass = s.neighbours[s.n % (this.#history + 1)];
      const observed = this.#nearObservations[lastClass];
      const near = observed > 0 && run < 2;
      if (near) {
        const base = lastClass * (nearOffsets + 1);
        for (let d = 1; d <= nearOffsets; d++) ranking.nearRates[d] = Math.min(1, this.#nearHits[base + d] / observed);
      }
      n = ranking.step(s.last, ms, topN, f, near, want);
    }
    const gap = Number.isNaN(s.gapMs) ? Number.NaN : Math.max(0, s.gapMs);
    const steps = this.etaOut;
    for (let r = 0; r < n; r++) steps[r] *= gap;
    return n;
  }

  /**
   * Counts, for each offset d, whether `v - d` is among the session's recent keys (rebuilt from its deltas), under
   * the neighbour class `v - d` had when it was read; returns the class of `v` (bit d - 1 set when v - d is among
   * them). The class is what tells a scan from a random read, and which stride it runs: on LIRS multi2 a key read
   * after k - 1 and k - 2 is followed by k + 1 within 8 reads 95% of the time, one read after k - 2 and k - 4 by
   * k + 2 88% of the time (a stride-2 scan), a key read with none of its predecessors by k + 1 7% of the time.
   */
  #countNear(s: DeltaSession, v: number): number {
    if (++this.#nearTotal > nearHalvingAccesses) {
      this.#nearTotal /= 2;
      for (let i = 0; i < this.#nearHits.length; i++) this.#nearHits[i] /= 2;
      for (let c = 0; c < neighbourClasses; c++) this.#nearObservations[c] /= 2;
    }
    const seen = Math.min(s.n, this.#history);
    const ring = this.#history + 1;
    let k = s.last;
    let found = 0;
    for (let i = 0; ; i++) {
      const d = v - k;
      if (d >= 1 && d <= nearOffsets && (found & (1 << d)) === 0) {
        found |= 1 << d;
        this.#nearHits[s.neighbours[(s.n - i) % ring] * (nearOffsets + 1) + d]++;
      }
      if (i >= seen) break;
      k -= s.deltas[(s.n - 1 - i) % this.#history];
    }
    return (s === this.#anonymous ? this.#anonymousClasses : this.#sessionClasses) ? found >> 1 : 0;
  }

  /** Caches the `globalCandidates` most frequent global deltas (DeltaTable.rank) and where the near offsets are. */
  #rankGlobal(): void {
    this.#global.rank();
    this.#ranking.ranked();
    this.#topStale = false;
  }

  #count(d: number): void {
    if (this.#halfLife !== Infinity) {
      this.#weight *= this.#growth;
      if (this.#weight > 1e12) this.#rescale();
    }
    this.#global.add(d, this.#weight);
    this.#globalTotal += this.#weight;
    if (++this.#sinceRank >= rerankEvery || this.#global.topLength === 0) {
      this.#topStale = true;
      this.#sinceRank = 0;
    }
    // The rarest half goes (their mass stays in the total, keeping probabilities honest): on a trace whose deltas
    // never repeat (item ids) the table fills and prunes every maxDeltas / 2 accesses.
    if (this.#global.size > this.#maxDeltas) this.#global.prune(this.#maxDeltas / 2);
  }

  /** Brings counts back near 1 before they overflow; the cached top counts are of the old scale, so it is re-ranked. */
  #rescale(): void {
    const f = 1 / this.#weight;
    this.#global.scale(f);
    this.#globalTotal *= f;
    this.#weight = 1;
    this.#topStale = true;
  }
}
