/**
 * SqlTable: the SQL shape PostgresOrigin and PgliteOrigin share, so both speak exactly the same statements.
 *
 * Why one place: the two origins differ only in how a statement reaches the server (postgres.js over the wire,
 * PGlite in process); the table, the statements and the row decoding are the same, and a fix to one must reach
 * both. Table and column names cannot be parameters, so they are validated as SQL identifiers and quoted; every
 * value (keys, records, versions, limits) travels as a `$n` parameter, never inside the statement text.
 *
 * Default table (`prescient_items`):
 * `key text primary key, value jsonb, version bigint not null, deleted boolean not null default false`,
 * with an index on `version` so the change feed can catch up with `version > $1 order by version`.
 */
import { InvalidOptionError, OriginError, PrescientError } from '../errors.ts';
import { nonNegativeInt, positiveInt } from '../options.ts';
import type { OriginRecord, PutManyOutcome } from './origin.ts';

/** Runs one parameterised statement and answers its rows (postgres.js or PGlite underneath). */
export type SqlRunner = (text: string, params: readonly unknown[]) => Promise<ReadonlyArray<Record<string, unknown>>>;

/** Table and column names of an items table. Every name must be a SQL identifier (see `quoteIdentifier`). */
export type SqlTableOptions = {
  /** Table name, optionally schema-qualified (`archive.items`). @default 'prescient_items' */
  readonly table?: string;
  /** Text primary key column. @default 'key' */
  readonly keyColumn?: string;
  /** JSON (jsonb) value column; NULL for tombstones. @default 'value' */
  readonly valueColumn?: string;
  /** bigint version column (indexed). @default 'version' */
  readonly versionColumn?: string;
  /** boolean tombstone column. @default 'deleted' */
  readonly deletedColumn?: string;
  /**
   * A custom read statement used by `getMany` instead of the table: it takes the keys as `$1` (a `text[]`) and
   * answers columns `key` (text), `value` (any; json/jsonb is decoded), `version` (any integer type, or text
   * holding one) and optionally `deleted` (boolean). Keys it does not answer are absent. The origin is then
   * read-only unless a table is also named explicitly with `table`.
   * Example: `select id::text as key, to_jsonb(p) as value, xmin::text::bigint as version from products p
   * where id::text = any($1)`.
   */
  readonly query?: string;
};

/** Default items table name. */
export const DEFAULT_TABLE = 'prescient_items';

/**
 * Upper bound on rows one `changes` call answers by default; callers page on with the last version they saw.
 * 10 000 rows of a few hundred bytes is a few MB, one round trip.
 */
export const DEFAULT_CHANGES_LIMIT = 10_000;

/** PostgreSQL's identifier limit (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_LENGTH = 63;

/**
 * `name` when PostgreSQL keeps it whole (and `isHashed` is false), else its first 54 characters and a hash of the
 * whole: a derived identifier (an index name, a NOTIFY channel) that stays distinct for distinct names. Cut short
 * instead, a 63-character table's index name would be the table's own (so `create index if not exists` created
 * nothing), and two long names sharing a prefix would share one index name or channel.
 */
export function shortIdentifier(name: string, isHashed = false): string {
  if (!isHashed && name.length <= MAX_IDENTIFIER_LENGTH) return name;
  let hash = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return `${name.slice(0, MAX_IDENTIFIER_LENGTH - 9)}_${hash.toString(16).padStart(8, '0')}`;
}
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * Quotes `name` as a SQL identifier after checking it is one: letters, digits, `_` and `$`, not starting with a
 * digit, at most 63 characters; `allowSchema` also accepts `schema.name`. Throws InvalidOptionError naming
 * `option` otherwise, so nothing but a plain identifier ever reaches statement text.
 */
export function quoteIdentifier(option: string, name: unknown, allowSchema = false): string {
  const parts = typeof name === 'string' ? name.split('.') : [];
  const ok = parts.length >= 1 && parts.length <= (allowSchema ? 2 : 1)
    && parts.every((p) => IDENTIFIER.test(p) && p.length <= MAX_IDENTIFIER_LENGTH);
  if (!ok) {
    throw new InvalidOptionError(option, allowSchema ? 'a SQL identifier or schema.identifier' : 'a SQL identifier', name);
  }
  return parts.map((p) => `"${p}"`).join('.');
}

/**
 * Turns a version as a driver hands it back (number, bigint, or the decimal text postgres.js uses for int8) into
 * a JS number. Throws ERR_ORIGIN_FAILED when it is not a non-negative safe integer: versions are hybrid logical
 * clock values (physicalMs * 1024 + logical), well below 2^53, so anything else is a misconfigured column.
 */
export function parseVersion(raw: unknown, key: string): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'bigint' || (typeof raw === 'string' && /^\d+$/.test(raw)) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new PrescientError('ERR_ORIGIN_FAILED', `Version of key ${JSON.stringify(key)} is not a safe non-negative integer: ${String(raw)}`);
  }
  return n;
}

/**
 * A NUL character or a UTF-16 surrogate without its partner: text PostgreSQL's jsonb (and text) refuses
 * ("unsupported Unicode escape sequence"), although JavaScript strings and JSON.stringify accept it.
 */
const JSONB_REFUSED = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Checks that `value` can be stored under `key` in a jsonb column, before it reaches the database: one bad string
 * would otherwise fail the whole batch it travels in. Walks the value as JSON.stringify sees it (after `toJSON`),
 * refusing a NUL character or a lone surrogate in the key, in any string or in any object key; a top-level value
 * JSON cannot encode (undefined, a function, a symbol); a bigint; and a non-finite number (JSON would silently
 * turn it into null). Object properties holding undefined or a function are dropped, as JSON does.
 * @throws PrescientError ERR_INVALID_VALUE naming the key and what is wrong
 */
export function checkJsonbValue(key: string, value: unknown): void {
  const refuse = (what: string, cause?: unknown) =>
    new PrescientError('ERR_INVALID_VALUE', `Value of key ${JSON.stringify(key)} cannot be stored as jsonb: ${what}`, cause === undefined ? undefined : { cause });
  if (typeof key === 'string' && JSONB_REFUSED.test(key)) {
    throw new PrescientError('ERR_INVALID_VALUE', `Key ${JSON.stringify(key)} holds a NUL character or a lone surrogate, which PostgreSQL refuses`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (name: string, v: unknown) => {
      if (JSONB_REFUSED.test(name)) throw refuse(`object key ${JSON.stringify(name)} holds a NUL character or a lone surrogate`);
      if (typeof v === 'string' && JSONB_REFUSED.test(v)) throw refuse('a string holds a NUL character or a lone surrogate');
      if (typeof v === 'number' && !Number.isFinite(v)) throw refuse(`${v} is not a JSON number`);
      return v;
    });
  } catch (error) {
    throw error instanceof PrescientError ? error : refuse('not JSON', error);
  }
  if (text === undefined) throw refuse('undefined, a function or a symbol is not JSON');
}

/** The statements over one items table, built once from validated names. */
export class SqlTable {
  /** Quoted (possibly schema-qualified) table name. */
  readonly table: string;
  /** True when `getMany` runs a custom `query` rather than reading the table. */
  readonly isCustomQuery: boolean;
  /** True when the table may be written (no custom query, or a table named beside it). */
  readonly isWritable: boolean;
  readonly #getMany: string;
  readonly #putMany: string;
  readonly #changes: string;
  readonly #create: readonly string[];

  constructor(options: SqlTableOptions = {}) {
    const table = quoteIdentifier('table', options.table ?? DEFAULT_TABLE, true);
    const k = quoteIdentifier('keyColumn', options.keyColumn ?? 'key');
    const v = quoteIdentifier('valueColumn', options.valueColumn ?? 'value');
    const ver = quoteIdentifier('versionColumn', options.versionColumn ?? 'version');
    const del = quoteIdentifier('deletedColumn', options.deletedColumn ?? 'deleted');
    if (options.query !== undefined && (typeof options.query !== 'string' || !options.query.includes('$1'))) {
      throw new InvalidOptionError('query', 'a SQL statement that takes the keys as $1', options.query);
    }
    this.table = table;
    this.isCustomQuery = options.query !== undefined;
    this.isWritable = options.query === undefined || options.table !== undefined;
    const columns = `${k} as key, ${v} as value, ${ver} as version, ${del} as deleted`;
    this.#getMany = options.query ?? `select ${columns} from ${table} where ${k} = any($1::text[])`;
    // One statement for the whole batch: the records travel as one JSON parameter, unpacked server-side; the
    // WHERE on the conflict arm makes the upsert last-writer-wins by version, so replays are no-ops. The outer
    // select names the records not applied, except a replay: one whose identical row (same version, tombstone flag
    // and value) was already there. It reads the rows as of the statement's start (a data-modifying CTE's changes
    // are invisible to it), while the conflict arm sees rows another writer committed while the statement waited:
    // so "not applied and not already identical" is the test, never "a newer row is visible" (that misses a
    // concurrent writer). The value is compared as jsonb, so a json value column works too, and with IS NOT DISTINCT
    // FROM, since a JSON null is stored as SQL NULL and `NULL = NULL` is not true.
    this.#putMany = `with r as (select x.key, x.value, x.version, coalesce(x.deleted, false) as deleted `
      + `from jsonb_to_recordset($1::text::jsonb) as x(key text, value jsonb, version bigint, deleted boolean)), `
      + `put as (insert into ${table} as t (${k}, ${v}, ${ver}, ${del}) select r.key, r.value, r.version, r.deleted from r `
      + `on conflict (${k}) do update set ${v} = excluded.${v}, ${ver} = excluded.${ver}, ${del} = excluded.${del} `
      + `where excluded.${ver} > t.${ver} returning t.${k} as key) `
      + `select r.key from r left join ${table} as t on t.${k} = r.key where r.key not in (select put.key from put) `
      + `and not coalesce(t.${k} is not null and t.${ver} = r.version and t.${del} = r.deleted `
      + `and (r.deleted or t.${v}::jsonb is not distinct from r.value), false)`;
    // A page never splits one version: it answers every row up to the last version of the first `$2` rows,
    // so a caller resuming from the highest version it saw misses nothing even when versions tie.
    this.#changes = `with page as (select ${ver} as version from ${table} where ${ver} > $1::bigint order by ${ver} limit $2::int) `
      + `select ${columns} from ${table} where ${ver} > $1::bigint and ${ver} <= (select max(version) from page) `
      + `order by ${ver}, ${k}`;
    const bare = (options.table ?? DEFAULT_TABLE).split('.').pop() as string;
    const index = quoteIdentifier('table', shortIdentifier(`${bare}_${options.versionColumn ?? 'version'}_idx`));
    this.#create = [
      `create table if not exists ${table} (${k} text primary key, ${v} jsonb, ${ver} bigint not null, ${del} boolean not null default false)`,
      `create index if not exists ${index} on ${table} (${ver})`,
    ];
  }

  /** Statements that create the table and its version index when missing (idempotent). */
  createStatements(): readonly string[] {
    return this.#create;
  }

  /** Runs `createStatements()`; rejects with ERR_ORIGIN_FAILED (cause attached) when the database does. */
  async create(run: SqlRunner): Promise<void> {
    checkOwnTable(this, 'the origin', 'create its table');
    try {
      for (const statement of this.#create) await run(statement, []);
    } catch (error) {
      throw new PrescientError('ERR_ORIGIN_FAILED', `Could not create table ${this.table}: ${errorMessage(error)}`, { cause: error });
    }
  }

  /**
   * Records for `keys`, aligned with them; absent keys answer undefined, and so do tombstones unless
   * `withTombstones` (then they answer `{ deleted: true }`). One round trip; duplicate keys are sent once.
   */
  async getMany<V>(run: SqlRunner, keys: readonly string[], withTombstones = false): Promise<Array<OriginRecord<V> | undefined>> {
    if (keys.length === 0) return [];
    // A key PostgreSQL cannot hold as text (a NUL) can never have been stored: it answers absent without being sent,
    // where sending it failed the whole statement, and so every key batched with it (another client's reads too).
    const unique = [...new Set(keys)].filter((key) => !JSONB_REFUSED.test(key));
    if (unique.length === 0) return keys.map(() => undefined);
    const rows = await run(this.#getMany, [unique]);
    const found = new Map<string, OriginRecord<V>>();
    for (const row of rows) {
      const record = toRecord<V>(row);
      if (withTombstones || record.deleted !== true) found.set(record.key, record);
    }
    return keys.map((key) => found.get(key));
  }

  /**
   * Upserts `records` in one statement, keeping the higher version per key; tombstones are stored as deleted
   * rows with a NULL value. Duplicate keys in one batch are reduced to their highest version first (PostgreSQL
   * cannot update one row twice in a statement). Every record sent is checked first (`checkJsonbValue`,
   * tombstones by key only), so nothing is written when one is refused.
   * @throws PrescientError ERR_INVALID_VALUE naming the first key whose key or value jsonb cannot hold, or whose
   *   version is not a safe integer >= 0; or for a batch too large to encode as one statement
   */
  async putMany<V>(run: SqlRunner, records: readonly OriginRecord<V>[]): Promise<PutManyOutcome> {
    if (records.length === 0) return { declined: [] };
    const latest = new Map<string, { key: string; value: unknown; version: number; deleted: boolean }>();
    for (const r of records) {
      const held = latest.get(r.key);
      if (held !== undefined && held.version >= r.version) continue;
      const isDeleted = r.deleted === true;
      latest.set(r.key, { key: r.key, value: isDeleted ? null : r.value, version: r.version, deleted: isDeleted });
    }
    for (const r of latest.values()) {
      // A version read back must be a safe integer >= 0 (parseVersion): one that is not would fail every later read
      // of the key, with the keys batched beside it, and stall the change feed for good.
      if (!Number.isSafeInteger(r.version) || r.version < 0) {
        throw new PrescientError('ERR_INVALID_VALUE', `Version of key ${JSON.stringify(r.key)} is not a safe non-negative integer: ${String(r.version)}`);
      }
      checkJsonbValue(r.key, r.value);
    }
    let text: string;
    try {
      text = JSON.stringify([...latest.values()]);
    } catch (error) {
      // Past V8's longest string: the batch as a whole is too large for one statement, never a single record.
      throw new PrescientError('ERR_INVALID_VALUE', `A batch of ${latest.size} records is too large to send as one statement`, { cause: error });
    }
    const rows = await run(this.#putMany, [text]);
    return { declined: rows.map((row) => String((row as { key: unknown }).key)) };
  }

  /**
   * Rows with version > `sinceVersion`, ascending by version (then key), tombstones included with
   * `deleted: true`. Answers about `limit` rows: more only when the last version is shared by several rows.
   */
  async changes<V>(run: SqlRunner, sinceVersion: number, limit: number): Promise<OriginRecord<V>[]> {
    const rows = await run(this.#changes, [sinceVersion, limit]);
    return rows.map((row) => toRecord<V>(row));
  }
}

/** SQLSTATE query_canceled: raised by `statement_timeout` and by a cancel request. */
const QUERY_CANCELED = '57014';

/**
 * The coded error for a failed read: ERR_ORIGIN_TIMEOUT when the statement was cancelled for time (SQLSTATE
 * 57014, or an ERR_ORIGIN_TIMEOUT raised by the runner), ERR_ORIGIN_FAILED otherwise; `error` is the cause.
 */
export function sqlReadError(keys: readonly string[], error: unknown): OriginError {
  const isTimeout = (error instanceof PrescientError && error.code === 'ERR_ORIGIN_TIMEOUT')
    || (error as { code?: unknown } | null)?.code === QUERY_CANCELED;
  return new OriginError(keys, error, isTimeout ? 'ERR_ORIGIN_TIMEOUT' : 'ERR_ORIGIN_FAILED');
}

/**
 * `putMany` of an origin named `origin` over `table`: refuses a custom-query table (ERR_ORIGIN_READ_ONLY) and codes
 * a driver failure (`sqlWriteError`). PostgresOrigin and PgliteOrigin share it; only their runner differs.
 */
export async function writeRecords<V>(table: SqlTable, origin: string, run: SqlRunner, records: readonly OriginRecord<V>[]): Promise<PutManyOutcome> {
  if (!table.isWritable) {
    throw new PrescientError('ERR_ORIGIN_READ_ONLY', `Origin ${origin} reads through a custom query; name a \`table\` to write`);
  }
  try {
    return await table.putMany(run, records);
  } catch (error) {
    throw sqlWriteError(origin, records.length, error);
  }
}

/** `changes` of an origin named `origin` over `table`: checks the arguments, codes a driver failure. */
export async function listChanges<V>(table: SqlTable, origin: string, run: SqlRunner, sinceVersion: number, limit: number): Promise<OriginRecord<V>[]> {
  nonNegativeInt('sinceVersion', sinceVersion);
  changesLimitOption('limit', limit);
  checkOwnTable(table, origin, 'list changes');
  try {
    return await table.changes<V>(run, sinceVersion, limit);
  } catch (error) {
    throw sqlChangesError(origin, sinceVersion, error);
  }
}

/**
 * SQLSTATEs of a write that fails again identically however often it is retried, because of what the batch holds:
 * class 54 (program limit exceeded: a key too long for the primary key's btree index, "index row size exceeds
 * maximum 2704"; a batch whose values exceed jsonb's 256 MiB array limit; a value nested too deep) and class 22
 * (data exception: text the column cannot hold, a string too long for a varchar key column, bad JSON). Out of
 * class 22, 22003 (numeric value out of range) is left retryable: JSON numbers always fit jsonb, and versions always
 * fit a bigint, so it means a version column narrower than bigint, which fails every write alike and must be fixed
 * rather than have every write set aside. Everything else (connection loss, timeouts, serialization failures and
 * deadlocks, a missing table or privilege, the server out of disk) is the server's state, not the batch's: retryable.
 */
function isRefusedBatch(sqlState: unknown): boolean {
  if (typeof sqlState !== 'string' || sqlState === '22003') return false;
  return sqlState.startsWith('54') || sqlState.startsWith('22');
}

/**
 * The coded error for a failed `putMany`: ERR_INVALID_VALUE passes through, and so does a database error that only
 * what the batch holds explains (`isRefusedBatch`), as ERR_INVALID_VALUE with the database error as cause: a
 * write-back flusher then splits the batch, sets aside the records still refused alone and sends the rest. Anything
 * else is ERR_WRITE_FAILED, retried as it is.
 */
export function sqlWriteError(origin: string, count: number, error: unknown): PrescientError {
  if (error instanceof PrescientError && error.code === 'ERR_INVALID_VALUE') return error;
  if (isRefusedBatch((error as { code?: unknown } | null)?.code)) {
    return new PrescientError('ERR_INVALID_VALUE', `Origin ${origin} refused ${count} records: ${errorMessage(error)}`, { cause: error });
  }
  return new PrescientError('ERR_WRITE_FAILED', `Origin ${origin} failed to write ${count} records: ${errorMessage(error)}`, { cause: error });
}

/** The coded error for a failed `changes`: the read error's code, with the watermark in the message. */
export function sqlChangesError(origin: string, sinceVersion: number, error: unknown): PrescientError {
  const { code } = sqlReadError([], error);
  return new PrescientError(code, `Origin ${origin} failed to list changes since ${sinceVersion}: ${errorMessage(error)}`, { cause: error });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function toRecord<V>(row: Record<string, unknown>): OriginRecord<V> {
  const key = row.key;
  if (typeof key !== 'string') {
    throw new PrescientError('ERR_ORIGIN_FAILED', `Origin row has no text \`key\` column (got ${typeof key})`);
  }
  const version = parseVersion(row.version, key);
  return row.deleted === true
    ? { key, value: undefined as V, version, deleted: true }
    : { key, value: row.value as V, version };
}

/** Largest `limit` the change listing's `$2::int` parameter holds (PostgreSQL int4). */
const MAX_SQL_INT = 2_147_483_647;

/** A change-listing page size: a positive integer the statement's int parameter holds. @throws InvalidOptionError */
export function changesLimitOption(name: string, value: unknown, fallback?: number): number {
  const limit = positiveInt(name, value, fallback);
  if (limit > MAX_SQL_INT) throw new InvalidOptionError(name, `an integer from 1 to ${MAX_SQL_INT}`, limit);
  return limit;
}

/**
 * An origin reading through a custom `query` without naming a `table` has no table of its own: listing changes of,
 * or creating, the default table would act on a table it never reads (ERR_ORIGIN_READ_ONLY, as `putMany` says).
 */
function checkOwnTable(table: SqlTable, origin: string, what: string): void {
  if (!table.isWritable) throw new PrescientError('ERR_ORIGIN_READ_ONLY', `Origin ${origin} reads through a custom query; name a \`table\` to ${what}`);
}
