/**
 * MarkovPredictor: variable-order Markov model of the next key, given the last 1..k keys of the session.
 *
 * Why: the next request depends mostly on the last one or two (first-order Markov prefetching, Padmanabhan &
 * Mogul 1996), but a longer context disambiguates when it has been seen enough. Orders 1..k are blended the way
 * PPM blends contexts (Cleary & Witten 1984, "Data compression using adaptive coding and partial string
 * matching"), with Witten-Bell escape: an order-j context with n observations over u distinct successors gets
 * weight n / (n + u) and passes the rest to order j-1. `mode: 'backoff'` instead trusts the highest order seen
 * and only fills with lower orders; `mode: 'fixed'` uses order k alone (the baseline the blend is measured
 * against). Contexts with fewer than `minObservations` (decayed) observations are skipped, as selective Markov
 * models prune low-support states (Deshpande & Karypis 2004).
 * Three scopes of tables learn the same contexts: global, per segment and per user; a prediction mixes them,
 * the user's weight growing as n / (n + userConfidence) with the user's observation count, the segment's likewise.
 * Memory is bounded by `maxStates` (one table for all scopes by default), `maxSuccessors`, `maxSessions`
 * and `maxUsers`; the key interning table grows with distinct keys.
 * Cost per access: (scopes x orders) hashed table updates; predict reads the same states.
 */
import { isAnonymous, type ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { nameOption, nonNegativeNumber, numberInRange, oneOf, optionsObject, positiveInt } from '../options.ts';
import { CandidateSet } from './candidate-set.ts';
import { mixKey, scopeSeed } from './context-hash.ts';
import { internerOption, type KeyInterner } from './key-interner.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';
import { SessionRegistry } from './session-registry.ts';
import { SuccessorTable } from './successor-table.ts';

/** A model scope: which population a transition table learns from. */
export type MarkovScope = 'global' | 'segment' | 'user';

/** Options of MarkovPredictor. */
export type MarkovPredictorOptions = {
  /** Longest context in keys (1..8). @default 2 (measured best blend on yoochoose, diginetica and msnbc) */
  readonly maxOrder?: number;
  /** How orders combine: PPM-style interpolation, back-off to lower orders, or order `maxOrder` only. @default 'blend' */
  readonly mode?: 'blend' | 'backoff' | 'fixed';
  /** Decayed observations a context needs before it predicts. @default 1 */
  readonly minObservations?: number;
  /** Half-life of transition counts, in accesses; Infinity disables decay. @default Infinity (decay measured to cost accuracy) */
  readonly halfLifeAccesses?: number;
  /** Successors kept per context (1..255); the tail is summarised. @default 12 */
  readonly maxSuccessors?: number;
  /** Most contexts kept, summed over scopes. @default 200000 */
  readonly maxStates?: number;
  /** Most live sessions tracked. @default 20000 */
  readonly maxSessions?: number;
  /** A session idle longer than this, in ms, is dropped. @default 1800000 (30 minutes) */
  readonly sessionIdleMs?: number;
  /** Most users whose observation count and recent keys are tracked. @default 20000 */
  readonly maxUsers?: number;
  /** Which scopes learn; 'global' is always included. @default ['global', 'segment', 'user'] */
  readonly scopes?: readonly MarkovScope[];
  /** Observations at which a user's (or segment's) model gets half the weight, c in n / (n + c). @default 10 */
  readonly userConfidence?: number;
  /** Leave out the key the session just read ('last') or nothing ('none'). @default 'none' (repeats are common) */
  readonly exclude?: 'none' | 'last';
  /**
   * When a context longer than one key gets a state: 'always'; 'ambiguous' — only once the shorter context it
   * extends has seen two different successors (a context that always leads to the same key gains nothing from a
   * longer one, and on traces of mostly one-off pairs those states crowd out the useful ones); 'when-full' —
   * 'always' while the table has room, 'ambiguous' once it is full. Measured: 'ambiguous' gains 0.5-0.6 points
   * on scarab (its table is full) and costs 0.1-0.2 on yoochoose (its table never fills). @default 'when-full'
   */
  readonly growOrders?: 'always' | 'ambiguous' | 'when-full';
  /**
   * How `maxStates` is spent over scopes: 'shared' — one table, whichever scope's contexts are in use hold the
   * states (an anonymous trace gets them all); 'split' — half to the global scope, a quarter each to user and
   * segment, fixed. Measured on scarab (anonymous, 135k keys): the split left the global scope 100k states, fewer
   * than its first-order contexts alone, and cost 3 points of hit ratio. @default 'shared'
   */
  readonly scopeStates?: 'shared' | 'split';
  /** Interning table shared with other models (the ensemble passes one); a private one by default. */
  readonly keys?: KeyInterner;
  /** Name reported in predictions. @default 'markov' */
  readonly name?: string;
};

type History = { ids: Int32Array; len: number; count: number };

const scopeSeeds = { global: 1, segment: 2, user: 3 } as const;
/** Most predictions one call answers: a larger `limit` would only size scratch arrays kept for good. */
const maxPredictions = 1024;

/** Variable-order Markov predictor with global, per-segment and per-user tables. */
export class MarkovPredictor implements Predictor {
  readonly name: string;
  readonly #k: number;
  readonly #mode: 'blend' | 'backoff' | 'fixed';
  readonly #minObs: number;
  readonly #c: number;
  readonly #exclude: 'none' | 'last';
  readonly #keys: KeyInterner;
  readonly #slots: Int32Array;
  readonly #scopeNames: Record<MarkovScope, string>;
  #topIds = new Int32Array(32);
  #topScores = new Float64Array(32);
  readonly #global: SuccessorTable;
  readonly #segment: SuccessorTable | undefined;
  readonly #user: SuccessorTable | undefined;
  readonly #sessions: SessionRegistry<History>;
  readonly #users: SessionRegistry<History>;
  readonly #segments: SessionRegistry<History>;
  readonly #anonymous: History;
  readonly #grow: 'always' | 'ambiguous' | 'when-full';
  readonly #acc = new CandidateSet();
  readonly #part = new CandidateSet();
  #tick = 0;

  constructor(options: MarkovPredictorOptions = {}) {
    optionsObject(options);
    this.name = nameOption('name', options.name, 'markov');
    this.#keys = internerOption(options.keys);
    this.#scopeNames = { global: `${this.name}:global`, segment: `${this.name}:segment`, user: `${this.name}:user` };
    this.#k = numberInRange('maxOrder', options.maxOrder, 1, 8, 2);
    if (!Number.isInteger(this.#k)) throw new InvalidOptionError('maxOrder', 'an integer from 1 to 8', options.maxOrder);
    this.#slots = new Int32Array(this.#k);
    this.#mode = oneOf('mode', options.mode, ['blend', 'backoff', 'fixed'] as const, 'blend');
    this.#minObs = nonNegativeNumber('minObservations', options.minObservations, 1);
    const halfLife = nonNegativeNumber('halfLifeAccesses', options.halfLifeAccesses, Infinity, true);
    if (halfLife === 0) throw new InvalidOptionError('halfLifeAccesses', 'a positive number or Infinity', 0);
    const maxSuccessors = positiveInt('maxSuccessors', options.maxSuccessors, 12);
    if (maxSuccessors > 255) throw new InvalidOptionError('maxSuccessors', 'an integer from 1 to 255', maxSuccessors);
    const maxStates = positiveInt('maxStates', options.maxStates, 200_000);
    const maxSessions = positiveInt('maxSessions', options.maxSessions, 20_000);
    const idleMs = nonNegativeNumber('sessionIdleMs', options.sessionIdleMs, 30 * 60_000, true);
    const maxUsers = positiveInt('maxUsers', options.maxUsers, 20_000);
    this.#c = nonNegativeNumber('userConfidence', options.userConfidence, 10);
    this.#exclude = oneOf('exclude', options.exclude, ['none', 'last'] as const, 'none');
    this.#grow = oneOf('growOrders', options.growOrders, ['always', 'ambiguous', 'when-full'] as const, 'when-full');
    const scopes = options.scopes === undefined ? ['global', 'segment', 'user'] : options.scopes;
    if (!Array.isArray(scopes)) throw new InvalidOptionError('scopes', 'an array of scopes', scopes);
    for (const s of scopes) oneOf('scopes', s, ['global', 'segment', 'user'] as const);
    const wide = scopes.includes('segment') || scopes.includes('user') ? 2 : 1;
    const share = scopes.includes('segment') && scopes.includes('user') ? 4 : 2;
    if (maxStates < share) throw new InvalidOptionError('maxStates', `an integer of at least ${share} with these scopes`, maxStates);
    const table = (n: number) => new SuccessorTable({ maxStates: n, maxSuccessors, halfLife });
    if (oneOf('scopeStates', options.scopeStates, ['shared', 'split'] as const, 'shared') === 'shared') {
      // Scope seeds keep the scopes' contexts apart inside one table; recency decides which scope's states go.
      this.#global = table(maxStates);
      this.#segment = scopes.includes('segment') ? this.#global : undefined;
      this.#user = scopes.includes('user') ? this.#global : undefined;
    } else {
      this.#global = table(Math.floor(maxStates / wide));
      this.#segment = scopes.includes('segment') ? table(Math.floor(maxStates / share)) : undefined;
      this.#user = scopes.includes('user') ? table(Math.floor(maxStates / share)) : undefined;
    }
    const history = (): History => ({ ids: new Int32Array(this.#k), len: 0, count: 0 });
    this.#sessions = new SessionRegistry(maxSessions, idleMs, history);
    this.#users = new SessionRegistry(maxUsers, Infinity, history);
    this.#segments = new SessionRegistry(maxUsers, Infinity, history);
    this.#anonymous = history();
  }

  /** Contexts held over all scopes (never above `maxStates`). */
  get stateCount(): number {
    // With scopeStates 'shared' the scopes' tables are the global one: count it once.
    const g = this.#global;
    return g.size + (this.#segment !== g ? (this.#segment?.size ?? 0) : 0) + (this.#user !== g ? (this.#user?.size ?? 0) : 0);
  }

  /** Live sessions tracked. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Observations seen from the context's user (scope 'user') or segment (scope 'segment'); all for 'global'. */
  observations(scope: MarkovScope, ctx: ReadContext): number {
    if (scope === 'global') return this.#tick;
    const id = scope === 'user' ? ctx.user : ctx.segment;
    if (id === undefined) return 0;
    return (scope === 'user' ? this.#users : this.#segments).peek(id)?.count ?? 0;
  }

  observe(access: Access): void {
    const id = this.#keys.id(access.key);
    const ctx = access.ctx;
    const tick = ++this.#tick;
    const at = access.at;
    const user = ctx.user === undefined ? undefined : this.#users.touch(ctx.user, at);
    const h = ctx.session !== undefined ? this.#sessions.touch(ctx.session, at) : (user ?? this.#anonymous);
    if (h.len > 0) {
      this.#learn(this.#global, scopeSeeds.global, h, id, tick);
      if (this.#segment !== undefined && ctx.segment !== undefined) {
        this.#learn(this.#segment, scopeSeed(scopeSeeds.segment, ctx.segment), h, id, tick);
      }
      if (this.#user !== undefined && ctx.user !== undefined) {
        this.#learn(this.#user, scopeSeed(scopeSeeds.user, ctx.user), h, id, tick);
      }
    }
    push(h, id);
    if (user !== undefined && user !== h) push(user, id);
    if (ctx.segment !== undefined) this.#segments.touch(ctx.segment, at).count++;
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    const h = this.#history(ctx);
    if (h === undefined || h.len === 0 || !(limit > 0)) return [];
    const acc = this.#acc;
    acc.clear();
    let wUser = 0;
    let wSegment = 0;
    let gotUser = false;
    let gotSegment = false;
    if (this.#user !== undefined && ctx.user !== undefined) {
      const n = this.observations('user', ctx);
      wUser = n === 0 ? 0 : n / (n + this.#c); // 0 / 0 with userConfidence 0 would poison every weight
      gotUser = this.#accumulate(this.#user, scopeSeed(scopeSeeds.user, ctx.user), h, wUser, acc);
    }
    if (this.#segment !== undefined && ctx.segment !== undefined) {
      const n = this.observations('segment', ctx);
      wSegment = n === 0 ? 0 : (gotUser ? 1 - wUser : 1) * (n / (n + this.#c));
      gotSegment = this.#accumulate(this.#segment, scopeSeed(scopeSeeds.segment, ctx.segment), h, wSegment, acc);
    }
    const wGlobal = 1 - (gotUser ? wUser : 0) - (gotSegment ? wSegment : 0);
    const gotGlobal = this.#accumulate(this.#global, scopeSeeds.global, h, wGlobal, acc);
    const norm = (gotUser ? wUser : 0) + (gotSegment ? wSegment : 0) + (gotGlobal ? wGlobal : 0);
    if (norm <= 0) return [];
    if (this.#exclude === 'last') {
      const i = acc.indexOf(h.ids[0]);
      if (i >= 0) acc.scores[i] = 0;
    }
    const source = gotUser && wUser >= 0.5 ? `${this.name}:user` : this.name;
    const top = acc.top(Math.min(Math.floor(limit), maxPredictions));
    const out: Prediction[] = new Array(top.length);
    for (let r = 0; r < top.length; r++) {
      const i = top[r];
      out[r] = { key: this.#keys.key(acc.ids[i]), probability: Math.min(1, acc.scores[i] / norm), source };
    }
    return out;
  }

  /** Predictions from one scope's tables alone (the ensemble weighs scopes by their measured accuracy). */
  predictScope(scope: MarkovScope, ctx: ReadContext, limit: number): Prediction[] {
    if (!(limit > 0)) return [];
    limit = Math.min(Math.floor(limit), maxPredictions);
    if (this.#topIds.length < limit) {
      this.#topIds = new Int32Array(limit);
      this.#topScores = new Float64Array(limit);
    }
    const n = this.predictScopeIds(scope, ctx, limit, this.#topIds, this.#topScores);
    const source = this.#scopeNames[scope];
    const out: Prediction[] = new Array(n);
    for (let r = 0; r < n; r++) out[r] = { key: this.#keys.key(this.#topIds[r]), probability: this.#topScores[r], source };
    return out;
  }

  /**
   * Id-level `predictScope` for the ensemble: writes up to `limit` key ids (of the interner passed as `keys`)
   * and probabilities into `ids` / `probabilities` (each at least `limit` long), highest first; returns how many.
   */
  predictScopeIds(scope: MarkovScope, ctx: ReadContext, limit: number, ids: Int32Array, probabilities: Float64Array): number {
    const h = this.#history(ctx);
    if (h === undefined || h.len === 0 || !(limit > 0)) return 0;
    let table: SuccessorTable | undefined = this.#global;
    let seed: number = scopeSeeds.global;
    if (scope === 'user') {
      if (ctx.user === undefined || this.#user === undefined) return 0;
      table = this.#user;
      seed = scopeSeed(scopeSeeds.user, ctx.user);
    } else if (scope === 'segment') {
      if (ctx.segment === undefined || this.#segment === undefined) return 0;
      table = this.#segment;
      seed = scopeSeed(scopeSeeds.segment, ctx.segment);
    }
    // One scope alone: its blended distribution is the answer, ranked straight from the scratch it was built in.
    if (!this.#accumulate(table, seed, h, 1, undefined)) return 0;
    const acc = this.#part;
    if (this.#exclude === 'last') {
      const i = acc.indexOf(h.ids[0]);
      if (i >= 0) acc.scores[i] = 0;
    }
    const n = acc.topInto(limit, ids, probabilities);
    for (let r = 0; r < n; r++) if (probabilities[r] > 1) probabilities[r] = 1;
    return n;
  }

  #history(ctx: ReadContext): History | undefined {
    if (ctx.session !== undefined) {
      const s = this.#sessions.peek(ctx.session);
      if (s !== undefined) return s;
    }
    if (ctx.user !== undefined) {
      const u = this.#users.peek(ctx.user);
      if (u !== undefined) return u;
    }
    return isAnonymous(ctx) ? this.#anonymous : undefined;
  }

  #learn(table: SuccessorTable, seed: number, h: History, id: number, tick: number): void {
    let key = seed;
    const top = Math.min(this.#k, h.len);
    for (let j = 0; j < top; j++) {
      const parent = key;
      key = mixKey(key, h.ids[j]);
      if (this.#mode === 'fixed') {
        if (j === this.#k - 1) table.add(key, id, tick);
        continue;
      }
      if (j > 0 && this.#grow !== 'always' && (this.#grow === 'ambiguous' || table.size >= table.maxStates) && table.find(key) < 0) {
        // A longer context is only worth a state when the shorter one it extends has not settled on one successor.
        const p = table.find(parent);
        if (p < 0 || (table.length(p) < 2 && table.other(p) === 0)) break;
      }
      table.add(key, id, tick);
    }
  }

  /**
   * Adds `weight` x this scope's order-blended distribution into `acc` (or, without `acc`, leaves it in `#part`);
   * false when no context qualified.
   */
  #accumulate(table: SuccessorTable, seed: number, h: History, weight: number, acc: CandidateSet | undefined): boolean {
    const part = this.#part;
    part.clear();
    const top = Math.min(this.#k, h.len);
    let key = seed;
    let found = false;
    let escape = 1;
    const slots = this.#slots;
    for (let j = 0; j < top; j++) {
      key = mixKey(key, h.ids[j]);
      const slot = table.find(key);
      const ok = slot >= 0 && (this.#mode !== 'fixed' || j === this.#k - 1) && table.effectiveTotal(slot, this.#tick) >= this.#minObs;
      slots[j] = ok ? slot : -1;
    }
    if (this.#mode === 'backoff') {
      for (let j = top - 1; j >= 0; j--) {
        const slot = slots[j];
        if (slot < 0) continue;
        const n = table.total(slot);
        const len = table.length(slot);
        let fresh = 0;
        for (let i = 0; i < len; i++) {
          const id = table.idAt(slot, i);
          if (part.indexOf(id) >= 0) continue;
          part.add(id, (escape * table.countAt(slot, i)) / n);
          fresh++;
        }
        found = true;
        const u = len + (table.other(slot) > 0 ? 1 : 0);
        escape *= u / (n + u);
        if (fresh === 0 && len === 0) break;
      }
    } else {
      for (let j = 0; j < top; j++) {
        const slot = slots[j];
        if (slot < 0) continue;
        const n = table.total(slot);
        const len = table.length(slot);
        const u = len + (table.other(slot) > 0 ? 1 : 0);
        const lambda = this.#mode === 'fixed' || !found ? 1 : n / (n + u);
        if (lambda < 1) for (let i = 0; i < part.size; i++) part.scores[i] *= 1 - lambda;
        for (let i = 0; i < len; i++) part.add(table.idAt(slot, i), (lambda * table.countAt(slot, i)) / n);
        found = true;
      }
    }
    if (!found) return false;
    if (acc !== undefined) for (let i = 0; i < part.size; i++) acc.add(part.ids[i], weight * part.scores[i]);
    return true;
  }
}

function push(h: History, id: number): void {
  const ids = h.ids;
  // An element loop, not copyWithin: TypedArray copyWithin is a C++ builtin, whose call costs far more than moving
  // the one or two ids of a history (maxOrder is at most 8).
  for (let i = ids.length - 1; i > 0; i--) ids[i] = ids[i - 1];
  ids[0] = id;
  if (h.len < ids.length) h.len++;
  h.count++;
}
