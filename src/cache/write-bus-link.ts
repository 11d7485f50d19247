/**
 * WriteBusLink: one Cache's end of a WriteBus — announces the cache's writes to the other nodes and applies theirs
 * to the local tiers.
 *
 * Outgoing: key changes made in the same microtask turn, or while the previous notice was being sent, go out
 * as one notice, once the shared tier holds them (the caller awaits `announceKey`). A notice the bus could not take waits in a bounded queue and is sent again every
 * second, in order; past `maxQueued` notices the queue collapses into one `all` notice (the other nodes forget what
 * they hold: correct, if costly). Incoming: a node's own notices are skipped; a malformed one is counted and
 * reported (ERR_INVALID_NOTICE), never applied; a gap (the subscription was down) and every (re)subscription apply
 * `all` locally, since what was announced meanwhile is unknown, as does a drop the transport says may have lost
 * notices already (RedisWriteBus: every drop, since a dead connection is found only after its idle timeout). Subscribing is retried every second until it works.
 * The handlers it gives the bus never throw: what `apply` throws (user code runs there: a shared tier's
 * `dropCachedReplies`, removal listeners) is reported and answered by forgetting everything, and what `onFault` throws
 * is dropped; a throw would otherwise unwind the transport's event handler, or make a subscription that worked look
 * failed and be made again beside the first.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.ts';
import { isPrescientError } from '../errors.ts';
import { callHandler, decodeNotice, type KeyChange, type WriteBus, type WriteNotice } from './write-bus.ts';

/** Notices kept for a retry while the bus is down; past it the queue collapses into one `all` notice. */
const maxQueued = 1_000;
/** Characters of key changes per notice (as JSON): a larger batch is split, far below the bus's size limit. */
const maxNoticeChars = 128 * 1024;
/** Between retries of a failed publish or subscribe, in ms. */
const retryMs = 1_000;

export type WriteBusStats = {
  /** Notices sent (each once, retries included once they went). */
  readonly published: number;
  /** Publish attempts the bus refused (each retried). */
  readonly publishFailures: number;
  /** Notices waiting for a retry now. */
  readonly queued: number;
  /** Notices heard from other nodes, and how many local copies they removed. */
  readonly received: number;
  readonly removed: number;
  /** Notices that could not be read (dropped). */
  readonly invalid: number;
  /** Times the whole local cache was forgotten: a (re)subscription or a gap the bus reported, or an `all` notice. */
  readonly forgotten: number;
  /** True while the link listens: subscribed, and the bus has not reported its subscription down since. */
  readonly isSubscribed: boolean;
};

export type WriteBusLinkOptions = {
  readonly bus: WriteBus;
  readonly clock: Clock;
  /** Applies another node's notice to the local tiers only; returns how many copies went. May throw (reported). */
  readonly apply: (notice: WriteNotice) => number;
  /** Hears each fault; what it throws is dropped. */
  readonly onFault: (error: unknown) => void;
  /**
   * Hears each notice published only after waiting for a retry (the bus refused it first): the other nodes heard of
   * the change late, and a load of theirs begun before it may have stored an older copy in the shared tier meanwhile.
   * What it throws is reported.
   */
  readonly onSentLate?: (notice: WriteNotice) => void;
};

/** A notice to send; `isLate` once a publish of the queue failed while it waited. */
type Outgoing = { readonly notice: WriteNotice; readonly done: Array<() => void>; isLate?: boolean };

export class WriteBusLink {
  /** This node's id on the bus. */
  readonly id = randomUUID();
  readonly #o: WriteBusLinkOptions;
  readonly #queue: Outgoing[] = [];
  #batch: { keys: KeyChange[]; done: Array<() => void> } | undefined;
  #isSending = false;
  #retry: TimerHandle | undefined;
  #resubscribe: TimerHandle | undefined;
  #wake: (() => void) | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  readonly #subscribed: Promise<void>;
  #onClosed: () => void = () => {};
  #isClosed = false;
  /** The bus answered ERR_CLOSED (closed for good, before this link): nothing is sent nor retried any more. */
  #isBusClosed = false;
  #isUp = true;
  #counts = { published: 0, publishFailures: 0, received: 0, removed: 0, invalid: 0, forgotten: 0 };

  constructor(options: WriteBusLinkOptions) {
    this.#o = options;
    const closed = new Promise<void>((resolve) => (this.#onClosed = resolve));
    this.#subscribed = Promise.race([this.#subscribe(), closed]);
  }

  /** Resolves once the link listens to the bus (subscription is retried until it does), once it is closed, or once the bus answered ERR_CLOSED (reported, not retried). */
  whenSubscribed(): Promise<void> {
    return this.#subscribed;
  }

  /** Announces a change of one key; resolves once its notice was sent or queued for a retry. Never rejects. */
  announceKey(change: KeyChange): Promise<void> {
    if (this.#isClosed || this.#isBusClosed) return Promise.resolve();
    let batch = this.#batch;
    if (batch === undefined) {
      batch = this.#batch = { keys: [], done: [] };
      // While a notice is being sent, changes gather for the next one (the send loop takes them); else they go at
      // the end of this microtask turn.
      if (!this.#isSending) queueMicrotask(() => this.#endBatch());
    }
    batch.keys.push(change);
    // While a retry waits the bus is known down: the writer does not wait (the change goes out with the retry).
    if (this.#retry !== undefined) return Promise.resolve();
    return new Promise((resolve) => batch.done.push(resolve));
  }

  /**
   * Announces an invalidation by selector (keys without version, a prefix, a tag), or `all` (the other nodes forget
   * what they hold); resolves like `announceKey`.
   */
  announce(selector: { readonly keys?: readonly KeyChange[]; readonly prefix?: string; readonly tag?: string; readonly all?: true }): Promise<void> {
    if (this.#isClosed || this.#isBusClosed) return Promise.resolve();
    this.#endBatch(); // keeps the order of the changes made before it
    const notices: WriteNotice[] = splitKeys(selector.keys ?? []).map((keys) => ({ from: this.id, keys }));
    if (selector.prefix !== undefined) notices.push({ from: this.id, prefix: selector.prefix });
    if (selector.tag !== undefined) notices.push({ from: this.id, tag: selector.tag });
    if (selector.all === true) notices.push({ from: this.id, all: true });
    return Promise.all(notices.map((notice) => new Promise<void>((resolve) => this.#enqueue(notice, [resolve])))).then(() => {});
  }

  stats(): WriteBusStats {
    return { ...this.#counts, queued: this.#queue.length, isSubscribed: this.#unsubscribe !== undefined && this.#isUp && !this.#isBusClosed };
  }

  /**
   * Stops listening and retrying. Notices still waiting (a retry pending, a node closing in a rolling restart) get
   * one last publish each, in order, until one fails: without them the other nodes would keep serving the copies
   * they name. What still fails is lost (reported to onFault); those nodes drop such copies at their TTL, or at
   * their next gap.
   */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#onClosed();
    if (this.#retry !== undefined) this.#o.clock.clearTimer(this.#retry);
    if (this.#resubscribe !== undefined) this.#o.clock.clearTimer(this.#resubscribe);
    this.#wake?.(); // the subscribe loop ends (whenSubscribed resolves)
    const waiting = this.#queue.splice(0);
    const batch = this.#batch;
    this.#batch = undefined;
    if (batch !== undefined) for (const keys of splitKeys(batch.keys)) waiting.push({ notice: { from: this.id, keys }, done: [] });
    for (const item of waiting) for (const done of item.done) done();
    if (batch !== undefined) for (const done of batch.done) done();
    for (const { notice } of waiting) {
      try {
        await this.#o.bus.publish(notice);
        this.#counts.published++;
      } catch (error) {
        this.#fault(error);
        break;
      }
    }
    await this.#unsubscribe?.().catch((error: unknown) => this.#fault(error));
  }

  #endBatch(): void {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    const parts = splitKeys(batch.keys);
    for (const [i, keys] of parts.entries()) this.#enqueue({ from: this.id, keys }, i === parts.length - 1 ? batch.done : []);
  }

  #enqueue(notice: WriteNotice, done: Array<() => void>): void {
    if (this.#isClosed || this.#isBusClosed) {
      for (const resolve of done) resolve();
      return;
    }
    this.#queue.push({ notice, done, isLate: this.#retry !== undefined }); // (queued while a retry waits: late too)
    // While a retry waits, the bus is known down: the writer does not wait for it (the notice stays queued).
    if (this.#retry !== undefined) for (const resolve of done.splice(0)) resolve();
    if (this.#queue.length > maxQueued) {
      // Too much to replay: one notice that tells every other node to forget what it holds.
      const all = this.#queue.splice(0);
      this.#queue.push({ notice: { from: this.id, all: true }, done: all.flatMap((item) => item.done), isLate: true });
    }
    void this.#send();
  }

  /** Sends the queue in order; on a failure, answers the waiting writers (their notices stay queued) and retries later. */
  async #send(): Promise<void> {
    if (this.#isSending || this.#retry !== undefined) return;
    this.#isSending = true;
    try {
      for (;;) {
        if (this.#queue.length === 0) this.#endBatch(); // what gathered while the last notice was sent
        if (this.#queue.length === 0 || this.#isClosed) break;
        const item = this.#queue[0];
        try {
          await this.#o.bus.publish(item.notice);
        } catch (error) {
          this.#counts.publishFailures++;
          this.#fault(error);
          if (isPrescientError(error, 'ERR_CLOSED')) {
            this.#busClosed(); // closed for good: the writers are answered, nothing is retried
            this.#endBatch();
            for (const queued of this.#queue.splice(0)) for (const done of queued.done) done();
            return;
          }
          this.#retry = this.#o.clock.setTimer(retryMs, () => {
            this.#retry = undefined;
            void this.#send();
          });
          this.#endBatch(); // what gathered during the failed publish waits with the rest
          for (const queued of this.#queue) {
            queued.isLate = true;
            for (const done of queued.done.splice(0)) done();
          }
          return;
        }
        if (this.#queue[0] === item) this.#queue.shift(); // (a collapse may have replaced it meanwhile)
        this.#counts.published++;
        for (const done of item.done) done();
        const onSentLate = this.#o.onSentLate;
        if (item.isLate === true && onSentLate !== undefined) callHandler(() => onSentLate(item.notice), (error) => this.#fault(error));
      }
    } finally {
      this.#isSending = false;
    }
  }

  async #subscribe(): Promise<void> {
    const gap = (): void => {
      this.#isUp = true;
      this.#forget();
    };
    const down = (isLost?: boolean): void => {
      this.#isUp = false;
      if (isLost === true) this.#forget(); // (a connection found dead late: notices went missing unnoticed)
    };
    while (!this.#isClosed) {
      let unsubscribe: () => Promise<void>;
      try {
        unsubscribe = await this.#o.bus.subscribe({ notice: (message) => this.#receive(message), gap, down });
      } catch (error) {
        if (this.#isClosed) return; // (the bus closed under a subscription still connecting)
        this.#fault(error);
        if (isPrescientError(error, 'ERR_CLOSED')) return this.#busClosed(); // closed for good: never reopens
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#resubscribe = this.#o.clock.setTimer(retryMs, resolve);
        });
        this.#resubscribe = this.#wake = undefined;
        continue;
      }
      if (this.#isClosed) {
        await unsubscribe().catch((error: unknown) => this.#fault(error));
        return;
      }
      this.#unsubscribe = unsubscribe;
      this.#forget(); // whatever was announced before this node listened is unknown here
      return;
    }
  }

  #receive(message: string): void {
    if (this.#isClosed) return;
    let checked: WriteNotice;
    try {
      checked = decodeNotice(message);
    } catch (error) {
      // Some node's notice was lost (too large, damaged, or not ours): which copies it named is unknown.
      this.#counts.invalid++;
      this.#fault(error);
      this.#forget();
      return;
    }
    if (checked.from === this.id) return;
    this.#counts.received++;
    if (checked.all === true) this.#counts.forgotten++;
    try {
      this.#counts.removed += this.#o.apply(checked);
    } catch (error) {
      // Part of the notice may be applied: forgetting everything leaves no copy it named.
      this.#fault(error);
      this.#forget();
    }
  }

  /**
   * The bus answered ERR_CLOSED: it never reopens, so the other nodes' notices will not come. Once: the link is down
   * for good (`isSubscribed` false) and the local copies go (notices sent since the bus closed were lost).
   */
  #busClosed(): void {
    if (this.#isBusClosed) return;
    this.#isBusClosed = true;
    this.#isUp = false;
    this.#forget();
  }

  /** Drops every local copy (`all`); never throws: a failure is reported, and the next gap or notice tries again. */
  #forget(): void {
    if (this.#isClosed) return;
    this.#counts.forgotten++;
    try {
      this.#counts.removed += this.#o.apply({ from: this.id, all: true });
    } catch (error) {
      this.#fault(error);
    }
  }

  /** Reports `error` to onFault; what onFault throws stops here. */
  #fault(error: unknown): void {
    callHandler(() => this.#o.onFault(error), () => {});
  }
}

/** `changes` in runs whose JSON stays under maxNoticeChars (a single larger key change goes alone). */
function splitKeys(changes: readonly KeyChange[]): KeyChange[][] {
  const parts: KeyChange[][] = [];
  let part: KeyChange[] = [];
  let chars = 0;
  for (const change of changes) {
    const size = JSON.stringify(change).length + 1;
    if (part.length > 0 && chars + size > maxNoticeChars) {
      parts.push(part);
      part = [];
      chars = 0;
    }
    part.push(change);
    chars += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
