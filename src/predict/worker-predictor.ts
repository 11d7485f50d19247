/**
 * WorkerPredictor: the EnsemblePredictor on a worker thread, behind the Predictor contract.
 *
 * Why: the models cost several microseconds of CPU per access and allocate as they learn. On the request thread
 * that time is taken out of the requests queued behind it, and the allocation lengthens every scavenge they wait
 * for: on a busy server the models, not the HTTP layer, set the tail latency of hits. On a worker of its own, at
 * the lowest scheduling priority, with a heap of its own, they use the cores the requests leave idle.
 *
 * What the request thread still does: `observe` appends to column arrays (no object per access) posted as one
 * batch per turn; the worker answers each batch with the predictions of every context the batch touched, kept
 * here (the most recent `maxContexts` contexts) and announced through `onFresh`, so the cache's prediction loop
 * offers them to the prefetch scheduler. `predict` answers from what was last announced, without waiting;
 * `predictNow` asks the worker, after everything observed so far.
 *
 * Backpressure: at most `maxBatchesInFlight` batches wait in the worker; accesses observed meanwhile collect, up to
 * `maxPending`, and past that are dropped and counted (the models then learn from fewer accesses, never delay a
 * read). A failed model is reported through `onError` and answers nothing; reads go on.
 */
import { MessageChannel, type Worker } from 'node:worker_threads';
import { contextKey, anonymous, checkContext, type ReadContext } from '../context.ts';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { fn, nestedOptions, optionsObject, positiveInt } from '../options.ts';
import { moduleBeside, startTsWorker } from '../worker-threads.ts';
import { EnsemblePredictor, type EnsemblePredictorOptions } from './ensemble-predictor.ts';
import type { Access, Prediction, Predictor } from './predictor.ts';
import { contextAt, type PredictionColumns, type WorkerReply, type WorkerRequest, type WorkerSetup } from './predictor-worker.ts';

export type WorkerPredictorOptions = {
  /** Options of the EnsemblePredictor the worker runs. @default {} */
  readonly ensemble?: EnsemblePredictorOptions;
  /** Predictions kept per context (announced after each batch): at least the cache's `prefetch.predictLimit`. @default 20 */
  readonly limit?: number;
  /** Contexts whose last predictions are kept here; at least `maxPending` (one batch's contexts must all fit). @default 10000 */
  readonly maxContexts?: number;
  /** Batches posted and not yet answered before accesses wait here. @default 2 */
  readonly maxBatchesInFlight?: number;
  /** Accesses waiting here at most; more are dropped and counted. @default 8192 */
  readonly maxPending?: number;
  /**
   * Told when the worker fails (the predictor then answers nothing and its worker is stopped), when a batch cannot be
   * sent (its accesses are dropped and counted), and when an `onFresh` listener throws. @default ignore
   */
  readonly onError?: (error: Error) => void;
};

/** Counters of a WorkerPredictor. */
export type WorkerPredictorStats = {
  /** Accesses sent to the worker, and dropped because it was behind. */
  readonly sent: number;
  readonly dropped: number;
  /** Accesses the worker has learned from, and the time it spent on them (and their predictions), in ms. */
  readonly observed: number;
  readonly workerBusyMs: number;
  readonly batchesInFlight: number;
  readonly contexts: number;
};

/**
 * The predictions of one context, copied out of the message they came in (a context must not pin a whole batch's
 * columns) and decoded into objects only when asked for.
 */
type Kept = Omit<PredictionColumns, 'ends'>;

export class WorkerPredictor implements Predictor {
  readonly name = 'ensemble';
  readonly #worker: Worker;
  readonly #limit: number;
  readonly #maxContexts: number;
  readonly #maxInFlight: number;
  readonly #maxPending: number;
  readonly #onError: (error: Error) => void;
  readonly #kept = new Map<string, Kept>();
  readonly #waiting = new Map<number, (reply: WorkerReply | undefined) => void>();
  /** Questions held until a batch slot frees up (they go after every access observed before them). */
  #questions: Array<{ readonly request: (id: number) => WorkerRequest; readonly resolve: (reply: WorkerReply | undefined) => void; readonly reject: (error: unknown) => void }> = [];
  #listener: ((ctx: ReadContext) => void) | undefined;
  #keys: string[] = [];
  #sessions: Array<string | undefined> = [];
  #users: Array<string | undefined> = [];
  #segments: Array<string | undefined> = [];
  #at: number[] = [];
  #isFlushQueued = false;
  #inFlight = 0;
  #nextId = 1;
  #sent = 0;
  #dropped = 0;
  #observed = 0;
  #busyMs = 0;
  #stateCount = 0;
  #failure: Error | undefined;

  /** Starts the worker. @throws InvalidOptionError (ERR_INVALID_OPTION) naming a bad option. */
  constructor(options: WorkerPredictorOptions = {}) {
    optionsObject(options);
    this.#limit = positiveInt('limit', options.limit, 20);
    this.#maxContexts = positiveInt('maxContexts', options.maxContexts, 10_000);
    this.#maxInFlight = positiveInt('maxBatchesInFlight', options.maxBatchesInFlight, 2);
    this.#maxPending = positiveInt('maxPending', options.maxPending, 8192);
    // One batch announces up to maxPending contexts before the cache reads any: fewer kept would drop its own.
    if (this.#maxContexts < this.#maxPending) throw new InvalidOptionError('maxContexts', `an integer of at least maxPending (${this.#maxPending})`, this.#maxContexts);
    this.#onError = fn('onError', options.onError, () => {});
    // Checked here, where the caller can see the error: in the worker a bad option would only end the worker.
    const { ensemble } = options;
    if (ensemble !== undefined && (typeof ensemble !== 'object' || ensemble === null || Array.isArray(ensemble))) throw new InvalidOptionError('ensemble', 'an object', ensemble);
    nestedOptions('ensemble', () => new EnsemblePredictor(options.ensemble));
    const setup: WorkerSetup = { options: options.ensemble ?? {}, limit: this.#limit };
    try {
      this.#worker = startTsWorker(moduleBeside(import.meta.url, 'predictor-worker'), { role: 'predictor', setup });
    } catch (error) {
      // A function or a symbol in the options passes the checks above but cannot be copied to the worker.
      throw new InvalidOptionError('ensemble', 'plain data a worker can receive', error instanceof Error ? error.message : error);
    }
    this.#worker.on('message', (reply: WorkerReply) => this.#receive(reply));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => {
      if (this.#failure === undefined) this.#fail(new PrescientError('ERR_INTERNAL', `The models' worker exited with code ${code}`));
    });
    // The worker must not keep the process alive: a server stops it in close(), a script simply ends. After the
    // listeners: a 'message' listener refs the worker's port again, so an unref before it would be undone.
    this.#worker.unref();
  }

  get stateCount(): number {
    return this.#stateCount;
  }

  /** @throws PrescientError ERR_INVALID_CONTEXT for a context the worker could not be sent (checkContext). */
  observe(access: Access): void {
    if (this.#failure !== undefined) return;
    if (this.#keys.length >= this.#maxPending) {
      this.#dropped++;
      return;
    }
    const { key, ctx, at } = access;
    // Checked here: a value that does not clone would fail the whole batch's post later, far from its caller.
    if (typeof key !== 'string') throw new PrescientError('ERR_INVALID_KEY', `Expected the access's key to be a string, got ${typeof key}`);
    if (ctx !== anonymous) checkContext(ctx);
    this.#keys.push(key);
    this.#sessions.push(ctx.session);
    this.#users.push(ctx.user);
    this.#segments.push(ctx.segment);
    this.#at.push(at);
    if (!this.#isFlushQueued) {
      // One batch per turn: a drain observes many accesses in one go; they travel together once it is done.
      this.#isFlushQueued = true;
      queueMicrotask(this.#flush);
    }
  }

  /** True while an access observed now would be dropped: the queue for the worker is full, or the worker failed or closed. */
  isBehind(): boolean {
    return this.#keys.length >= this.#maxPending || this.#failure !== undefined;
  }

  /** The last predictions announced for `ctx` (empty before the first), without waiting for the worker. */
  predict(ctx: ReadContext, limit: number): Prediction[] {
    const c = this.#failure === undefined ? this.#kept.get(contextKey(ctx)) : undefined; // closed or failed: nothing
    if (c === undefined) return [];
    const end = Math.min(c.keys.length, limit);
    const out: Prediction[] = [];
    for (let i = 0; i < end; i++) {
      const eta = c.etas[i];
      const source = c.sources[i];
      out.push({
        key: c.keys[i],
        probability: c.probabilities[i],
        ...(Number.isNaN(eta) ? {} : { etaMs: eta }),
        ...(source < 0 ? {} : { source: c.sourceNames[source] }),
      });
    }
    return out;
  }

  /** What the models expect next for `ctx`, asked of the worker after every access observed so far. */
  async predictNow(ctx: ReadContext, limit: number): Promise<Prediction[]> {
    checkContext(ctx);
    const reply = await this.#ask((id) => ({ t: 'predict', id, ctx: contextIds(ctx), limit }));
    return reply?.t === 'answer' ? [...reply.predictions] : [];
  }

  /** Resolves once the worker has learned from every access observed so far and announced its predictions. */
  async settle(): Promise<void> {
    await this.#ask((id) => ({ t: 'sync', id }));
  }

  onFresh(listener: (ctx: ReadContext) => void): void {
    this.#listener = listener;
  }

  stats(): WorkerPredictorStats {
    return { sent: this.#sent, dropped: this.#dropped, observed: this.#observed, workerBusyMs: this.#busyMs, batchesInFlight: this.#inFlight, contexts: this.#kept.size };
  }

  /** Stops the worker; later calls learn nothing and predict nothing. */
  async close(): Promise<void> {
    if (this.#failure === undefined) this.#failure = new PrescientError('ERR_CLOSED', 'The predictor is closed');
    this.#answerWaiting();
    // Held open by a ref'd message port until 'exit' comes: with the worker unref'd (it never holds a process open),
    // a script awaiting close() could otherwise end before the worker's exit is reported, close() left unsettled.
    const { port1: keepAlive } = new MessageChannel();
    keepAlive.ref();
    try {
      await this.#worker.terminate();
    } finally {
      keepAlive.close();
    }
  }

  readonly #flush = (): void => {
    this.#isFlushQueued = false;
    // A held question takes the free slot with the pending batch (else a steady stream of batches starves it).
    if (this.#questions.length > 0) this.#askWaiting();
    else if (this.#inFlight < this.#maxInFlight) this.#send();
  };

  /**
   * Posts the accesses collected so far as one batch (whatever the backpressure). A batch that cannot be posted (a
   * time that is not a number, say) is dropped and counted, and reported to `onError`: it must not hold a slot, nor
   * throw out of the microtask that flushes it.
   */
  #send(): void {
    const n = this.#keys.length;
    if (n === 0 || this.#failure !== undefined) return;
    try {
      this.#post({ t: 'batch', keys: this.#keys, at: Float64Array.from(this.#at), sessions: this.#sessions, users: this.#users, segments: this.#segments });
      this.#inFlight++;
      this.#sent += n;
    } catch (error) {
      this.#dropped += n;
      this.#report(new PrescientError('ERR_INTERNAL', `A batch of ${n} accesses could not be sent to the models' worker; they were dropped`, { cause: error }));
    }
    this.#keys = [];
    this.#sessions = [];
    this.#users = [];
    this.#segments = [];
    this.#at = [];
  }

  #receive(reply: WorkerReply): void {
    if (reply.t === 'fresh') {
      this.#inFlight--;
      this.#observed += reply.observed;
      this.#busyMs += reply.busyMs;
      this.#stateCount = reply.stateCount;
      const kept = this.#kept;
      for (let i = 0; i < reply.ends.length; i++) {
        const ctx = contextAt(reply, i);
        const k = contextKey(ctx);
        kept.delete(k);
        const start = i === 0 ? 0 : reply.ends[i - 1];
        const end = reply.ends[i];
        kept.set(k, {
          keys: reply.keys.slice(start, end),
          probabilities: reply.probabilities.slice(start, end),
          etas: reply.etas.slice(start, end),
          sources: reply.sources.slice(start, end),
          sourceNames: reply.sourceNames,
        });
        if (kept.size > this.#maxContexts) kept.delete(kept.keys().next().value as string);
        if (this.#failure === undefined && this.#listener !== undefined) {
          try {
            this.#listener(ctx);
          } catch (error) {
            this.#report(error); // the application's listener: its fault must not cost the other contexts
          }
        }
      }
      this.#flush();
    } else if (reply.t === 'error') {
      const cause = Object.assign(new Error(reply.message), { stack: reply.stack });
      this.#fail(new PrescientError('ERR_INTERNAL', `The models failed: ${reply.message}`, { cause }));
    } else {
      const resolve = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      // Questions held for a batch slot still need the worker: only with none left may the process end.
      if (this.#waiting.size === 0 && this.#questions.length === 0) this.#worker.unref();
      resolve?.(reply);
    }
  }

  /**
   * Posts what is pending, then a question; resolves with its reply (undefined once failed or closed). The question
   * is held while `maxBatchesInFlight` batches are out: it goes, after the pending batch, when one comes back. Posting
   * it at once (with the batch, past the cap) let an asker flood the worker's queue without bound and wait behind it
   * (a hunt saw 1,949 batches in flight and a 90 s answer).
   */
  #ask(request: (id: number) => WorkerRequest): Promise<WorkerReply | undefined> {
    if (this.#failure !== undefined) return Promise.resolve(undefined);
    const asked = new Promise<WorkerReply | undefined>((resolve, reject) => this.#questions.push({ request, resolve, reject }));
    // While a question waits, the worker holds the process open: a script awaiting `settle` must get its answer.
    this.#worker.ref();
    this.#askWaiting();
    return asked;
  }

  /** Sends the held questions, each after everything observed before it, while a batch slot is free. */
  #askWaiting(): void {
    if (this.#questions.length === 0 || this.#failure !== undefined || this.#inFlight >= this.#maxInFlight) return;
    this.#send(); // everything observed so far goes first: the questions are about all of it
    for (const { request, resolve, reject } of this.#questions.splice(0)) {
      const id = this.#nextId++;
      try {
        this.#post(request(id)); // posted first: a question that cannot be sent (a context that does not clone) waits for nothing
      } catch (error) {
        reject(error);
        continue;
      }
      this.#waiting.set(id, resolve);
    }
    if (this.#waiting.size === 0) this.#worker.unref();
  }

  /** Questions still waiting get no answer (undefined): the worker failed or closed. */
  #answerWaiting(): void {
    for (const resolve of this.#waiting.values()) resolve(undefined);
    this.#waiting.clear();
    for (const { resolve } of this.#questions.splice(0)) resolve(undefined);
    this.#worker.unref();
  }

  #post(message: WorkerRequest): void {
    this.#worker.postMessage(message);
  }

  /** The models are gone for good: answer nothing from now on, and free the worker's thread and heap at once. */
  #fail(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#answerWaiting();
    void this.#worker.terminate();
    this.#report(error);
  }

  /** Tells `onError`; a throwing `onError` is ignored (it runs inside the worker's message handling). */
  #report(error: unknown): void {
    try {
      this.#onError(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // nowhere left to report to
    }
  }
}

/** The context's ids only: any other field might not clone (and the models read no other). */
function contextIds(ctx: ReadContext): ReadContext {
  const ids: { session?: string; user?: string; segment?: string } = {};
  if (ctx.session !== undefined) ids.session = ctx.session;
  if (ctx.user !== undefined) ids.user = ctx.user;
  if (ctx.segment !== undefined) ids.segment = ctx.segment;
  return ids;
}
