/**
 * ChangeFeedOptions: what a ChangeFeed is built from, checked once at construction into a frozen shape.
 */
import postgres from 'postgres';
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError } from '../errors.ts';
import { fn, hasMethods, nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, urlOption } from '../options.ts';
import { PostgresOrigin, type PostgresSql } from '../origin/postgres-origin.ts';
import { quoteIdentifier } from '../origin/sql-table.ts';
import { defaultChannel } from './change-trigger.ts';
import type { ChangeFeedMode, ChangesFunction, ChangeTarget, ListenFunction } from './change-target.ts';
import { withHardDeletes } from './hard-deletes.ts';

/**
 * Default `catchUpLookback`: 60 seconds of hybrid-logical-clock time (versions are physicalMs * 1024 + logical,
 * hlc.ts), so 60_000 * 1024 versions. A write-back row commits up to `flushIntervalMs` (100 ms by default) plus
 * the retry backoff (at most `retryMaxMs`, 30 s by default) after its version was taken; 60 s covers both with
 * room, at the cost of re-reading the last minute of changes on each catch-up (an indexed range query; changes
 * the cache already holds are ignored).
 */
export const DEFAULT_CATCH_UP_LOOKBACK = 60_000 * 1024;

/** Where the feed reports faults (pino fits). */
export type ChangeFeedLogger = { warn(details: object, message: string): void };

export type ChangeFeedOptions = {
  /** Connection string; the feed opens its own client (LISTEN connection plus one for catch-up) and closes it. */
  readonly url?: string;
  /** A postgres.js client the caller owns (left open by `close()`); `sql.listen` gives the feed its own connection. */
  readonly sql?: PostgresSql;
  /** `application_name` of the client opened from `url`. @default 'prescient-change-feed' */
  readonly applicationName?: string;
  /** Source table, optionally `schema.table` (validated, quoted). */
  readonly table: string;
  /**
   * The table's version column, for the starting watermark and the default catch-up; with `keyColumn` and
   * `deletedColumn`, the names PostgresOrigin and `installTrigger` were given. @default 'version'
   */
  readonly versionColumn?: string;
  /** The table's key column, for the default catch-up. @default 'key' */
  readonly keyColumn?: string;
  /** The table's tombstone column, for the default catch-up. @default 'deleted' */
  readonly deletedColumn?: string;
  /** NOTIFY channel; must match `installTrigger`. @default 'prescient_changes_<table>' */
  readonly channel?: string;
  /** What changes are applied to; see `cacheChangeTarget` for a Cache. */
  readonly target: ChangeTarget;
  /** @default 'invalidate' */
  readonly mode?: ChangeFeedMode;
  /** Catch-up query; it must never split one version across pages. @default PostgresOrigin.changes on `table` */
  readonly changes?: ChangesFunction;
  /** Rows per catch-up page. @default 1000 */
  readonly catchUpPageSize?: number;
  /**
   * Deadline of each catch-up query (and of the starting watermark's), in ms: past it the feed stops waiting
   * (the default catch-up also cancels the statement), reports ERR_CHANGE_FEED_FAILED and retries, so a server or
   * network that stopped answering never stalls the feed. 0 waits for ever. @default 30000
   */
  readonly catchUpTimeoutMs?: number;
  /**
   * How far below the watermark each catch-up starts, in version units (HLC: milliseconds * 1024). Versions are
   * taken when a write is acknowledged but committed when it is flushed, so with several writers a row with a
   * lower version can commit after a higher one: a catch-up from the watermark alone would miss it. Catching up
   * from `max(0, watermark - catchUpLookback)` reads it; re-reading changes already applied is harmless (a change
   * not newer than the entry held is ignored). Set it above the longest acknowledgement-to-commit delay of every
   * writer; 0 trusts commit order to follow version order.
   * @default DEFAULT_CATCH_UP_LOOKBACK (60 s: 61_440_000)
   */
  readonly catchUpLookback?: number;
  /** Starting watermark. @default the table's highest version when `start()` runs */
  readonly fromVersion?: number;
  /**
   * Coalescing window, in ms: at most one target call per window. A change arriving after a quiet window is applied
   * on the next timer turn; changes arriving within `batchMs` of the last call wait for the window's end, together.
   * @default 5
   */
  readonly batchMs?: number;
  /** First retry delay after a failed catch-up or apply, in ms; doubles per failure. @default 500 */
  readonly retryMs?: number;
  /** Longest retry delay, in ms. @default 30000 */
  readonly maxRetryMs?: number;
  /** Time source for batching, retries and lag. @default systemClock */
  readonly clock?: Clock;
  readonly logger?: ChangeFeedLogger;
  /** Listening seam (tests): defaults to `sql.listen`. */
  readonly listen?: ListenFunction;
};

export type ResolvedChangeFeedOptions = {
  readonly table: string;
  /** The table's name without its schema: what the trigger's payload names (`tbl`). */
  readonly bareTable: string;
  readonly versionColumn: string;
  readonly catchUpTimeoutMs: number;
  readonly channel: string;
  readonly target: ChangeTarget;
  readonly mode: ChangeFeedMode;
  readonly clock: Clock;
  readonly logger: ChangeFeedLogger | undefined;
  readonly batchMs: number;
  readonly catchUpPageSize: number;
  readonly catchUpLookback: number;
  readonly retryMs: number;
  readonly maxRetryMs: number;
  readonly fromVersion: number | undefined;
  /** The client for the starting watermark (and the default catch-up); undefined with injected seams only. */
  readonly sql: PostgresSql | undefined;
  /** True when `sql` was opened from `url`, so `close()` ends it. */
  readonly isOwnedSql: boolean;
  readonly listen: ListenFunction;
  readonly changes: ChangesFunction;
};

/**
 * Checks `options` and fills in defaults; opens (lazily: postgres.js connects on first use) the client of `url`.
 * Throws ERR_INVALID_OPTION naming the first bad option.
 */
export function resolveChangeFeedOptions(options: ChangeFeedOptions): ResolvedChangeFeedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
  quoteIdentifier('table', options.table, true);
  const channel = options.channel ?? defaultChannel(options.table);
  quoteIdentifier('channel', channel);
  const target = hasMethods<ChangeTarget>('target', options.target, options.mode === 'refresh' ? ['peekVersion', 'invalidate', 'refresh'] : ['peekVersion', 'invalidate']);
  if (target.refresh !== undefined) fn('target.refresh', target.refresh);
  const retryMs = positiveInt('retryMs', options.retryMs, 500);
  const maxRetryMs = positiveInt('maxRetryMs', options.maxRetryMs, 30_000);
  if (maxRetryMs < retryMs) throw new InvalidOptionError('maxRetryMs', `at least \`retryMs\` (${retryMs})`, maxRetryMs);
  const fromVersion = options.fromVersion === undefined ? undefined : nonNegativeInt('fromVersion', options.fromVersion);
  const { sql, isOwnedSql } = resolveSql(options);
  if (sql === undefined && (options.listen === undefined || options.changes === undefined || fromVersion === undefined)) {
    throw new InvalidOptionError('url', 'a connection string (or `sql`) unless `listen`, `changes` and `fromVersion` are all given', options.url);
  }
  const columns = { keyColumn: options.keyColumn, versionColumn: options.versionColumn, deletedColumn: options.deletedColumn };
  for (const [name, value] of Object.entries(columns)) if (value !== undefined) quoteIdentifier(name, value);
  const catchUpTimeoutMs = nonNegativeInt('catchUpTimeoutMs', options.catchUpTimeoutMs, 30_000);
  let changes = options.changes;
  if (changes === undefined) {
    const origin = new PostgresOrigin({ sql: sql as PostgresSql, table: options.table, ...columns, timeoutMs: catchUpTimeoutMs, clock: options.clock });
    const logger = options.logger;
    const table = quoteIdentifier('table', options.table, true);
    changes = withHardDeletes(sql as PostgresSql, table, (since, limit) => origin.changes(since, limit), (reason) =>
      logger?.warn({ table: options.table, reason }, `ChangeFeed: hard DELETEs made while the feed is cut off are not seen (${reason}); run installTrigger again, and grant SELECT on the side table to the feed's role`),
    );
  }
  return Object.freeze({
    table: options.table,
    bareTable: options.table.split('.').pop() as string,
    versionColumn: options.versionColumn ?? 'version',
    catchUpTimeoutMs,
    channel,
    target,
    mode: oneOf<ChangeFeedMode>('mode', options.mode, ['invalidate', 'refresh'], 'invalidate'),
    clock: options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']),
    logger: options.logger === undefined ? undefined : hasMethods<ChangeFeedLogger>('logger', options.logger, ['warn']),
    batchMs: nonNegativeNumber('batchMs', options.batchMs, 5),
    catchUpPageSize: positiveInt('catchUpPageSize', options.catchUpPageSize, 1000, 2 ** 31 - 1),
    catchUpLookback: nonNegativeInt('catchUpLookback', options.catchUpLookback, DEFAULT_CATCH_UP_LOOKBACK),
    retryMs,
    maxRetryMs,
    fromVersion,
    sql,
    isOwnedSql,
    listen: fn<ListenFunction>('listen', options.listen, (ch, onNotify, onListen) => (sql as PostgresSql).listen(ch, onNotify, onListen)),
    changes: fn<ChangesFunction>('changes', changes),
  });
}

function resolveSql(options: ChangeFeedOptions): { sql: PostgresSql | undefined; isOwnedSql: boolean } {
  if (options.url !== undefined && options.sql !== undefined) throw new InvalidOptionError('url', 'absent when `sql` is given', options.url);
  if (options.url === undefined) {
    if (options.sql !== undefined && (typeof options.sql !== 'function' || typeof options.sql.listen !== 'function')) {
      throw new InvalidOptionError('sql', 'a postgres.js client', options.sql);
    }
    return { sql: options.sql, isOwnedSql: false };
  }
  const applicationName = options.applicationName ?? 'prescient-change-feed';
  if (typeof applicationName !== 'string') throw new InvalidOptionError('applicationName', 'a string', applicationName);
  // max 1: the catch-up and the starting watermark need one connection; sql.listen opens its own beside it.
  const sql = urlOption('url', options.url, ['postgres:', 'postgresql:'], (url) => postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: applicationName } }));
  return { sql: sql as unknown as PostgresSql, isOwnedSql: true };
}
