/**
 * HorizonScores: calibration outcomes over the next few accesses of one stream, for the ensemble's anonymous reads.
 *
 * Why: the ensemble calibrates each mixed candidate against the access that comes next, which is what a session's
 * next click is. An anonymous stream (a block or object trace, where the model learns the global stream) interleaves
 * many scans and programs: the next block of a scan is read a few accesses later, after reads from the others, so
 * "is it the next access" calls a near-certain block a one-in-three guess, and the scheduler spends the budget on
 * whatever is truly next-ish instead (on LIRS multi2 with `rationTokens`, the ensemble hit 52.7% at 57 entries where delta alone, whose
 * rates already mean "read within the next 8", hit 65%). A prefetch pays when its key is read while the entry is
 * still held, so delta's candidates in the anonymous stream are scored as hits when their key comes within the next
 * `horizon` accesses (horizon 1 is the next-access rule), and only the first candidate of a list to be read counts:
 * in a clean scan k + 1 is read before k + 2, so k + 2 is not credited now (it is prefetched in time at the next
 * step), where in interleaved scans the reads between k and k + 1 belong to other streams and k + 1 is credited.
 * Crediting every source, or every candidate read within the horizon, sent prefetches out early: LIRS sprite lost
 * 2 points at 1.32x LRU's fetches and 2_pools fell under tinylfu (BENCHMARKS.md, "2026-12-06, night").
 * Cost: O(horizon x depth) comparisons per observed access, one ring of `horizon` lists of `depth`.
 */
import { namesReusedId } from './kept-lists.ts';
import type { KeyInterner } from './key-interner.ts';
import type { MixedList } from './list-mixer.ts';
import type { ProbabilityCalibrator } from './probability-calibrator.ts';

/** Receives each scored candidate: its raw score, its leading source and whether its key came within the horizon. */
export class HorizonScores {
  readonly #horizon: number;
  readonly #depth: number;
  /**
   * Per ring slot: the position the list was made at (-1: empty), how many candidates it holds, and the interner's
   * `reused` count when it was kept (its ids are of that moment).
   */
  readonly #at: Float64Array;
  readonly #n: Int32Array;
  readonly #reused: Float64Array;
  readonly #keys: KeyInterner;
  readonly #ids: Int32Array;
  readonly #values: Float64Array;
  readonly #raw: Float64Array;
  readonly #source: Int32Array;
  readonly #hit: Uint8Array;
  /** The source whose candidates are scored over the horizon; the others by the next access. */
  readonly #wide: number;
  #next = 0;

  /** @param keys the interner the lists' ids are of. */
  constructor(horizon: number, depth: number, wideSource: number, keys: KeyInterner) {
    this.#horizon = horizon;
    this.#keys = keys;
    this.#reused = new Float64Array(horizon);
    this.#wide = wideSource;
    this.#depth = depth;
    this.#at = new Float64Array(horizon).fill(-1);
    this.#n = new Int32Array(horizon);
    this.#ids = new Int32Array(horizon * depth);
    this.#values = new Float64Array(horizon * depth);
    this.#raw = new Float64Array(horizon * depth);
    this.#source = new Int32Array(horizon * depth);
    this.#hit = new Uint8Array(horizon * depth);
  }

  /**
   * Keeps the first `depth` candidates of `mixed`, made after `position` accesses (so the access at `position` is
   * the first it can match; ids -1 are computed keys whose values are in `values`), recording the oldest list first
   * when the ring is full.
   */
  push(position: number, mixed: MixedList, values: Float64Array, calibrator: ProbabilityCalibrator): void {
    const slot = this.#next;
    this.#next = (slot + 1) % this.#horizon;
    if (this.#at[slot] >= 0) this.#record(slot, calibrator);
    const n = Math.min(mixed.n, this.#depth);
    const base = slot * this.#depth;
    for (let i = 0; i < n; i++) {
      this.#ids[base + i] = mixed.ids[i];
      this.#values[base + i] = mixed.ids[i] < 0 ? values[i] : Number.NaN;
      this.#raw[base + i] = mixed.raw[i];
      this.#source[base + i] = mixed.source[i];
      this.#hit[base + i] = 0;
    }
    this.#n[slot] = n;
    this.#at[slot] = position;
    this.#reused[slot] = this.#keys.reused;
  }

  /**
   * The access at `position` read the key with interner id `id` (-1 if none) and numeric value `value` (NaN if not
   * numeric): marks the candidates it matches (every source's at the list's first access, the wide source's after),
   * then records the lists it matched or whose horizon it closes. A list is dropped unrecorded when `id` went to this
   * key after the list was kept and the list holds an id given away since: whether it named this key is lost.
   */
  observe(position: number, id: number, value: number, calibrator: ProbabilityCalibrator): void {
    const depth = this.#depth;
    const wide = this.#wide;
    for (let slot = 0; slot < this.#horizon; slot++) {
      const at = this.#at[slot];
      if (at < 0 || position < at) continue;
      const base = slot * depth;
      const n = this.#n[slot];
      const first = position === at;
      const reused = this.#reused[slot];
      if (this.#keys.reusedAt(id) > reused && namesReusedId(this.#ids, base, n, this.#keys, reused)) {
        this.#at[slot] = -1;
        this.#n[slot] = 0;
        continue;
      }
      let matched = false;
      for (let i = 0; i < n; i++) {
        if (!first && this.#source[base + i] !== wide) continue;
        const c = this.#ids[base + i];
        if (c >= 0 ? c === id : this.#values[base + i] === value) {
          this.#hit[base + i] = 1;
          matched = true;
        }
      }
      if (position - at + 1 >= this.#horizon || matched) this.#record(slot, calibrator);
    }
  }

  #record(slot: number, calibrator: ProbabilityCalibrator): void {
    const base = slot * this.#depth;
    for (let i = 0; i < this.#n[slot]; i++) calibrator.record(this.#raw[base + i], this.#source[base + i], this.#hit[base + i] === 1);
    this.#at[slot] = -1;
    this.#n[slot] = 0;
  }
}
