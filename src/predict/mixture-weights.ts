/**
 * MixtureWeights: the online-learned weights of a mixture of predictors, one set per kind of context, and each
 * source's hit rate beside them.
 *
 * Why: no single model wins everywhere and which one to trust shifts with the traffic, so the weights are learned
 * from the stream itself. When the next key arrives, each source j that offered a list gets the responsibility
 * r_j = w_j p_j(key) / sum_i w_i p_i(key) (the E step) and its weight moves towards it by a step size (the M step
 * of online EM for mixture weights: Neal & Hinton 1998, "A view of the EM algorithm that justifies incremental,
 * sparse, and other variants"; Cappé & Moulines 2009, "Online expectation-maximization algorithm for latent data
 * models"). The step is 1 / (t + 2) at first (a running mean: fast to leave the uniform start) and the constant
 * of the half-life once smaller, so the weights keep following drift. A source that adds only diluted guesses
 * next to a sharper one loses weight, so the mixture converges on the accurate source of each context kind.
 * Trade-off: a source absent from a step keeps its weight (only the sources that offered a list share the
 * update), and a floor keeps every weight near `weightFloor` of the active total so a source can win trust back;
 * the mass the floor adds is taken back in proportion, so the active total is conserved and the weights stay
 * bounded however long a run lasts.
 * Cost: O(sources) per update, sources x kinds numbers of memory.
 */
import { InvalidOptionError } from '../errors.ts';
import { nonNegativeNumber, positiveInt } from '../options.ts';

/** Options of MixtureWeights. */
export type MixtureWeightsOptions = {
  /** Number of mixed sources. */
  readonly sources: number;
  /** Number of context kinds, each with its own weights. @default 1 */
  readonly kinds?: number;
  /** Half-life of the weights and hit rates, in updates of a kind; Infinity for a running mean. @default 2000 */
  readonly halfLife?: number;
};

/** Hit rate every source starts from, before any evidence (a mediocre hit rate, reported until scored). */
export const priorHitRate = 0.1;
/**
 * The weight every source starts from, whatever the number of sources: only ratios of weights matter, and a fixed
 * start means a source added to a mixture that never offers a list in some kind of context (sequential rules on
 * anonymous reads) leaves that kind's arithmetic as it was to the last bit (1/n would round differently and move
 * near-ties). 1/6 is the start of the six-source ensemble the replay figures were first measured with.
 */
const initialWeight = 1 / 6;
/**
 * Weights are lifted to this share of the active sources' total, so a source can win back trust (after the
 * renormalisation that conserves the total, a floored weight sits a little under it: at most sources x floor less).
 */
const weightFloor = 1e-3;

/** Online-EM mixture weights and hit rates of `sources` sources in `kinds` context kinds. */
export class MixtureWeights {
  readonly #n: number;
  readonly #kinds: number;
  readonly #alpha: number;
  /** Per source x kind at j * kinds + k. */
  readonly #weight: Float64Array;
  readonly #hitRate: Float64Array;
  readonly #scored: Float64Array;
  /** Updates made per kind. */
  readonly #updates: Float64Array;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) on a bad option. */
  constructor(options: MixtureWeightsOptions) {
    this.#n = positiveInt('sources', options.sources);
    this.#kinds = positiveInt('kinds', options.kinds, 1);
    const halfLife = nonNegativeNumber('halfLife', options.halfLife, 2000, true);
    if (halfLife === 0) throw new InvalidOptionError('halfLife', 'a positive number or Infinity', 0);
    this.#alpha = 1 - Math.pow(2, -1 / halfLife);
    const cells = this.#n * this.#kinds;
    this.#weight = new Float64Array(cells).fill(initialWeight);
    this.#hitRate = new Float64Array(cells).fill(priorHitRate);
    this.#scored = new Float64Array(cells);
    this.#updates = new Float64Array(this.#kinds);
  }

  /** The raw weight of `source` in `kind` (weights of one kind need not sum to 1). */
  weight(source: number, kind: number): number {
    return this.#weight[source * this.#kinds + kind];
  }

  /** The weight of `source` as a share of the sources ever scored in `kind` (its own counted; 0 if none). */
  share(source: number, kind: number): number {
    const k = this.#kinds;
    let total = 0;
    for (let j = 0; j < this.#n; j++) if (this.#scored[j * k + kind] > 0 || j === source) total += this.#weight[j * k + kind];
    return total > 0 ? this.#weight[source * k + kind] / total : 0;
  }

  /**
   * Sets `out[j]` to 1 when `share(j, kind) >= minShare`, else 0, deciding on the same numbers as `share` bit for
   * bit, in one pass over the sources scored in `kind` (their common total) instead of one pass per source; only a
   * source never scored there sums its own total.
   */
  unmutedInto(kind: number, minShare: number, out: Uint8Array): void {
    const k = this.#kinds;
    const scored = this.#scored;
    const weight = this.#weight;
    let total = 0;
    for (let j = 0; j < this.#n; j++) if (scored[j * k + kind] > 0) total += weight[j * k + kind];
    for (let j = 0; j < this.#n; j++) {
      const share = scored[j * k + kind] > 0 ? (total > 0 ? weight[j * k + kind] / total : 0) : this.share(j, kind);
      out[j] = share >= minShare ? 1 : 0;
    }
  }

  /**
   * Learns from one step of `kind`: `p[j]` is the probability source j gave the key that came next (0 when it
   * missed it), or negative when source j offered no list this step (it is left out of the update).
   * A source with p[j] > 0 counts a hit in its hit rate.
   */
  update(kind: number, p: ArrayLike<number>): void {
    const k = this.#kinds;
    const a = this.#alpha;
    const weight = this.#weight;
    let mixed = 0;
    let active = 0;
    for (let j = 0; j < this.#n; j++) {
      if (!(p[j] >= 0)) continue;
      const at = j * k + kind;
      this.#hitRate[at] += a * ((p[j] > 0 ? 1 : 0) - this.#hitRate[at]);
      this.#scored[at]++;
      mixed += weight[at] * p[j];
      active += weight[at];
    }
    if (!(mixed > 0)) return;
    const t = this.#updates[kind]++;
    const step = Math.max(a, 1 / (t + 2));
    const floor = weightFloor * active;
    let after = 0;
    let isLifted = false;
    for (let j = 0; j < this.#n; j++) {
      if (!(p[j] >= 0)) continue;
      const at = j * k + kind;
      const w = weight[at];
      let next = w + step * ((w * p[j] * active) / mixed - w);
      if (next < floor) {
        next = floor;
        isLifted = true;
      }
      weight[at] = next;
      after += next;
    }
    // The EM step conserves the active sources' total; lifting weights to the floor adds mass, which would compound
    // update after update (the total grew geometrically, to Infinity and then NaN). Taking it back from all of them
    // in proportion keeps the total where it was, so the weights stay bounded and only their ratios move.
    if (isLifted && after > active) {
      const f = active / after;
      for (let j = 0; j < this.#n; j++) if (p[j] >= 0) weight[j * k + kind] *= f;
    }
  }

  /** Each source's hit rate, the kinds weighted by how often the source was scored there (the prior if never). */
  hitRates(): Float64Array {
    return this.#average(this.#hitRate, priorHitRate);
  }

  /** Each source's share of the weights of its kind, averaged over kinds by how often it was scored (0 if never). */
  shares(): Float64Array {
    const share = new Float64Array(this.#n * this.#kinds);
    for (let kind = 0; kind < this.#kinds; kind++) {
      for (let j = 0; j < this.#n; j++) if (this.#scored[j * this.#kinds + kind] > 0) share[j * this.#kinds + kind] = this.share(j, kind);
    }
    return this.#average(share, 0);
  }

  #average(values: Float64Array, prior: number): Float64Array {
    const out = new Float64Array(this.#n);
    const k = this.#kinds;
    for (let j = 0; j < this.#n; j++) {
      let s = 0;
      let n = 0;
      for (let kind = 0; kind < k; kind++) {
        s += values[j * k + kind] * this.#scored[j * k + kind];
        n += this.#scored[j * k + kind];
      }
      out[j] = n === 0 ? prior : s / n;
    }
    return out;
  }
}
