/**
 * SequentialRulesPredictor: "b follows a within a few steps of the same session", counted with a weight that falls
 * with the distance, and read from the session's last key alone.
 *
 * Why: a first-order Markov table only learns what came right after a key; in clickstreams the item a visitor
 * returns to or moves on to after a detour is as telling. Sequential rules (Ludewig & Jannach 2018, "Evaluation of
 * session-based recommendation algorithms", their SR) count every pair (a, b) where b comes at most `window` steps
 * after a in one session, with weight 1 / distance, and predict the top successors of the session's last key. On
 * the yoochoose split (bench/predictor-accuracy.ts protocol) Recall@20 rises from 0.52 (Markov, order 1) to 0.59 at
 * a window of 5, for the price of a Markov table: predict is one table read, observe `window` weighted adds. As an
 * ensemble source it carries part of what session-kNN carries (BENCHMARKS.md, Next-request accuracy).
 * Sessions only: reads with no session and no user (one anonymous stream: block and object traces) are not learned
 * from, where read-ahead-like sources already answer and a window would blur the stream's interleaved scans.
 * Memory: a SuccessorTable bounded by `maxStates` x `maxSuccessors`; `window` ids per live session.
 */
import { liveKey, type ReadContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { nameOption, nonNegativeNumber, optionsObject, positiveInt } from '../options.ts';
import { internerOption, type KeyInterner } from './key-interner.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';
import { SessionRegistry } from './session-registry.ts';
import { SuccessorTable } from './successor-table.ts';

/** Options of SequentialRulesPredictor. */
export type SequentialRulesPredictorOptions = {
  /** Most steps between a key and a later key of the same session for the pair to count (1..16). @default 5 */
  readonly window?: number;
  /** Successors kept per key (1..255); the tail is summarised. @default 20 */
  readonly maxSuccessors?: number;
  /** Most keys with a successor list. @default 200000 */
  readonly maxStates?: number;
  /** Most live sessions tracked. @default 20000 */
  readonly maxSessions?: number;
  /** A session idle longer than this, in ms, is dropped. @default 1800000 (30 minutes) */
  readonly sessionIdleMs?: number;
  /** Interning table shared with other models (the ensemble passes one); a private one by default. */
  readonly keys?: KeyInterner;
  /** Name reported in predictions. @default 'sequential-rules' */
  readonly name?: string;
};

/** A live session's last `window` key ids (a ring) and how many it has read. */
type History = { ids: Int32Array; len: number };

/** Weighted within-window successor counts per key. */
export class SequentialRulesPredictor implements Predictor {
  readonly name: string;
  readonly #window: number;
  readonly #maxSuccessors: number;
  readonly #keys: KeyInterner;
  readonly #table: SuccessorTable;
  readonly #sessions: SessionRegistry<History>;
  /** 1 / distance, by distance. */
  readonly #weight: Float64Array;
  #tick = 0;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) naming a bad option. */
  constructor(options: SequentialRulesPredictorOptions = {}) {
    optionsObject(options);
    this.name = nameOption('name', options.name, 'sequential-rules');
    const window = positiveInt('window', options.window, 5);
    if (window > 16) throw new InvalidOptionError('window', 'an integer from 1 to 16', window);
    this.#window = window;
    const maxSuccessors = positiveInt('maxSuccessors', options.maxSuccessors, 20);
    if (maxSuccessors > 255) throw new InvalidOptionError('maxSuccessors', 'an integer from 1 to 255', maxSuccessors);
    this.#maxSuccessors = maxSuccessors;
    const maxStates = positiveInt('maxStates', options.maxStates, 200_000);
    const maxSessions = positiveInt('maxSessions', options.maxSessions, 20_000);
    const idleMs = nonNegativeNumber('sessionIdleMs', options.sessionIdleMs, 30 * 60_000, true);
    this.#keys = internerOption(options.keys);
    this.#table = new SuccessorTable({ maxStates, maxSuccessors, halfLife: Infinity });
    this.#sessions = new SessionRegistry(maxSessions, idleMs, () => ({ ids: new Int32Array(window), len: 0 }));
    this.#weight = Float64Array.from({ length: window + 1 }, (_, d) => (d === 0 ? 0 : 1 / d));
  }

  /** Keys with a successor list. */
  get stateCount(): number {
    return this.#table.size;
  }

  observe(access: Access): void {
    const live = liveKey(access.ctx);
    if (live === undefined) return;
    const h = this.#sessions.touch(live, access.at);
    const id = this.#keys.id(access.key);
    const tick = ++this.#tick;
    const w = this.#window;
    const n = Math.min(h.len, w);
    for (let d = 1; d <= n; d++) this.#table.add(h.ids[(h.len - d) % w], id, tick, this.#weight[d]);
    h.ids[h.len % w] = id;
    h.len++;
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    const ids = new Int32Array(limit > 0 ? Math.min(Math.floor(limit), this.#maxSuccessors) : 0);
    const probs = new Float64Array(ids.length);
    const n = this.predictIds(ctx, ids.length, ids, probs);
    const out: Prediction[] = new Array(n);
    for (let r = 0; r < n; r++) out[r] = { key: this.#keys.key(ids[r]), probability: probs[r], source: this.name };
    return out;
  }

  /**
   * Id-level predict for the ensemble: writes up to `limit` successor ids of the session's last key (ids of the
   * interner passed as `keys`) and their shares of its weighted count into `ids` / `probs`, highest first.
   */
  predictIds(ctx: ReadContext, limit: number, ids: Int32Array, probs: Float64Array): number {
    const live = liveKey(ctx);
    const h = live === undefined ? undefined : this.#sessions.peek(live);
    if (h === undefined || h.len === 0 || !(limit > 0)) return 0;
    const table = this.#table;
    const slot = table.find(h.ids[(h.len - 1) % this.#window]);
    if (slot < 0) return 0;
    const total = table.total(slot);
    const n = Math.min(limit, table.length(slot), ids.length);
    for (let r = 0; r < n; r++) {
      ids[r] = table.idAt(slot, r);
      probs[r] = Math.min(1, table.countAt(slot, r) / total); // Float32 counts over a Float64 total may round past 1
    }
    return n;
  }
}
