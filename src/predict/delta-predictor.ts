/**
 * DeltaPredictor: predicts numeric keys from the differences between consecutive keys of a session.
 *
 * Why: block, page and row-id workloads scan (+1) and stride (+8, a column read), which a transition table can
 * never learn for keys it has not seen yet; a table of deltas generalises to every key. This follows stride
 * prefetching in processors (Chen & Baer 1995, "Effective hardware-based data prefetching") and the sequential
 * detection of read-ahead: a session's own recent deltas (the last `historyLength`) are blended with the global
 * delta frequencies, and when the last deltas repeat, the run is extended `lookahead` steps (key+d .. key+n·d)
 * with probability falling geometrically and an ETA from the session's mean inter-arrival time.
 * Keys are numeric when they match /^-?\d+$/ and are safe integers; other keys are ignored. Memory: `maxDeltas`
 * global deltas and `maxSessions` sessions of a few numbers each. Cost: O(historyLength) per observe, O(historyLength + 16) per predict, plus a re-rank of the global deltas
 * every 64 accesses.
 */
import type { ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { nonNegativeNumber, positiveInt } from '../options.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';
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
  /** Name reported in predictions. @default 'delta' */
  readonly name?: string;
};

type DeltaSession = { lastAt: number; last: number; deltas: Float64Array; n: number; gapMs: number; prevAt: number };

const numeric = /^-?\d+$/;
/** Smoothing of the inter-arrival mean: each gap moves it 20% (about the last five gaps). */
const gapSmoothing = 0.2;

/** Pseudo-count kept for a delta never seen (Laplace-style escape), so no delta is ever certain. */
const novelDeltaMass = 1;
/** Global deltas offered per prediction: the most frequent 16 (a session's own deltas come on top). */
const globalCandidates = 16;
/** Most predictions returned by one predict (a larger limit is clipped to it). */
const outLimit = 64;
/** Deltas counted between re-rankings of the global list (O(maxDeltas log maxDeltas) each). */
const rerankEvery = 64;

/** Parses a numeric key, or returns NaN. */
function parseKey(key: string): number {
  if (key.length > 17 || !numeric.test(key)) return Number.NaN;
  const v = Number(key);
  return Number.isSafeInteger(v) ? v : Number.NaN;
}

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
  #global = new Map<number, number>();
  #globalTotal = 0;
  #weight = 1;
  #top: number[] = [];
  #topStale = false;
  #sinceRank = 0;
  readonly #deltas: Float64Array;
  readonly #scores: Float64Array;
  /** Scratch of the ranked candidates (at most `outLimit` are returned). */
  readonly #outKeys = new Float64Array(outLimit);
  readonly #outProbs = new Float64Array(outLimit);
  readonly #outSteps = new Float64Array(outLimit);

  constructor(options: DeltaPredictorOptions = {}) {
    this.name = options.name ?? 'delta';
    this.#history = positiveInt('historyLength', options.historyLength, 8);
    if (this.#history > 64) throw new InvalidOptionError('historyLength', 'an integer from 1 to 64', this.#history);
    this.#maxDeltas = positiveInt('maxDeltas', options.maxDeltas, 256);
    this.#halfLife = nonNegativeNumber('halfLifeAccesses', options.halfLifeAccesses, 10_000, true);
    if (this.#halfLife === 0) throw new InvalidOptionError('halfLifeAccesses', 'a positive number or Infinity', 0);
    this.#lookahead = positiveInt('lookahead', options.lookahead, 4);
    this.#deltas = new Float64Array(this.#history + globalCandidates);
    this.#scores = new Float64Array(this.#history + globalCandidates);
    if (this.#lookahead > 64) throw new InvalidOptionError('lookahead', 'an integer from 1 to 64', this.#lookahead);
    this.#alpha = nonNegativeNumber('globalWeight', options.globalWeight, 2);
    const maxSessions = positiveInt('maxSessions', options.maxSessions, 20_000);
    const idleMs = nonNegativeNumber('sessionIdleMs', options.sessionIdleMs, 30 * 60_000, true);
    const make = (): DeltaSession => ({ lastAt: 0, last: Number.NaN, deltas: new Float64Array(this.#history), n: 0, gapMs: Number.NaN, prevAt: 0 });
    this.#sessions = new SessionRegistry(maxSessions, idleMs, make);
    this.#anonymous = make();
  }

  /** Global deltas plus live sessions held. */
  get stateCount(): number {
    return this.#global.size + this.#sessions.size;
  }

  observe(access: Access): void {
    const v = parseKey(access.key);
    if (Number.isNaN(v)) return;
    const id = access.ctx.session ?? access.ctx.user;
    const s = id === undefined ? this.#anonymous : this.#sessions.touch(id, access.at);
    if (!Number.isNaN(s.last)) {
      const d = v - s.last;
      s.deltas[s.n % this.#history] = d;
      s.n++;
      const gap = access.at - s.prevAt;
      s.gapMs = Number.isNaN(s.gapMs) ? gap : s.gapMs + gapSmoothing * (gap - s.gapMs);
      this.#count(d);
    }
    s.last = v;
    s.prevAt = access.at;
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    const id = ctx.session ?? ctx.user;
    const s = id === undefined ? this.#anonymous : this.#sessions.peek(id);
    if (s === undefined || Number.isNaN(s.last) || !(limit > 0)) return [];
    const seen = Math.min(s.n, this.#history);
    const alpha = this.#globalTotal > 0 ? this.#alpha : 0;
    if (seen + alpha === 0) return [];
    const denom = seen + alpha + novelDeltaMass;
    if (this.#topStale) this.#rankGlobal();
    const deltas = this.#deltas;
    const scores = this.#scores;
    let m = 0;
    const add = (d: number, p: number): void => {
      for (let i = 0; i < m; i++) {
        if (deltas[i] === d) {
          scores[i] += p;
          return;
        }
      }
      deltas[m] = d;
      scores[m++] = p;
    };
    for (let i = 0; i < seen; i++) add(s.deltas[i], 1 / denom);
    if (alpha > 0) for (let i = 0; i < this.#top.length; i += 2) add(this.#top[i], (alpha * this.#top[i + 1]) / this.#globalTotal / denom);
    const lastDelta = s.n > 0 ? s.deltas[(s.n - 1) % this.#history] : Number.NaN;
    let run = 0;
    for (let i = 1; i <= seen && s.deltas[(s.n - i) % this.#history] === lastDelta; i++) run++;
    // Top `limit` (key, probability, steps) by probability, kept sorted in scratch arrays; strings made last.
    const keys = this.#outKeys;
    const probs = this.#outProbs;
    const steps = this.#outSteps;
    const want = Math.min(limit, keys.length);
    let n = 0;
    for (let i = 0; i < m; i++) {
      const d = deltas[i];
      if (d === 0) continue;
      const ahead = d === lastDelta && run >= 2 ? this.#lookahead : 1;
      let probability = 1;
      for (let j = 1; j <= ahead; j++) {
        const key = s.last + d * j;
        if (!Number.isSafeInteger(key)) break;
        probability = Math.min(1, scores[i] ** j);
        if (n === want && probability <= probs[want - 1]) break;
        let at = n < want ? n++ : want - 1;
        while (at > 0 && probs[at - 1] < probability) {
          probs[at] = probs[at - 1];
          keys[at] = keys[at - 1];
          steps[at] = steps[at - 1];
          at--;
        }
        probs[at] = probability;
        keys[at] = key;
        steps[at] = j;
      }
    }
    const gap = Number.isNaN(s.gapMs) ? undefined : Math.max(0, s.gapMs);
    const out: Prediction[] = new Array(n);
    for (let r = 0; r < n; r++) {
      const key = String(keys[r]);
      out[r] = gap === undefined ? { key, probability: probs[r], source: this.name } : { key, probability: probs[r], etaMs: gap * steps[r], source: this.name };
    }
    return out;
  }

  /** Caches the most frequent global deltas as [delta, count, ...] pairs, highest first. */
  #rankGlobal(): void {
    const entries = [...this.#global].sort((a, b) => b[1] - a[1]);
    const top: number[] = [];
    for (let i = 0; i < entries.length && i < globalCandidates; i++) top.push(entries[i][0], entries[i][1]);
    this.#top = top;
    this.#topStale = false;
  }

  #count(d: number): void {
    if (this.#halfLife !== Infinity) {
      this.#weight *= Math.pow(2, 1 / this.#halfLife);
      if (this.#weight > 1e12) this.#rescale();
    }
    this.#global.set(d, (this.#global.get(d) ?? 0) + this.#weight);
    this.#globalTotal += this.#weight;
    if (++this.#sinceRank >= rerankEvery || this.#top.length === 0) {
      this.#topStale = true;
      this.#sinceRank = 0;
    }
    if (this.#global.size > this.#maxDeltas) this.#prune();
  }

  #rescale(): void {
    const f = 1 / this.#weight;
    for (const [d, c] of this.#global) this.#global.set(d, c * f);
    this.#globalTotal *= f;
    this.#weight = 1;
  }

  /** Drops the rarest half of the global deltas (their mass stays in the total, keeping probabilities honest). */
  #prune(): void {
    const counts = [...this.#global.values()].sort((a, b) => a - b);
    const cut = counts[Math.floor(counts.length / 2)];
    for (const [d, c] of this.#global) {
      if (this.#global.size <= this.#maxDeltas / 2) break;
      if (c <= cut) this.#global.delete(d);
    }
  }
}
