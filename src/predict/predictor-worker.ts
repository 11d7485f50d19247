/**
 * The worker side of WorkerPredictor: an EnsemblePredictor on its own thread, at the lowest scheduling priority.
 *
 * It observes each batch of accesses it is sent, then predicts for every context the batch touched (as of the
 * context's last access) and sends the answers back in one compact message: parallel arrays rather than an object
 * per prediction, because the request thread pays for decoding whatever comes back.
 *
 * Messages in (WorkerRequest): `batch`, `predict` (an explicit question, answered in order after the
 * batches before it), `sync`. Out (WorkerReply): `fresh` (one per batch), `answer`, `synced`, `error`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../clock.ts';
import { contextKey, type ReadContext } from '../context.ts';
import { lowerThreadPriority } from '../worker-threads.ts';
import { EnsemblePredictor, type EnsemblePredictorOptions } from './ensemble-predictor.ts';
import type { Prediction } from './predictor.ts';

/** Contexts as parallel arrays (an absent field is undefined). */
export type ContextColumns = {
  readonly sessions: ReadonlyArray<string | undefined>;
  readonly users: ReadonlyArray<string | undefined>;
  readonly segments: ReadonlyArray<string | undefined>;
};

/** Predictions for several contexts as parallel arrays: context i owns entries `ends[i - 1] .. ends[i] - 1`. */
export type PredictionColumns = {
  readonly ends: Uint32Array;
  readonly keys: readonly string[];
  readonly probabilities: Float64Array;
  /** NaN where the model gave no eta. */
  readonly etas: Float64Array;
  /** Index into `sourceNames`, -1 where the model named none. */
  readonly sources: Int16Array;
  readonly sourceNames: readonly string[];
};

export type WorkerRequest =
  | ({ readonly t: 'batch'; readonly keys: readonly string[]; readonly at: Float64Array } & ContextColumns)
  | { readonly t: 'predict'; readonly id: number; readonly ctx: ReadContext; readonly limit: number }
  | { readonly t: 'sync'; readonly id: number };

export type WorkerReply =
  | ({ readonly t: 'fresh'; readonly observed: number; readonly busyMs: number; readonly stateCount: number } & ContextColumns & PredictionColumns)
  | { readonly t: 'answer'; readonly id: number; readonly predictions: readonly Prediction[] }
  | { readonly t: 'synced'; readonly id: number }
  | { readonly t: 'error'; readonly message: string; readonly stack?: string };

/** What the worker is started with. */
export type WorkerSetup = {
  readonly options: EnsemblePredictorOptions;
  /** Predictions sent per fresh context. */
  readonly limit: number;
};

/** Encodes `lists` (one per context) as PredictionColumns. */
export function toColumns(lists: ReadonlyArray<readonly Prediction[]>): PredictionColumns {
  let n = 0;
  for (const list of lists) n += list.length;
  const ends = new Uint32Array(lists.length);
  const keys: string[] = new Array(n);
  const probabilities = new Float64Array(n);
  const etas = new Float64Array(n);
  const sources = new Int16Array(n);
  const sourceNames: string[] = [];
  const sourceIndex = new Map<string, number>();
  let i = 0;
  lists.forEach((list, c) => {
    for (const p of list) {
      keys[i] = p.key;
      probabilities[i] = p.probability;
      etas[i] = p.etaMs ?? Number.NaN;
      let s = -1;
      if (p.source !== undefined) {
        s = sourceIndex.get(p.source) ?? -1;
        if (s < 0) {
          s = sourceNames.push(p.source) - 1;
          sourceIndex.set(p.source, s);
        }
      }
      sources[i] = s;
      i++;
    }
    ends[c] = i;
  });
  return { ends, keys, probabilities, etas, sources, sourceNames };
}

/** The `index`-th context of `columns`, with only the fields it has. */
export function contextAt(columns: ContextColumns, index: number): ReadContext {
  const ctx: { session?: string; user?: string; segment?: string } = {};
  const session = columns.sessions[index];
  const user = columns.users[index];
  const segment = columns.segments[index];
  if (session !== undefined) ctx.session = session;
  if (user !== undefined) ctx.user = user;
  if (segment !== undefined) ctx.segment = segment;
  return ctx;
}

const port = parentPort;
if (port !== null && (workerData as { role?: string } | null)?.role === 'predictor') {
  lowerThreadPriority();
  const setup = (workerData as { setup: WorkerSetup }).setup;
  const model = new EnsemblePredictor(setup.options);
  const reply = (message: WorkerReply): void => port.postMessage(message);
  port.on('message', (m: WorkerRequest) => {
    try {
      if (m.t === 'batch') {
        const started = systemClock.now();
        const latest = new Map<string, number>();
        for (let i = 0; i < m.keys.length; i++) {
          const ctx = contextAt(m, i);
          model.observe({ key: m.keys[i], at: m.at[i], ctx });
          const k = contextKey(ctx);
          latest.delete(k);
          latest.set(k, i);
        }
        const at = [...latest.values()];
        const ctxs = at.map((i) => contextAt(m, i));
        const columns = toColumns(ctxs.map((ctx) => model.predict(ctx, setup.limit)));
        reply({
          t: 'fresh',
          observed: m.keys.length,
          busyMs: systemClock.now() - started,
          stateCount: model.stateCount,
          sessions: at.map((i) => m.sessions[i]),
          users: at.map((i) => m.users[i]),
          segments: at.map((i) => m.segments[i]),
          ...columns,
        });
      } else if (m.t === 'predict') {
        reply({ t: 'answer', id: m.id, predictions: model.predict(m.ctx, m.limit) });
      } else {
        reply({ t: 'synced', id: m.id });
      }
    } catch (error) {
      reply(error instanceof Error ? { t: 'error', message: error.message, stack: error.stack } : { t: 'error', message: String(error) });
    }
  });
}
