/**
 * SessionKnnPredictor: session-based k-nearest-neighbours (V-SKNN), items that similar past sessions contained.
 *
 * Why: a transition table only knows what followed the last few keys; sessions that share several items with
 * the live one carry evidence about its whole intent. Jannach & Ludewig 2017 ("When recurrent neural networks
 * meet the neighborhood for session-based recommendation") showed this simple scheme matches or beats GRU4Rec on
 * e-commerce clicks; the vector variant (Ludewig & Jannach 2018) weights the live session's items by recency
 * (linear decay), which we follow. Similarity is the decayed dot product over shared items; candidates are the
 * `sampleSize` most recent sessions sharing an item (each item keeps a ring of the last `maxItemSessions`
 * sessions that read it); the best `neighbors` vote for their items with their similarity.
 * Accesses with neither session nor user (block and object traces, signed-out readers without a session id) are
 * not sessions: they are not remembered and get no prediction. Together they would make one endless pseudo-session
 * of every anonymous read of the process, whose neighbours say nothing about any one reader (on a trace with no
 * sessions at all it has none), and whose per-key rings would hold a ring per key of the whole key space: 762,543
 * on ARC P3.
 * Bounded memory: a ring of `maxSessions` past sessions of at most `maxSessionLength` distinct keys each
 * (typed-array slabs), per-item rings capped at `maxItemSessions` and `maxScanned` (grown on demand), and
 * `maxLiveSessions`.
 * With `positionDecay`, a neighbour's items also weigh by their distance from the item it shares with the live
 * session (STAN's third factor): better next-item ranking on yoochoose and diginetica, but no more cache hits, so
 * it is off by default (BENCHMARKS.md, Next-request accuracy).
 * Session numbers: a session's number `sid` counts the sessions started before it (a double, exact to 2^53: it never
 * wraps); it holds slot `sid % maxSessions` of the past-session slabs until `maxSessions` sessions start after it. The
 * slot and the per-key rings record it by its tag, `sid % tagSpace`, which fits the Int32 arrays; `tagSpace` is a
 * multiple of `maxSessions`, so tags wrap where slots do and slots stay in start order across the wrap (wrapping at
 * 2^31 itself jumped back to slot 0 in mid-cycle, dropping recent sessions early). A ring entry counts while its tag
 * is its slot's; a tag comes back after `tagSpace` sessions, when a ring entry of a key nobody read since would count
 * again for the new session of that tag, so every `tagSpace - maxSessions` sessions the entries whose session is gone
 * are overwritten with `goneTag`, which no session has (they were skipped already: every answer stays the same).
 * Then any entry left names a session among the last `maxSessions`, and the tags issued before the next sweep differ
 * from theirs. Cost of a sweep: one pass over the rings, once per ~2^31 sessions (about 25 days at 1,000 a second).
 * Cost: predict visits at most `maxScanned` ring entries (most recent query keys first), picks the `neighbors`
 * best by quickselect and lets them vote through typed-array scratch sets, so it is bounded whatever the
 * popularity of the keys (about 5 µs with the defaults, see bench/predictor-cost.ts; sampleSize 500 with 100
 * neighbours, the sizes of the paper, cost 2-4x more for +0.005 Recall@20 on yoochoose); observe is
 * O(maxSessionLength).
 */
import { liveKey, type ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { nameOption, nonNegativeNumber, optionsObject, positiveInt } from '../options.ts';
import { IdScores } from './id-scores.ts';
import { internerOption, type KeyInterner } from './key-interner.ts';
import { kthLargestInPlace } from './quickselect.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';
import { SessionRegistry } from './session-registry.ts';

/** Options of SessionKnnPredictor. */
export type SessionKnnPredictorOptions = {
  /** Neighbour sessions that vote. @default 50 (100 costs twice the voting for -0.005 Recall@20 on yoochoose) */
  readonly neighbors?: number;
  /** Most candidate sessions compared per prediction (the most recent ones sharing an item). @default 100 */
  readonly sampleSize?: number;
  /**
   * Past sessions remembered (ring), up to 10,000,000 and with `maxSessions` x `maxSessionLength` at most 2^28 (one
   * typed array of 4-byte ids holds them, reserved at construction: at most 1 GiB). @default 50000
   */
  readonly maxSessions?: number;
  /** Distinct keys remembered per session, most recent kept (1..255). @default 20 */
  readonly maxSessionLength?: number;
  /** Sessions remembered per key, most recent kept; at most `maxScanned` (no prediction reads further back). @default 500 */
  readonly maxItemSessions?: number;
  /** Ring entries visited per prediction at most, most recent query keys first (caps the work). @default 300 */
  readonly maxScanned?: number;
  /** Interning table shared with other models (the ensemble passes one); a private one by default. */
  readonly keys?: KeyInterner;
  /** Live session's most recent keys used as the query. @default 10 */
  readonly queryLength?: number;
  /** Most live sessions tracked. @default 20000 */
  readonly maxLiveSessions?: number;
  /** A live session idle longer than this, in ms, starts afresh. @default 1800000 */
  readonly sessionIdleMs?: number;
  /**
   * How a neighbour's items are weighted by their distance (in positions) from the item the neighbour shares with
   * the live session most recently: exp(-distance / positionDecay); Infinity weighs every item alike (V-SKNN).
   * @default Infinity
   */
  readonly positionDecay?: number;
  /** Name reported in predictions. @default 'session-knn' */
  readonly name?: string;
  /** Test seam (not exported by src/index.ts): where session numbers start and the tags' range. */
  readonly [sessionNumbering]?: { readonly first?: number; readonly tagSpace?: number };
};

/**
 * Test seam: `{ first, tagSpace }` numbers the first session `first` (default 0) and wraps tags at `tagSpace` (a
 * multiple of `maxSessions`, at least twice it; default the largest below 2^31), so a test reaches the wrap without
 * starting 2^31 sessions.
 */
export const sessionNumbering: unique symbol = Symbol('sessionNumbering');

type Live = { sid: number };

/** Tag of a ring entry whose session is gone: above every tag (tags are below `tagSpace` <= 2^31 - 1). */
const goneTag = 0x7fffffff;

/** Most ids in the past sessions' slab, reserved whole at construction: 2^28 x 4 bytes = 1 GiB (V8 would allow 2^32). */
const maxSlabEntries = 2 ** 28;

/** Vector session-kNN predictor. */
export class SessionKnnPredictor implements Predictor {
  readonly name: string;
  readonly #k: number;
  readonly #sample: number;
  readonly #cap: number;
  readonly #len: number;
  readonly #ringCap: number;
  readonly #query: number;
  readonly #scan: number;
  readonly #keys: KeyInterner;
  readonly #scratch = { a: new Float64Array(64) };
  /** Ids written by the last `predictIds` (grown on demand). */
  topIds = new Int32Array(64);
  /** Probabilities written by the last `predictIds`, parallel to `topIds`. */
  topScores = new Float64Array(64);
  readonly #live: SessionRegistry<Live>;
  /** Per slot, the tag of the session holding it (-1: none yet). */
  readonly #slotTag: Int32Array;
  readonly #itemCount: Uint8Array;
  readonly #items: Int32Array;
  #rings: Int32Array[] = [];
  #ringHead: number[] = [];
  #ringSize: number[] = [];
  /** Number of the next session to start, of the first one (test seam), tag range and sessions between sweeps. */
  #nextSid: number;
  readonly #firstSid: number;
  readonly #tagSpace: number;
  readonly #sweepEvery: number;
  /** Weight of a neighbour's item by its distance from the shared item; undefined when every item weighs 1. */
  readonly #decay: Float64Array | undefined;
  /**
   * With `positionDecay`, per neighbour candidate (by position in `#sims`, never more than `sampleSize`): the most
   * recent live item that found it.
   */
  readonly #match: Int32Array | undefined;
  /** Candidate neighbours by slot (at most `sampleSize`), then the neighbours' items by key id. */
  readonly #sims: IdScores;
  readonly #acc = new IdScores(64);

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) naming a bad option, or `maxSessions` when the product is too large. */
  constructor(options: SessionKnnPredictorOptions = {}) {
    optionsObject(options);
    this.name = nameOption('name', options.name, 'session-knn');
    this.#k = positiveInt('neighbors', options.neighbors, 50);
    this.#sample = positiveInt('sampleSize', options.sampleSize, 100, 100_000);
    this.#cap = positiveInt('maxSessions', options.maxSessions, 50_000, 10_000_000);
    this.#len = positiveInt('maxSessionLength', options.maxSessionLength, 20);
    if (this.#len > 255) throw new InvalidOptionError('maxSessionLength', 'an integer from 1 to 255', this.#len);
    if (this.#cap * this.#len > maxSlabEntries) {
      const most = Math.floor(maxSlabEntries / this.#len);
      throw new InvalidOptionError('maxSessions', `a positive integer up to ${most} with \`maxSessionLength\` ${this.#len} (one slab of maxSessions x maxSessionLength ids)`, this.#cap);
    }
    this.#query = positiveInt('queryLength', options.queryLength, 10);
    this.#scan = positiveInt('maxScanned', options.maxScanned, 300);
    // A prediction reads at most `maxScanned` ring entries in all, the newest of each ring first, so a longer ring
    // holds entries no prediction reads: capping rings there changes no answer, and bounds their memory by
    // keys x maxScanned (the ensemble's 60: 240 bytes a key, where 500 could reach 2 KB a key).
    this.#ringCap = Math.min(positiveInt('maxItemSessions', options.maxItemSessions, 500), this.#scan);
    this.#keys = internerOption(options.keys);
    const decay = nonNegativeNumber('positionDecay', options.positionDecay, Infinity, true);
    if (decay === 0) throw new InvalidOptionError('positionDecay', 'a positive number or Infinity', 0); // exp(-0 / 0) is NaN
    this.#decay = decay === Infinity ? undefined : Float64Array.from({ length: 256 }, (_, d) => Math.exp(-d / decay));
    this.#match = decay === Infinity ? undefined : new Int32Array(this.#sample);
    this.#sims = new IdScores(this.#sample);
    const maxLive = positiveInt('maxLiveSessions', options.maxLiveSessions, 20_000);
    const idleMs = nonNegativeNumber('sessionIdleMs', options.sessionIdleMs, 30 * 60_000, true);
    const numbering = options[sessionNumbering] ?? {};
    this.#firstSid = nonNegativeNumber('[sessionNumbering].first', numbering.first, 0);
    if (!Number.isSafeInteger(this.#firstSid)) throw new InvalidOptionError('[sessionNumbering].first', 'a safe integer', numbering.first);
    this.#nextSid = this.#firstSid;
    this.#tagSpace = positiveInt('[sessionNumbering].tagSpace', numbering.tagSpace, Math.floor(goneTag / this.#cap) * this.#cap, goneTag);
    if (this.#tagSpace % this.#cap !== 0 || this.#tagSpace < 2 * this.#cap) throw new InvalidOptionError('[sessionNumbering].tagSpace', `a multiple of \`maxSessions\` (${this.#cap}), at least twice it`, this.#tagSpace);
    this.#sweepEvery = this.#tagSpace - this.#cap;
    this.#live = new SessionRegistry(maxLive, idleMs, () => ({ sid: this.#newSid() }));
    this.#slotTag = new Int32Array(this.#cap).fill(-1);
    this.#itemCount = new Uint8Array(this.#cap);
    this.#items = new Int32Array(this.#cap * this.#len);
  }

  /** Past sessions remembered plus key rings held. */
  get stateCount(): number {
    return Math.min(this.#nextSid - this.#firstSid, this.#cap) + this.#rings.length;
  }

  observe(access: Access): void {
    const live = liveKey(access.ctx);
    if (live === undefined) return;
    const id = this.#keys.id(access.key);
    const sid = this.#sidFor(live, access.at);
    const slot = sid % this.#cap;
    const tag = sid % this.#tagSpace;
    const base = slot * this.#len;
    const items = this.#items;
    let n = this.#itemCount[slot];
    let i = 0;
    while (i < n && items[base + i] !== id) i++;
    // Shifts of at most 254 ids by loop: TypedArray copyWithin is a call into C++, dearer than the copy itself.
    if (i < n) {
      for (let j = base + i, end = base + n - 1; j < end; j++) items[j] = items[j + 1];
      items[base + n - 1] = id;
      return;
    }
    if (n === this.#len) {
      for (let j = base, end = base + n - 1; j < end; j++) items[j] = items[j + 1];
      n--;
    }
    items[base + n] = id;
    this.#itemCount[slot] = n + 1;
    this.#ring(id, tag);
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    const n = this.predictIds(ctx, limit);
    const out: Prediction[] = new Array(n);
    for (let r = 0; r < n; r++) out[r] = { key: this.#keys.key(this.topIds[r]), probability: this.topScores[r], source: this.name };
    return out;
  }

  /**
   * Id-level predict for the ensemble: writes up to `limit` key ids (of the interner passed as `keys`) and
   * probabilities into `topIds` / `topScores`, highest first, and returns how many.
   */
  predictIds(ctx: ReadContext, limit: number): number {
    const live = liveKey(ctx);
    const sid = live === undefined ? -1 : (this.#live.peek(live)?.sid ?? -1);
    if (sid < 0 || !(limit > 0)) return 0;
    const slot = sid % this.#cap;
    const m = this.#itemCount[slot];
    if (m === 0 || !this.#isHeld(sid)) return 0;
    limit = Math.min(Math.floor(limit), this.#k * this.#len); // no more candidates than the neighbours' items
    if (this.topIds.length < limit) {
      this.topIds = new Int32Array(limit);
      this.topScores = new Float64Array(limit);
    }
    const base = slot * this.#len;
    const from = Math.max(0, m - this.#query);
    const cap = this.#cap;
    const slotTag = this.#slotTag;
    const items = this.#items;
    const match = this.#match;
    const sample = this.#sample;
    const sims = this.#sims;
    // Slots ever held are below this bound, and an entry reaches the stamp only once `slotTag` says its slot is held.
    sims.reset(Math.min(cap, (this.#firstSid % cap) + this.#nextSid - this.#firstSid));
    const stamp = sims.stamp;
    const index = sims.index;
    const current = sims.current;
    const simIds = sims.ids;
    const simScores = sims.scores;
    let found = 0;
    const rings = this.#rings;
    const ringSize = this.#ringSize;
    const ringHead = this.#ringHead;
    let budget = this.#scan;
    for (let q = m - 1; q >= from && budget > 0; q--) {
      const item = items[base + q];
      const w = (q - from + 1) / (m - from);
      const ring = rings[item];
      const size = Math.min(ringSize[item], budget);
      budget -= size;
      // The `size` newest entries, newest first: ring[head - 1] down to ring[0], then (wrapped) from the end.
      let hi = ringHead[item];
      let lo = hi - size;
      let wrapped = 0;
      if (lo < 0) {
        wrapped = -lo;
        lo = 0;
      }
      for (;;) {
        for (let at = hi - 1; at >= lo; at--) {
          const other = ring[at];
          const oslot = other % cap;
          if (oslot === slot || slotTag[oslot] !== other) continue;
          if (stamp[oslot] === current) {
            simScores[index[oslot]] += w;
            continue;
          }
          if (found >= sample) continue;
          stamp[oslot] = current;
          index[oslot] = found;
          simIds[found] = oslot;
          simScores[found] = w;
          if (match !== undefined) match[found] = item;
          found++;
        }
        if (wrapped === 0) break;
        hi = ring.length;
        lo = hi - wrapped;
        wrapped = 0;
      }
    }
    sims.size = found;
    if (found === 0) return 0;
    const k = this.#k;
    const threshold = found <= k ? -Infinity : kthLargest(simScores, found, k, this.#scratch);
    const acc = this.#acc;
    acc.reset(this.#keys.size); // every id in the slab is one of the interner's
    const len = this.#len;
    const itemCount = this.#itemCount;
    let total = 0;
    if (match === undefined) total = acc.voteSessions(items, itemCount, len, simIds, simScores, found, k, threshold);
    else {
      for (let i = 0, taken = 0; i < found && taken < k; i++) {
        const s = simScores[i];
        if (s < threshold) continue;
        taken++;
        const oslot = simIds[i];
        total += this.#voteNear(oslot * len, itemCount[oslot], match[i], s);
      }
    }
    const top = acc.topInto(limit, this.topIds, this.topScores);
    for (let r = 0; r < top; r++) this.topScores[r] = Math.min(1, this.topScores[r] / total);
    return top;
  }

  /**
   * Votes for a neighbour's `n` items (at `obase`) with `s` times their weight by distance from `shared`, the item
   * the neighbour shares with the live session (STAN's third factor: Garg et al., SIGIR 2019, "Sequence and Time
   * Aware Neighborhood for Session-based Recommendations"); returns the weight given.
   */
  #voteNear(obase: number, n: number, shared: number, s: number): number {
    const items = this.#items;
    const decay = this.#decay as Float64Array;
    let p = n - 1;
    while (p > 0 && items[obase + p] !== shared) p--;
    let given = 0;
    for (let j = 0; j < n; j++) {
      const w = s * decay[j > p ? j - p : p - j];
      this.#acc.add(items[obase + j], w);
      given += w;
    }
    return given;
  }

  #sidFor(live: string, at: number): number {
    const state = this.#live.touch(live, at);
    if (!this.#isHeld(state.sid)) state.sid = this.#newSid();
    return state.sid;
  }

  /** True while session `sid` holds its slot: fewer than `maxSessions` sessions started after it. */
  #isHeld(sid: number): boolean {
    return this.#nextSid - sid <= this.#cap;
  }

  #newSid(): number {
    const sid = this.#nextSid++;
    if (sid % this.#sweepEvery === 0) this.#sweep();
    const slot = sid % this.#cap;
    this.#slotTag[slot] = sid % this.#tagSpace;
    this.#itemCount[slot] = 0;
    return sid;
  }

  /** Overwrites the ring entries of sessions gone with `goneTag`, before their tags can come back (see "Session numbers" above). */
  #sweep(): void {
    const cap = this.#cap;
    const slotTag = this.#slotTag;
    for (let item = 0; item < this.#rings.length; item++) {
      const ring = this.#rings[item];
      const size = this.#ringSize[item];
      for (let r = 0; r < size; r++) if (slotTag[ring[r] % cap] !== ring[r]) ring[r] = goneTag;
    }
  }

  #ring(item: number, tag: number): void {
    while (this.#rings.length <= item) {
      this.#rings.push(new Int32Array(4));
      this.#ringHead.push(0);
      this.#ringSize.push(0);
    }
    let ring = this.#rings[item];
    const size = this.#ringSize[item];
    if (size === ring.length && ring.length < this.#ringCap) {
      const grown = new Int32Array(Math.min(this.#ringCap, ring.length * 2));
      for (let r = 0; r < size; r++) grown[r] = ring[(this.#ringHead[item] + r) % size];
      ring = grown;
      this.#rings[item] = grown;
      this.#ringHead[item] = size;
    }
    ring[this.#ringHead[item] % ring.length] = tag;
    this.#ringHead[item] = (this.#ringHead[item] + 1) % ring.length;
    if (size < ring.length) this.#ringSize[item] = size + 1;
  }
}

/** The k-th largest of the first n values (1-based k <= n), by quickselect on a copy in `scratch`. */
function kthLargest(values: Float64Array, n: number, k: number, scratch: { a: Float64Array }): number {
  if (scratch.a.length < n) scratch.a = new Float64Array(Math.max(n, scratch.a.length * 2));
  const a = scratch.a;
  for (let i = 0; i < n; i++) a[i] = values[i];
  return kthLargestInPlace(a, n, k);
}
