/**
 * The PostgreSQL side of the change feed: a row trigger that NOTIFYs each change with its key and version, and a
 * statement trigger that NOTIFYs a TRUNCATE.
 *
 * Why a trigger and NOTIFY: every writer (the service's write-back, a migration, someone in psql) passes through
 * the table, so the table is the one place that sees every change; NOTIFY is delivered at commit, in commit order,
 * and costs nothing when nobody listens. A notification can be lost while the listener is disconnected, so the
 * feed also keeps a version watermark and catches up with one query per page (`version > watermark`); hard DELETEs,
 * the old key of a re-keyed row and TRUNCATEs, which leave no row to catch up with, are recorded in a side table
 * (hard-deletes.ts). The trigger functions live in `sql/*.sql` and are read at run time; they read the table's
 * columns by the names given at install (PostgresOrigin's `keyColumn`, `versionColumn`, `deletedColumn`), which the
 * install checks against the table first, so a trigger never breaks a write to a table it does not fit.
 */
import { readFileSync } from 'node:fs';
import type { PostgresSql } from '../origin/postgres-origin.ts';
import { InvalidOptionError } from '../errors.ts';
import { quoteIdentifier, shortIdentifier } from '../origin/sql-table.ts';
import { installHardDeletes } from './hard-deletes.ts';

/** Name of the row trigger installed on each source table. */
export const changeTriggerName = 'prescient_change_feed';
/** Name of the statement trigger that records hard DELETEs on each source table. */
export const deletesTriggerName = 'prescient_change_feed_deletes';
/** Name of the statement trigger that NOTIFYs (and records) a TRUNCATE of each source table. */
export const truncateTriggerName = 'prescient_change_feed_truncate';

/** Key of the advisory lock that serializes installs (CREATE OR REPLACE FUNCTION races with itself otherwise). */
const installLockKey = 'prescient_change_feed';

const functionSql = new Map<string, string>();

/** A trigger function's SQL, read once from `sql/<name>.sql` next to this file. */
function sqlFile(name: 'change-notify' | 'record-deletes' | 'truncate-notify'): string {
  let text = functionSql.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./sql/${name}.sql`, import.meta.url), 'utf8');
    functionSql.set(name, text);
  }
  return text;
}

/**
 * The channel a table's changes are sent on when none is given: `prescient_changes_<table>` when that is a plain
 * identifier of at most 63 bytes (PostgreSQL's limit: `pg_notify` rejects longer channels); otherwise (a
 * schema-qualified or long name) its first characters, a dot as `_`, and a hash of the whole name, so two tables
 * never share a default channel.
 */
export function defaultChannel(table: string): string {
  return shortIdentifier(`prescient_changes_${table}`, table.includes('.')).replace('.', '_');
}

/** Where installTrigger sends changes and which columns its triggers read; names as PostgresOrigin takes them. */
export type ChangeTriggerOptions = {
  /** NOTIFY channel; the feed's `channel` must match. @default defaultChannel(table) */
  readonly channel?: string;
  /** Key column (any type; sent as text). @default 'key' */
  readonly keyColumn?: string;
  /** Version column: smallint, integer or bigint. @default 'version' */
  readonly versionColumn?: string;
  /** Boolean tombstone column; when the default is missing from the table, the table has no tombstones. @default 'deleted' */
  readonly deletedColumn?: string;
};

/** Integer types a version column may have (the feed reads versions as safe integers). */
const versionTypes = new Set(['int2', 'int4', 'int8']);

/**
 * The trigger arguments for `table`'s columns, after checking them in pg_attribute: the key and version columns
 * must exist (the version an integer), the tombstone column too when named explicitly (a boolean).
 */
async function triggerColumns(tx: Pick<PostgresSql, 'unsafe'>, quotedTable: string, o: ChangeTriggerOptions): Promise<{ key: string; version: string; deleted: string }> {
  const key = o.keyColumn ?? 'key';
  const version = o.versionColumn ?? 'version';
  const deleted = o.deletedColumn ?? 'deleted';
  quoteIdentifier('keyColumn', key);
  quoteIdentifier('versionColumn', version);
  quoteIdentifier('deletedColumn', deleted);
  const rows = await tx.unsafe(
    `select a.attname as name, t.typname as type from pg_attribute a join pg_type t on t.oid = a.atttypid ` +
      `where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped`,
    [quotedTable],
  );
  const types = new Map(rows.map((r) => [String(r.name), String(r.type)]));
  const columns = `a column of ${quotedTable} (it has ${[...types.keys()].join(', ') || 'none'})`;
  if (!types.has(key)) throw new InvalidOptionError('keyColumn', columns, key);
  const versionType = types.get(version);
  if (versionType === undefined) throw new InvalidOptionError('versionColumn', columns, version);
  if (!versionTypes.has(versionType)) throw new InvalidOptionError('versionColumn', `an integer column of ${quotedTable} (it is ${versionType})`, version);
  const deletedType = types.get(deleted);
  if (deletedType === undefined && o.deletedColumn !== undefined) throw new InvalidOptionError('deletedColumn', columns, deleted);
  if (deletedType !== undefined && deletedType !== 'bool') throw new InvalidOptionError('deletedColumn', `a boolean column of ${quotedTable} (it is ${deletedType})`, deleted);
  return { key, version, deleted: deletedType === undefined ? '' : deleted };
}

/**
 * Creates (or replaces) the trigger functions and, on `table`: the AFTER INSERT OR UPDATE OR DELETE row trigger
 * that NOTIFYs the channel, the BEFORE TRUNCATE statement trigger that NOTIFYs a truncate, and the side table and
 * statement trigger that record hard DELETEs (hard-deletes.ts). Triggers an older release installed are dropped
 * and created again, and the shared functions replaced, so running it again is the upgrade step. Idempotent; safe
 * to run from several processes at once (advisory lock, one transaction).
 * @param options the channel (a string, as before) or the channel and the table's column names
 * @throws InvalidOptionError for a bad table, channel or column name (before touching the database), and for a
 * column the table lacks or whose type does not fit (nothing installed); the driver's error when the table does
 * not exist or the role may not create triggers.
 */
export async function installChangeTrigger(sql: PostgresSql, table: string, options: string | ChangeTriggerOptions = {}): Promise<void> {
  const o: ChangeTriggerOptions = typeof options === 'string' ? { channel: options } : options;
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('options', 'a channel name or an object', options);
  const quotedTable = quoteIdentifier('table', table, true);
  const channel = o.channel ?? defaultChannel(table);
  quoteIdentifier('channel', channel);
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${installLockKey}))`;
    const c = await triggerColumns(tx, quotedTable, o);
    await tx.unsafe(sqlFile('change-notify'));
    await tx.unsafe(sqlFile('truncate-notify'));
    for (const name of [changeTriggerName, truncateTriggerName]) await tx.unsafe(`drop trigger if exists "${name}" on ${quotedTable}`);
    await tx.unsafe(
      `create trigger "${changeTriggerName}" after insert or update or delete on ${quotedTable} ` +
        `for each row execute function prescient_change_notify('${channel}', '${c.key}', '${c.version}', '${c.deleted}')`,
    );
    await tx.unsafe(
      `create trigger "${truncateTriggerName}" before truncate on ${quotedTable} ` +
        `for each statement execute function prescient_truncate_notify('${channel}', '${c.version}')`,
    );
    await installHardDeletes(tx, quotedTable, deletesTriggerName, sqlFile('record-deletes'), [c.key, c.version]);
  });
}

/**
 * Removes the triggers from `table` (the shared functions stay: other tables may use them; so does the side table
 * of hard deletes, which a feed may still be catching up from). Idempotent.
 * @throws InvalidOptionError for a bad table name.
 */
export async function removeChangeTrigger(sql: PostgresSql, table: string): Promise<void> {
  const quotedTable = quoteIdentifier('table', table, true);
  for (const name of [changeTriggerName, deletesTriggerName, truncateTriggerName]) {
    await sql.unsafe(`drop trigger if exists "${name}" on ${quotedTable}`);
  }
}
