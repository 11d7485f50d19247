/**
 * PostgresOrigin: an origin over a PostgreSQL table (or a custom read query) through postgres.js.
 *
 * `getMany` is one round trip whatever the number of keys (`key = any($1)`), `putMany` one idempotent upsert
 * keeping the higher version, `changes` one ordered read past a version watermark (the change feed catches up
 * with it after a gap). Statements come from SqlTable, shared with PgliteOrigin; only values travel as
 * parameters, and table/column names are validated identifiers.
 */
import postgres from 'postgres';
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { fn, hasMethods, nonNegativeInt, positiveInt, urlOption } from '../options.ts';
import type { FetchOptions, Origin, OriginRecord, PutManyOutcome } from './origin.ts';
import {
  changesLimitOption, DEFAULT_CHANGES_LIMIT, listChanges, SqlTable, sqlReadError, writeRecords, type SqlRunner, type SqlTableOptions,
} from './sql-table.ts';

/**
 * How long a write past its deadline waits for the server to confirm the cancel (see `#runner`): the time a cancel
 * request takes to reach a server that answers, with room for a loaded one.
 */
const cancelConfirmMs = 1000;

/** A postgres.js client (`postgres(url)`). */
export type PostgresSql = postgres.Sql<Record<string, unknown>>;

/** Connection the origin opens itself (and closes in `close()`). */
export type PostgresConnectOptions = {
  /** `postgres://user@host:port/database` */
  readonly url: string;
  /** Pool size. @default 4 */
  readonly max?: number;
  /** Seconds to wait for a connection before failing. @default 10 */
  readonly connectTimeoutSeconds?: number;
};

export type PostgresOriginOptions = SqlTableOptions & {
  /**
   * A postgres.js client the caller owns (left open by `close()`), or `{ url }` for a client this origin
   * opens and closes.
   */
  readonly sql: PostgresSql | PostgresConnectOptions;
  /** Label used in error messages and stats. @default the table name */
  readonly name?: string;
  /**
   * Client-side statement deadline in milliseconds: past it the statement is cancelled on the server and the
   * call rejects with ERR_ORIGIN_TIMEOUT. 0 turns it off (a server-side `statement_timeout` still maps to
   * ERR_ORIGIN_TIMEOUT). @default 0
   */
  readonly timeoutMs?: number;
  /**
   * The same deadline for `putMany`, which writes batches (hundreds of rows after an outage) and so may need longer
   * than a read; a write-back flusher retries a timed-out batch. 0 turns it off. @default timeoutMs
   */
  readonly writeTimeoutMs?: number;
  /** Rows one `changes` call answers when no limit is passed. @default 10000 */
  readonly changesLimit?: number;
  /**
   * Use named prepared statements (parsed and planned once per connection). Turn off behind a pooler that
   * cannot keep them (PgBouncer in transaction mode before 1.21). @default true
   */
  readonly prepare?: boolean;
  /** Time source for `timeoutMs`. @default systemClock */
  readonly clock?: Clock;
};

/**
 * An origin over a PostgreSQL items table. Versions come back as JS numbers (bigint parsed safely).
 * Throws InvalidOptionError at construction for a bad name or option; operations reject with OriginError
 * (ERR_ORIGIN_FAILED / ERR_ORIGIN_TIMEOUT, with the driver error as `cause`), ERR_WRITE_FAILED for `putMany`
 * (ERR_INVALID_VALUE when the batch's contents are refused and would be on every retry: sqlWriteError),
 * ERR_ORIGIN_READ_ONLY when writing through a custom `query` without a table, ERR_CLOSED after `close()`.
 */
export class PostgresOrigin<V = unknown> implements Origin<V> {
  /** Label of this origin. */
  readonly name: string;
  readonly #sql: PostgresSql;
  readonly #isOwned: boolean;
  readonly #table: SqlTable;
  readonly #timeoutMs: number;
  readonly #writeTimeoutMs: number;
  readonly #changesLimit: number;
  readonly #clock: Clock;
  readonly #prepare: boolean;
  #isClosed = false;

  constructor(options: PostgresOriginOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
    this.#table = new SqlTable(options);
    this.#timeoutMs = nonNegativeInt('timeoutMs', options.timeoutMs, 0);
    this.#writeTimeoutMs = nonNegativeInt('writeTimeoutMs', options.writeTimeoutMs, this.#timeoutMs);
    this.#changesLimit = changesLimitOption('changesLimit', options.changesLimit, DEFAULT_CHANGES_LIMIT);
    this.#clock = options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']);
    if (options.prepare !== undefined && typeof options.prepare !== 'boolean') throw new InvalidOptionError('prepare', 'a boolean', options.prepare);
    this.#prepare = options.prepare ?? true;
    if (options.name !== undefined && typeof options.name !== 'string') throw new InvalidOptionError('name', 'a string', options.name);
    this.name = options.name ?? options.table ?? 'postgres';
    const sql = options.sql;
    if (typeof sql === 'function') {
      this.#sql = fn<PostgresSql>('sql', sql);
      this.#isOwned = false;
    } else if (typeof sql === 'object' && sql !== null && typeof sql.url === 'string') {
      const max = positiveInt('sql.max', sql.max, 4, 1000);
      const connectTimeout = positiveInt('sql.connectTimeoutSeconds', sql.connectTimeoutSeconds, 10);
      this.#sql = urlOption('sql.url', sql.url, ['postgres:', 'postgresql:'], (url) => postgres(url, { max, connect_timeout: connectTimeout, onnotice: () => {} })) as unknown as PostgresSql;
      this.#isOwned = true;
    } else {
      throw new InvalidOptionError('sql', 'a postgres.js client or { url }', sql);
    }
  }

  /**
   * Creates the items table and its version index when missing (idempotent). `table` is a table name or the
   * same table/column options the origin takes. Rejects with ERR_ORIGIN_FAILED when the server does.
   */
  static async ensureTable(sql: PostgresSql, table?: string | SqlTableOptions): Promise<void> {
    const shape = new SqlTable(typeof table === 'string' ? { table } : (table ?? {}));
    await shape.create(async (text) => sql.unsafe(text));
  }

  /** Creates this origin's table and version index when missing (idempotent). */
  async ensureTable(): Promise<void> {
    this.#checkOpen();
    await this.#table.create(this.#runner());
  }

  /** Records aligned with `keys` in one round trip; tombstoned and absent keys answer undefined. */
  async getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    this.#checkOpen();
    try {
      return await this.#table.getMany<V>(this.#runner(options?.signal), keys);
    } catch (error) {
      throw sqlReadError(keys, error);
    }
  }

  /**
   * Like `getMany`, but a tombstone answers `{ key, version, deleted: true }` instead of undefined, so a
   * TieredOrigin knows a key deleted here must not be looked up in its archive.
   */
  async getRecords(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    this.#checkOpen();
    try {
      return await this.#table.getMany<V>(this.#runner(options?.signal), keys, true);
    } catch (error) {
      throw sqlReadError(keys, error);
    }
  }

  /** One idempotent upsert keeping the higher version per key; tombstones become deleted rows. Reports the keys it declined. */
  async putMany(records: readonly OriginRecord<V>[]): Promise<PutManyOutcome> {
    this.#checkOpen();
    return writeRecords(this.#table, this.name, this.#runner(undefined, this.#writeTimeoutMs, cancelConfirmMs), records);
  }

  /**
   * Rows changed after `sinceVersion`, ascending by version, tombstones included (`deleted: true`). At most
   * about `limit` rows (default `changesLimit`); call again with the last version to page on.
   */
  async changes(sinceVersion: number, limit = this.#changesLimit): Promise<OriginRecord<V>[]> {
    this.#checkOpen();
    return listChanges<V>(this.#table, this.name, this.#runner(), sinceVersion, limit);
  }

  /** Closes the client when this origin opened it; later calls reject with ERR_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#isOwned) await this.#sql.end({ timeout: 5 });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new PrescientError('ERR_CLOSED', `Origin ${this.name} is closed`);
  }

  /**
   * A runner bounded by `timeoutMs` and `signal`: past the deadline (or on abort) it sends the server a cancel, then
   * waits up to `confirmMs` for the statement to end, and rejects with ERR_ORIGIN_TIMEOUT (on abort ERR_ORIGIN_FAILED)
   * — the driver's error as `cause` when the server confirmed the cancel. Reads wait for no confirmation (0): their
   * caller only needs its answer now. Writes wait (`cancelConfirmMs`): a write rejected before the server has
   * cancelled it could still commit once a row lock it waits on is released, so a write reported failed would land
   * anyway; a server or network that stopped answering never confirms, and the write rejects after `confirmMs`,
   * its outcome unknown. A statement that completes within the wait resolves as it completed. A statement the server
   * cancelled for time itself (its `statement_timeout`) rejects with the driver's error (SQLSTATE 57014).
   */
  #runner(signal?: AbortSignal, timeoutMs = this.#timeoutMs, confirmMs = 0): SqlRunner {
    return async (text, params) => {
      if (signal?.aborted === true) throw new PrescientError('ERR_ORIGIN_FAILED', 'Fetch aborted', { cause: signal.reason });
      const query = this.#sql.unsafe(text, params as never[], { prepare: this.#prepare });
      const clock = this.#clock;
      const settled = query.then((rows) => ({ rows }), (error: unknown) => ({ error }));
      let stopped: 'timeout' | 'abort' | undefined;
      let graceTimer: ReturnType<Clock['setTimer']> | undefined;
      let giveUp!: () => void;
      const gaveUp = new Promise<undefined>((resolve) => { giveUp = () => resolve(undefined); });
      const stop = (why: 'timeout' | 'abort'): void => {
        if (stopped !== undefined) return;
        stopped = why;
        cancelQuery(query);
        if (confirmMs > 0) graceTimer = clock.setTimer(confirmMs, giveUp);
        else giveUp();
      };
      const timer = timeoutMs > 0 ? clock.setTimer(timeoutMs, () => stop('timeout')) : undefined;
      const onAbort = (): void => stop('abort');
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const outcome = await Promise.race([settled, gaveUp]);
        if (outcome !== undefined && !('error' in outcome)) return outcome.rows;
        const cause = outcome?.error;
        if (stopped === 'timeout') throw new PrescientError('ERR_ORIGIN_TIMEOUT', `Statement exceeded its deadline of ${timeoutMs} ms`, { cause });
        if (stopped === 'abort') throw new PrescientError('ERR_ORIGIN_FAILED', 'Fetch aborted', { cause: signal?.reason ?? cause });
        throw cause;
      } finally {
        if (timer !== undefined) clock.clearTimer(timer);
        if (graceTimer !== undefined) clock.clearTimer(graceTimer);
        signal?.removeEventListener('abort', onAbort);
      }
    };
  }
}

/**
 * Sends `query`'s cancel request, never leaving a rejection unhandled. postgres.js's `query.cancel()` drops the
 * promise of its cancel request, which rejects when the cancel connection cannot be opened (the server gone; a
 * cancel deferred until the query's connection answers again): an unhandled rejection, fatal by default. So the
 * query's canceller is called directly, with its rejection caught, as `cancel()` itself calls it; `cancel()` is the
 * fallback should a later postgres.js not have one.
 */
function cancelQuery(query: { cancel(): unknown }): void {
  const q = query as unknown as { canceller?: ((q: unknown) => Promise<unknown>) | null };
  try {
    if (typeof q.canceller === 'function') {
      const canceller = q.canceller;
      q.canceller = null;
      void canceller(query).catch(() => {});
    } else {
      query.cancel();
    }
  } catch {
    // Already settled, or it never reached a connection: nothing to cancel.
  }
}
