/**
 * PgliteOrigin: the same items table as PostgresOrigin, over PGlite (PostgreSQL compiled to WebAssembly, in
 * process). It is the embedded default for the demo and for `prescient serve` without a database: nothing to
 * install or start, and the statements are exactly PostgresOrigin's (both come from SqlTable).
 */
import { PGlite } from '@electric-sql/pglite';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { fn, positiveInt } from '../options.ts';
import type { FetchOptions, Origin, OriginRecord, PutManyOutcome } from './origin.ts';
import {
  changesLimitOption, DEFAULT_CHANGES_LIMIT, listChanges, SqlTable, sqlReadError, writeRecords, type SqlRunner, type SqlTableOptions,
} from './sql-table.ts';

/** A database this origin opens itself (and closes in `close()`). */
export type PgliteOpenOptions = {
  /** Folder holding the database files; omitted: an in-memory database. */
  readonly dataDir?: string;
  /** A `dumpDataDir()` tarball to start from (only when the data folder is new or in memory). */
  readonly loadDataDir?: Blob;
};

export type PgliteOriginOptions = SqlTableOptions & {
  /** A PGlite database the caller owns (left open by `close()`), or options for one this origin opens. */
  readonly db: PGlite | PgliteOpenOptions;
  /** Label used in error messages. @default the table name */
  readonly name?: string;
  /** Rows one `changes` call answers when no limit is passed. @default 10000 */
  readonly changesLimit?: number;
  /** Runs once after `close()` has closed the database (e.g. to remove a private data folder). */
  readonly onClose?: () => Promise<void>;
};

/**
 * An origin over a PGlite items table. Same guarantees and errors as PostgresOrigin (one statement per call,
 * versions as JS numbers, tombstones absent from `getMany`, ERR_ORIGIN_FAILED / ERR_WRITE_FAILED /
 * ERR_ORIGIN_READ_ONLY / ERR_CLOSED), without a client-side timeout: statements run in this process.
 */
export class PgliteOrigin<V = unknown> implements Origin<V> {
  /** Label of this origin. */
  readonly name: string;
  /** The database underneath (for setup, dumps and ad-hoc queries). */
  readonly db: PGlite;
  readonly #isOwned: boolean;
  readonly #table: SqlTable;
  readonly #changesLimit: number;
  readonly #run: SqlRunner;
  readonly #onClose: (() => Promise<void>) | undefined;
  #isClosed = false;

  constructor(options: PgliteOriginOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
    this.#table = new SqlTable(options);
    this.#changesLimit = changesLimitOption('changesLimit', options.changesLimit, DEFAULT_CHANGES_LIMIT);
    if (options.name !== undefined && typeof options.name !== 'string') throw new InvalidOptionError('name', 'a string', options.name);
    this.name = options.name ?? options.table ?? 'pglite';
    this.#onClose = options.onClose === undefined ? undefined : fn<() => Promise<void>>('onClose', options.onClose);
    const db = options.db;
    if (db instanceof PGlite) {
      this.db = db;
      this.#isOwned = false;
    } else if (typeof db === 'object' && db !== null && (db.dataDir === undefined || (typeof db.dataDir === 'string' && db.dataDir !== ''))
      && (db.loadDataDir === undefined || db.loadDataDir instanceof Blob)) {
      this.db = new PGlite(db.dataDir, db.loadDataDir === undefined ? {} : { loadDataDir: db.loadDataDir });
      this.#isOwned = true;
    } else {
      throw new InvalidOptionError('db', 'a PGlite database or { dataDir?, loadDataDir? }', db);
    }
    this.#run = async (text, params) => (await this.db.query<Record<string, unknown>>(text, params as unknown[])).rows;
  }

  /**
   * Creates the items table and its version index when missing (idempotent). `table` is a table name or the
   * same table/column options the origin takes. Rejects with ERR_ORIGIN_FAILED when the database does.
   */
  static async ensureTable(db: PGlite, table?: string | SqlTableOptions): Promise<void> {
    const shape = new SqlTable(typeof table === 'string' ? { table } : (table ?? {}));
    await shape.create(async (text, params) => (await db.query<Record<string, unknown>>(text, params as unknown[])).rows);
  }

  /** Creates this origin's table and version index when missing (idempotent). */
  async ensureTable(): Promise<void> {
    this.#checkOpen();
    await this.#table.create(this.#run);
  }

  /** Records aligned with `keys` in one statement; tombstoned and absent keys answer undefined. */
  async getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    this.#checkOpen();
    if (options?.signal?.aborted === true) throw sqlReadError(keys, options.signal.reason);
    try {
      return await this.#table.getMany<V>(this.#run, keys);
    } catch (error) {
      throw sqlReadError(keys, error);
    }
  }

  /**
   * Like `getMany`, but a tombstone answers `{ key, version, deleted: true }` instead of undefined, so a
   * TieredOrigin knows a key deleted here must not be looked up in its archive.
   */
  async getRecords(keys: readonly string[]): Promise<Array<OriginRecord<V> | undefined>> {
    this.#checkOpen();
    try {
      return await this.#table.getMany<V>(this.#run, keys, true);
    } catch (error) {
      throw sqlReadError(keys, error);
    }
  }

  /** One idempotent upsert keeping the higher version per key; tombstones become deleted rows. Reports the keys it declined. */
  async putMany(records: readonly OriginRecord<V>[]): Promise<PutManyOutcome> {
    this.#checkOpen();
    return writeRecords(this.#table, this.name, this.#run, records);
  }

  /**
   * Rows changed after `sinceVersion`, ascending by version, tombstones included (`deleted: true`). At most
   * about `limit` rows (default `changesLimit`); call again with the last version to page on.
   */
  async changes(sinceVersion: number, limit = this.#changesLimit): Promise<OriginRecord<V>[]> {
    this.#checkOpen();
    return listChanges<V>(this.#table, this.name, this.#run, sinceVersion, limit);
  }

  /** Closes the database when this origin opened it; later calls reject with ERR_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#isOwned) await this.db.close();
    await this.#onClose?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new PrescientError('ERR_CLOSED', `Origin ${this.name} is closed`);
  }
}
