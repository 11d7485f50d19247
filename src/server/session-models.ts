/**
 * SessionModels: the service's models and what the session routes ask of them — record an action, prefetch for an
 * action, say what comes next.
 *
 * The EnsemblePredictor runs on the request thread under the prediction budget (`cache.modelThread: "main"`, the
 * default), or on a worker thread of its own (`"worker"`, WorkerPredictor): the request thread then only hands
 * accesses over, and the models' CPU time and garbage stay off the path of the hits — a gain where cores are spare;
 * on a 2-core machine shared with the load generator it measured slower (bench/server-throughput.ts, both rows).
 * An injected predictor (tests, benchmarks) runs where it is given.
 *
 * The cache sees the models through ActionFilterPredictor (action keys are never prefetched). Questions the API
 * answers (predictions, a prefetch for an action) go to the worker after everything observed so far, so an answer
 * reflects the request's own action and the reads before it.
 */
import type { Cache } from '../cache/cache.ts';
import type { Clock } from '../clock.ts';
import type { ReadContext } from '../context.ts';
import { EnsemblePredictor } from '../predict/ensemble-predictor.ts';
import type { Prediction, Predictor } from '../predict/predictor.ts';
import { WorkerPredictor, type WorkerPredictorStats } from '../predict/worker-predictor.ts';
import { ActionFilterPredictor, actionKey, isActionKey, overAsk } from './action-predictor.ts';
import type { ServerConfig } from './config.ts';
import type { ServiceLogger } from './write-path.ts';

/** A prediction as the API answers it. */
export type ApiPrediction = { readonly key: string; readonly probability: number; readonly source?: string; readonly etaMs?: number };

export class SessionModels {
  /** What the cache predicts with. */
  readonly predictor: Predictor;
  readonly #inner: Predictor;
  readonly #remote: WorkerPredictor | undefined;
  readonly #clock: Clock;

  constructor(options: { readonly config: ServerConfig; readonly clock: Clock; readonly predictor?: Predictor; readonly logger?: ServiceLogger }) {
    const { config } = options;
    this.#clock = options.clock;
    if (options.predictor === undefined && config.cache.modelThread === 'worker') {
      this.#remote = new WorkerPredictor({
        // ActionFilterPredictor asks for `overAsk` times what the cache wants, to drop action keys from it.
        limit: config.cache.predictLimit * overAsk,
        ensemble: { maxKeys: config.cache.modelKeys },
        onError: (error) => options.logger?.warn({ err: error, code: 'ERR_INTERNAL' }, 'the models failed; serving without predictions'),
      });
    }
    this.#inner = this.#remote ?? options.predictor ?? new EnsemblePredictor({ maxKeys: config.cache.modelKeys });
    this.predictor = new ActionFilterPredictor(this.#inner);
  }

  /**
   * Records `action` (and the item it applied to, when given) in the session's behaviour profile: the models
   * observe `action:<name>` then `key` as accesses of the session, after every read already buffered.
   */
  recordAction(cache: Cache<unknown>, ctx: ReadContext, action: string, key?: string): void {
    cache.flush();
    const at = this.#clock.now();
    this.#inner.observe({ key: actionKey(action), at, ctx });
    if (key !== undefined) this.#inner.observe({ key, at, ctx });
  }

  /** What the models expect next for `ctx`: items (probability order) and actions, `limit` of each at most. */
  async predictions(cache: Cache<unknown>, ctx: ReadContext, limit: number): Promise<{ items: ApiPrediction[]; actions: ApiPrediction[] }> {
    const all = await this.#predictNow(cache, ctx, limit * overAsk);
    const items = all.filter((p) => !isActionKey(p.key)).slice(0, limit).map(toApi);
    const actions = all
      .filter((p) => isActionKey(p.key))
      .slice(0, limit)
      .map((p) => ({ ...toApi(p), key: p.key.slice(actionKey('').length) }));
    return { items, actions };
  }

  /** Counters of the worker (undefined when the models run on the request thread). */
  stats(): WorkerPredictorStats | undefined {
    return this.#remote?.stats();
  }

  /** Stops the worker, if any. */
  async close(): Promise<void> {
    await this.#remote?.close();
  }

  /** Predictions for `ctx` after every access observed so far (and buffered in the cache). */
  async #predictNow(cache: Cache<unknown>, ctx: ReadContext, limit: number): Promise<Prediction[]> {
    cache.flush();
    return this.#remote === undefined ? this.#inner.predict(ctx, limit) : this.#remote.predictNow(ctx, limit);
  }
}

function toApi(p: Prediction): ApiPrediction {
  const out: { key: string; probability: number; source?: string; etaMs?: number } = { key: p.key, probability: p.probability };
  if (p.source !== undefined) out.source = p.source;
  if (p.etaMs !== undefined) out.etaMs = p.etaMs;
  return out;
}
