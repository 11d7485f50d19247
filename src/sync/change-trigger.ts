/**
 * The PostgreSQL side of the change feed: a row trigger that NOTIFYs each change with its key and version.
 *
 * Why a trigger and NOTIFY: every writer (the service's write-back, a migration, someone in psql) passes through
 * the table, so the table is the one place that sees every change; NOTIFY is delivered at commit, in commit order,
 * and costs nothing when nobody listens. A notification can be lost while the listener is disconnected, so the
 * feed also keeps a version watermark and catches up with one query per page (`version > watermark`); hard DELETEs,
 * which leave no row to catch up with, are recorded by a statement trigger in a side table (hard-deletes.ts).
 * The trigger function lives in `sql/change-notify.sql` and is read at run time.
 */
import { readFileSync } from 'node:fs';
import type { PostgresSql } from '../origin/postgres-origin.ts';
import { quoteIdentifier } from '../origin/sql-table.ts';
import { installHardDeletes } from './hard-deletes.ts';

/** Name of the row trigger installed on each source table. */
export const changeTriggerName = 'prescient_change_feed';
/** Name of the statement trigger that records hard DELETEs on each source table. */
export const deletesTriggerName = 'prescient_change_feed_deletes';

/** PostgreSQL's identifier limit (NAMEDATALEN - 1): `pg_notify` rejects longer channels. */
const maxIdentifierBytes = 63;

/** Key of the advisory lock that serializes installs (CREATE OR REPLACE FUNCTION races with itself otherwise). */
const installLockKey = 'prescient_change_feed';

const functionSql = new Map<string, string>();

/** A trigger function's SQL, read once from `sql/<name>.sql` next to this file. */
function sqlFile(name: 'change-notify' | 'record-deletes'): string {
  let text = functionSql.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./sql/${name}.sql`, import.meta.url), 'utf8');
    functionSql.set(name, text);
  }
  return text;
}

/**
 * The channel a table's changes are sent on when none is given: `prescient_changes_<table>` (a dot becomes `_`),
 * cut to 63 bytes.
 */
export function defaultChannel(table: string): string {
  return `prescient_changes_${table.replace('.', '_')}`.slice(0, maxIdentifierBytes);
}

/**
 * Creates (or replaces) the trigger function and the AFTER INSERT OR UPDATE OR DELETE row trigger on `table`
 * that NOTIFYs `channel`, and the side table and statement trigger that record hard DELETEs (hard-deletes.ts). Idempotent; safe to run from several processes at once (advisory lock, one transaction).
 * @param channel @default defaultChannel(table)
 * @throws InvalidOptionError for a bad table or channel name (before touching the database); the driver's error
 * when the table does not exist or the role may not create triggers.
 */
export async function installChangeTrigger(sql: PostgresSql, table: string, channel: string = defaultChannel(table)): Promise<void> {
  const quotedTable = quoteIdentifier('table', table, true);
  quoteIdentifier('channel', channel);
  const fnSql = sqlFile('change-notify');
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${installLockKey}))`;
    await tx.unsafe(fnSql);
    await tx.unsafe(`drop trigger if exists "${changeTriggerName}" on ${quotedTable}`);
    await tx.unsafe(
      `create trigger "${changeTriggerName}" after insert or update or delete on ${quotedTable} ` +
        `for each row execute function prescient_change_notify('${channel}')`,
    );
    await installHardDeletes(tx, quotedTable, deletesTriggerName, sqlFile('record-deletes'));
  });
}

/**
 * Removes the triggers from `table` (the shared functions stay: other tables may use them; so does the side table
 * of hard deletes, which a feed may still be catching up from). Idempotent.
 * @throws InvalidOptionError for a bad table name.
 */
export async function removeChangeTrigger(sql: PostgresSql, table: string): Promise<void> {
  const quotedTable = quoteIdentifier('table', table, true);
  await sql.unsafe(`drop trigger if exists "${changeTriggerName}" on ${quotedTable}`);
  await sql.unsafe(`drop trigger if exists "${deletesTriggerName}" on ${quotedTable}`);
}
