/**
 * ChangeFeed: differential sync from a PostgreSQL table into the cache tiers.
 *
 * Why: a cache that only expires by TTL serves rows other writers changed for up to a TTL. A row trigger NOTIFYs
 * each change with its key and version (`installTrigger`); the feed LISTENs on a dedicated connection, coalesces a
 * burst into one `invalidate` (or `refresh`) call per `batchMs` window (throttled, not debounced: the first change
 * after a quiet window goes at once, so an isolated change pays no window), and skips changes whose version is
 * not newer than the entry held (the service's own write-back comes back this way and must keep its entry).
 * Each change goes to the target with its version, and only copies up to it are removed: with several nodes on
 * one shared tier, the NOTIFY of one node's flush of v100 must not delete the v200 another node wrote there
 * (acknowledged, not flushed yet), or readers would fall back to v100 in the table. A hard DELETE removes all.
 * NOTIFY is lost while the listener is disconnected, so the feed keeps a version watermark (every change at or
 * below it has been applied) and, after every (re)LISTEN, catches up with `changes(watermark - catchUpLookback)`
 * page by page: one query per page, never a full reload. The lookback is there because versions are taken when a
 * write is acknowledged but committed when it is flushed, so a row with a lower version can commit after the
 * watermark passed it; re-reading the last `catchUpLookback` versions finds it, and re-applying the rest is a
 * no-op (not newer than the entry held). The watermark only moves to versions that were applied; a change the
 * target failed to apply is retried and holds the watermark below it until it succeeds.
 * Cost: one connection, one JSON parse per row change, one target call per tick.
 * Assumes versions grow table-wide (the hybrid logical clock of the write path does; a direct SQL writer must
 * take a version above every version in the table). A hard DELETE leaves no row for the catch-up to read: the
 * trigger records it in a side table, which the default catch-up reads beside the table (hard-deletes.ts); so is the
 * old key of an UPDATE that changed a row's key. A TRUNCATE names no keys: it is applied as `invalidateAll`.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import { isPrescientError, PrescientError } from '../errors.ts';
import { withDeadline } from '../origin/deadline.ts';
import type { PostgresSql } from '../origin/postgres-origin.ts';
import { parseVersion, quoteIdentifier } from '../origin/sql-table.ts';
import { ChangeBatch, parseChange } from './change-batch.ts';
import { FeedEvents, type ChangeFeedEvents } from './change-feed-events.ts';
import { resolveChangeFeedOptions, type ChangeFeedOptions, type ResolvedChangeFeedOptions } from './change-feed-options.ts';
import { installChangeTrigger, type ChangeTriggerOptions } from './change-trigger.ts';
import { withInvalidateAll, type ChangeTarget } from './change-target.ts';

export type { AppliedChange, ChangeFeedMode, ChangeRecord, ChangesFunction, ChangeTarget, ListenFunction } from './change-target.ts';
export type { ChangeFeedEvents } from './change-feed-events.ts';
export type { ChangeFeedLogger, ChangeFeedOptions } from './change-feed-options.ts';
export type { ChangeTriggerOptions } from './change-trigger.ts';

/** Counters of a feed. */
export type ChangeFeedStats = {
  readonly notifications: number;
  /** Payloads that were not a change (counted, logged, dropped). */
  readonly malformed: number;
  /** Notifications of another table sent on this feed's channel (dropped). */
  readonly otherTables: number;
  /** Keys invalidated or refreshed. */
  readonly applied: number;
  /** Changes skipped because the target held a version at least as new. */
  readonly ignored: number;
  /** Target calls made (one per tick or catch-up page with work). */
  readonly batches: number;
  readonly catchUps: number;
  readonly catchUpPages: number;
  readonly catchUpRows: number;
  /** Times the listener connection was lost and LISTEN ran again. */
  readonly reconnects: number;
  /** ERR_CHANGE_FEED_FAILED occurrences (lost connection, failed catch-up, failed apply), and the ERR_CLOSED that stopped it. */
  readonly failures: number;
  /** Commit-to-apply lag of the oldest change in the last notified batch, in ms (trigger clock to feed clock). */
  readonly lastLagMs: number | undefined;
  readonly watermark: number;
  /** True between a successful `start()` and `close()` (a lost connection shows in `reconnects` when it is back). */
  readonly isStarted: boolean;
};

/**
 * Listens for row changes and applies them to a target. Construct, `start()`, `close()`.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) at construction naming the first bad option.
 */
export class ChangeFeed {
  readonly #o: ResolvedChangeFeedOptions;
  readonly #clock: Clock;
  readonly #target: ChangeTarget;
  #closing: Promise<void> | undefined;
  readonly #events: FeedEvents;
  readonly #batch: ChangeBatch;
  #unlisten: (() => Promise<unknown>) | undefined;
  #listens = 0;
  #flushTimer: TimerHandle | undefined;
  /** When the last notified batch was applied: the next one waits until `batchMs` after it. */
  #lastFlushAt = -Infinity;
  #retryTimer: TimerHandle | undefined;
  #retries = 0;
  /** Set while a catch-up is owed: the version it resumes from (the watermark may not pass it). */
  #catchUpSince: number | undefined;
  #isCatchingUp = false;
  #isCatchUpAgain = false;
  /** A reconnect during a catch-up moved `#catchUpSince` back: the page just read must not move it forward. */
  #isRestarted = false;
  readonly #work = new Set<Promise<unknown>>();
  #isStarted = false;
  #isClosed = false;
  readonly #counts = { notifications: 0, malformed: 0, otherTables: 0, catchUps: 0, catchUpPages: 0, catchUpRows: 0, reconnects: 0 };

  constructor(options: ChangeFeedOptions) {
    const o = resolveChangeFeedOptions(options);
    this.#o = o;
    this.#clock = o.clock;
    this.#events = new FeedEvents(o.logger, { table: o.table, channel: o.channel });
    this.#target = withInvalidateAll(o.target, () =>
      this.#events.fail(new PrescientError('ERR_CHANGE_FEED_FAILED', `Change feed on ${o.table}: the table was truncated, and the target has no invalidateAll to drop every key`)));
    this.#batch = new ChangeBatch(o.clock, o.fromVersion ?? 0);
  }

  /**
   * Creates (or replaces: the upgrade step) the trigger functions and the triggers on `table` that NOTIFY the
   * channel of every row change and TRUNCATE (installChangeTrigger). Pass the table's column names when they are
   * not PostgresOrigin's defaults, as given to the origin and the feed.
   * @param options the channel (@default defaultChannel(table)) or `{ channel, keyColumn, versionColumn, deletedColumn }`
   * @throws InvalidOptionError for a bad table, channel or column name, or a column the table lacks (nothing is
   * installed); the driver's error when the server refuses.
   */
  static installTrigger(sql: PostgresSql, table: string, options?: string | ChangeTriggerOptions): Promise<void> {
    return installChangeTrigger(sql, table, options);
  }

  /**
   * Every change at or below this version that had committed when it was seen has been applied (a change
   * committed later with a lower version is found by the next catch-up, within `catchUpLookback`).
   */
  get watermark(): number {
    return this.#batch.watermark;
  }

  /** The channel the feed listens on. */
  get channel(): string {
    return this.#o.channel;
  }

  /**
   * Takes the starting watermark (the table's highest version unless `fromVersion`), LISTENs, and resolves after
   * the first catch-up was tried (a failed one is retried in the background and reported as 'feed:failed').
   * Idempotent. Rejects with ERR_CHANGE_FEED_FAILED when the watermark cannot be read or LISTEN fails, and with
   * ERR_CLOSED after `close()`, or when `close()` ran before it finished (a LISTEN it set up meanwhile is removed).
   */
  async start(): Promise<void> {
    if (this.#isClosed) throw this.#closedError();
    if (this.#isStarted) return;
    this.#isStarted = true;
    let handle: { unlisten(): Promise<unknown> } | undefined;
    try {
      if (this.#o.fromVersion === undefined) this.#batch.resetWatermark(await this.#withDeadline(this.#highestVersion(), 'reading the highest version'));
      if (this.#isClosed) throw this.#closedError();
      let firstCatchUp: Promise<void> | undefined;
      handle = await this.#o.listen(
        this.#o.channel,
        (payload) => this.#onNotify(payload),
        () => {
          const run = this.#onListen();
          firstCatchUp ??= run;
        },
      );
      // close() ran while LISTEN was being set up: it had nothing to unlisten yet, so this does.
      if (this.#isClosed) throw this.#closedError();
      const listening = handle;
      this.#unlisten = () => listening.unlisten();
      await firstCatchUp;
      if (this.#isClosed) throw this.#closedError();
    } catch (error) {
      this.#isStarted = false;
      if (this.#isClosed) {
        await handle?.unlisten().catch(() => {});
        throw error instanceof PrescientError && error.code === 'ERR_CLOSED' ? error : this.#closedError(error);
      }
      throw new PrescientError('ERR_CHANGE_FEED_FAILED', `Change feed on ${this.#o.table} could not start: ${describeError(error)}`, { cause: error });
    }
  }

  /**
   * Applies pending notifications, stops listening, waits for work in flight, and closes a client it opened. The feed
   * also closes itself when its target (or catch-up query) answers ERR_CLOSED: a closed cache never opens again, so it
   * reports that once ('feed:failed', code ERR_CLOSED) instead of retrying for ever; closing the cache first or the
   * feed first ends the same way (a closing feed reports nothing for the notifications it could not apply). Every call
   * answers the one close (`#closing`, set before any work: a listener the closing flush reaches may close again).
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    let settle: [() => void, (error: unknown) => void] = [() => {}, () => {}];
    this.#closing = new Promise<void>((...handlers) => (settle = handlers));
    this.#close().then(...settle);
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const timer of [this.#flushTimer, this.#retryTimer]) if (timer !== undefined) this.#clock.clearTimer(timer);
    this.#flushTimer = this.#retryTimer = undefined;
    if (this.#batch.pendingCount > 0) this.#flush();
    this.#isClosed = true;
    await Promise.resolve().then(() => this.#unlisten?.()).catch(() => {}); // (an unlisten may throw before its promise)
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
    if (this.#o.isOwnedSql) await Promise.resolve().then(() => this.#o.sql?.end({ timeout: 1 })).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  stats(): ChangeFeedStats {
    return {
      ...this.#counts,
      failures: this.#events.failures,
      ...this.#batch.counts(),
      watermark: this.#batch.watermark,
      isStarted: this.#isStarted && !this.#isClosed,
    };
  }

  /** Subscribes to an event. */
  on<E extends keyof ChangeFeedEvents>(event: E, listener: (...args: ChangeFeedEvents[E]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof ChangeFeedEvents>(event: E, listener: (...args: ChangeFeedEvents[E]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  #closedError(cause?: unknown): PrescientError {
    return new PrescientError('ERR_CLOSED', 'The change feed is closed', cause === undefined ? undefined : { cause });
  }

  /** `work`, or ERR_ORIGIN_TIMEOUT past `catchUpTimeoutMs` (a silent server must not hold the catch-up for good). */
  #withDeadline<T>(work: Promise<T>, what: string): Promise<T> {
    const ms = this.#o.catchUpTimeoutMs;
    return withDeadline(this.#clock, ms, work, () => new PrescientError('ERR_ORIGIN_TIMEOUT', `${what} had no answer within catchUpTimeoutMs ${ms}`));
  }

  async #highestVersion(): Promise<number> {
    const table = quoteIdentifier('table', this.#o.table, true);
    const version = quoteIdentifier('versionColumn', this.#o.versionColumn);
    const rows = await (this.#o.sql as PostgresSql).unsafe(`select coalesce(max(${version}), 0)::text as version from ${table}`);
    return parseVersion(rows[0]?.version, '(highest version)');
  }

  #onNotify(payload: string): void {
    if (this.#isClosed) return;
    this.#counts.notifications++;
    const change = parseChange(payload);
    if (change === undefined) {
      this.#counts.malformed++;
      this.#events.warn({ channel: this.#o.channel, payload: payload.slice(0, 200) }, 'change feed: malformed notification dropped');
      return;
    }
    if (change.table !== undefined && change.table !== this.#o.bareTable) {
      this.#counts.otherTables++;
      return;
    }
    if (change.key === undefined) {
      void this.#requestCatchUp(false);
      return;
    }
    this.#batch.add(change.key, change);
    this.#scheduleFlush(Math.max(0, this.#lastFlushAt + this.#o.batchMs - this.#clock.now()));
  }

  /** After every LISTEN: the first starts the feed, the others follow a lost connection. Catches up either way. */
  #onListen(): Promise<void> {
    if (this.#isClosed) return Promise.resolve();
    this.#listens++;
    if (this.#listens > 1) {
      this.#counts.reconnects++;
      this.#events.fail(new PrescientError('ERR_CHANGE_FEED_FAILED', `Change feed on ${this.#o.table} lost its listener connection; listening again and catching up`));
      this.#events.emit('listener:reconnected', { reconnects: this.#counts.reconnects });
    }
    return this.#requestCatchUp(this.#listens > 1);
  }

  #scheduleFlush(delayMs: number): void {
    if (this.#flushTimer !== undefined || this.#isClosed) return;
    this.#flushTimer = this.#clock.setTimer(delayMs, () => {
      this.#flushTimer = undefined;
      this.#flush();
    });
  }

  /** Applies every pending notification in one target call; on failure they stay pending and are retried. */
  #flush(): void {
    const taken = this.#batch.take();
    if (taken.size === 0) return;
    this.#lastFlushAt = this.#clock.now();
    this.#track(
      this.#batch
        .apply(taken, this.#target, this.#o.mode, 'notify')
        .then((applied) => {
          this.#retries = 0;
          this.#events.emit('changes:applied', { source: 'notify', changes: applied() });
        })
        .catch((error: unknown) => {
          if (this.#isFinal(error)) return;
          this.#events.fail(this.#feedError(`could not apply ${taken.size} changes`, error));
          this.#scheduleFlush(this.#nextRetryMs());
        }),
    );
  }

  /**
   * Reads and applies every change past `watermark - catchUpLookback`, page by page. A request while one runs makes it
   * go on once more from where it stands, except after a new gap (`isGap`: the listener reconnected, notifications
   * were lost again): that sends it back to `watermark - catchUpLookback` after its current page, since a row
   * committed late with a lower version during the new gap lies below the pages already read. A failure retries
   * after a backoff from the same place.
   */
  #requestCatchUp(isGap: boolean): Promise<void> {
    const from = Math.max(0, this.#batch.watermark - this.#o.catchUpLookback);
    if (this.#catchUpSince === undefined || (isGap && from < this.#catchUpSince)) {
      this.#catchUpSince = from;
      this.#batch.holdAt(from);
      if (this.#isCatchingUp) this.#isRestarted = true;
    }
    if (this.#isCatchingUp) {
      this.#isCatchUpAgain = true;
      return Promise.resolve();
    }
    return this.#track(this.#catchUp());
  }

  async #catchUp(): Promise<void> {
    if (this.#isClosed || this.#catchUpSince === undefined) return;
    this.#isCatchingUp = true;
    const fromVersion = this.#catchUpSince;
    let pages = 0;
    let rows = 0;
    try {
      do {
        this.#isCatchUpAgain = false;
        for (;;) {
          const since: number = this.#catchUpSince;
          const page = await this.#withDeadline(this.#o.changes(since, this.#o.catchUpPageSize), `catch-up page from version ${since}`);
          pages++;
          rows += page.length;
          this.#counts.catchUpPages++;
          this.#counts.catchUpRows += page.length;
          const taken = this.#batch.fromRecords(page);
          const applied = await this.#batch.apply(taken, this.#target, this.#o.mode, 'catch-up');
          if (taken.size > 0) this.#events.emit('changes:applied', { source: 'catch-up', changes: applied() });
          if (this.#isRestarted) {
            this.#isRestarted = false; // a new gap meanwhile: go on from where #requestCatchUp put it back
            continue;
          }
          const last = page.length === 0 ? since : Math.max(since, page[page.length - 1].version);
          this.#catchUpSince = last;
          this.#batch.holdAt(last);
          if (page.length < this.#o.catchUpPageSize || this.#isClosed) break;
        }
      } while (this.#isCatchUpAgain && !this.#isClosed);
      // Closed before the end: the rest was never read, so the hold stays where the catch-up stopped.
      if (this.#isClosed) return;
      this.#catchUpSince = undefined;
      this.#batch.holdAt(undefined);
      this.#counts.catchUps++;
      this.#retries = 0;
      this.#events.emit('catch-up:done', { fromVersion, toVersion: this.#batch.watermark, pages, rows });
    } catch (error) {
      if (this.#isFinal(error)) return;
      this.#events.fail(this.#feedError(`catch-up from version ${this.#catchUpSince} failed`, error));
      this.#scheduleCatchUpRetry();
    } finally {
      this.#isCatchingUp = false;
    }
  }

  #scheduleCatchUpRetry(): void {
    if (this.#isClosed || this.#retryTimer !== undefined) return;
    this.#retryTimer = this.#clock.setTimer(this.#nextRetryMs(), () => {
      this.#retryTimer = undefined;
      void this.#requestCatchUp(false);
    });
  }

  #nextRetryMs(): number {
    return Math.min(this.#o.maxRetryMs, this.#o.retryMs * 2 ** Math.min(this.#retries++, 30));
  }

  #track<T>(work: Promise<T>): Promise<T> {
    const tracked = work.finally(() => this.#work.delete(tracked));
    this.#work.add(tracked);
    return tracked;
  }

  #feedError(what: string, cause: unknown): PrescientError {
    return new PrescientError('ERR_CHANGE_FEED_FAILED', `Change feed on ${this.#o.table}: ${what}: ${describeError(cause)}`, { cause });
  }

  /** True for ERR_CLOSED: the target (or query) is closed for good, so the feed stops, saying so once unless closing. */
  #isFinal(error: unknown): boolean {
    if (!isPrescientError(error, 'ERR_CLOSED')) return false;
    if (this.#isClosed) return true;
    this.#events.fail(new PrescientError('ERR_CLOSED', `Change feed on ${this.#o.table} stopped: ${describeError(error)}`, { cause: error }));
    this.#batch.take(); // (what is pending can never be applied: close() must not try)
    void this.close().catch(() => {}); // (close never rejects; the guard keeps it so)
    return true;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
