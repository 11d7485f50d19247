/**
 * FeedEvents: where a ChangeFeed's events and faults go — its listeners and its logger — and the count of faults.
 *
 * Why apart from the feed: events fire from inside the feed's own work (a batch applied, a catch-up page, a lost
 * connection), so a listener that throws must not unwind it, nor keep the event from the listeners after it: each
 * listener is guarded on its own (GuardedEvents), its throw logged, and the work goes on. An event nobody listens to
 * costs nothing.
 */
import { GuardedEvents } from '../cache/guarded-events.ts';
import { callHandler } from '../cache/write-bus.ts';
import type { PrescientError } from '../errors.ts';
import type { ChangeFeedLogger } from './change-feed-options.ts';
import type { AppliedChange } from './change-target.ts';

/** Events a feed emits; listeners cost nothing when absent. */
export type ChangeFeedEvents = {
  'changes:applied': [{ readonly source: 'notify' | 'catch-up'; readonly changes: readonly AppliedChange[] }];
  'catch-up:done': [{ readonly fromVersion: number; readonly toVersion: number; readonly pages: number; readonly rows: number }];
  'listener:reconnected': [{ readonly reconnects: number }];
  'feed:failed': [PrescientError];
};

/** A feed's events; a listener that throws is logged, never propagated. */
export class FeedEvents {
  readonly #emitter: GuardedEvents;
  readonly #logger: ChangeFeedLogger | undefined;
  readonly #where: { readonly table: string; readonly channel: string };
  #failures = 0;

  constructor(logger: ChangeFeedLogger | undefined, where: { readonly table: string; readonly channel: string }) {
    this.#logger = logger;
    this.#where = where;
    this.#emitter = new GuardedEvents((error) => this.warn({ err: error, ...where }, 'change feed: an event listener threw'));
  }

  /** Logs a warning; a logger that throws is contained (it has nowhere left to report to). */
  warn(details: object, message: string): void {
    callHandler(() => this.#logger?.warn(details, message), () => {});
  }

  /** Faults reported so far (`fail`). */
  get failures(): number {
    return this.#failures;
  }

  on(event: keyof ChangeFeedEvents, listener: (...args: unknown[]) => void): void {
    this.#emitter.on(event, listener);
  }

  off(event: keyof ChangeFeedEvents, listener: (...args: unknown[]) => void): void {
    this.#emitter.off(event, listener);
  }

  emit<E extends keyof ChangeFeedEvents>(event: E, ...args: ChangeFeedEvents[E]): void {
    if (this.#emitter.listenerCount(event) === 0) return;
    this.#emitter.emit(event, args[0]);
  }

  /** Counts `error`, logs it and emits it as 'feed:failed'. */
  fail(error: PrescientError): void {
    this.#failures++;
    this.warn({ err: error, ...this.#where }, error.message);
    this.emit('feed:failed', error);
  }
}
