/**
 * Hard deletes for the change feed's catch-up: a side table a statement trigger fills on DELETE, read beside the
 * source table after a gap.
 *
 * Why: the catch-up after a lost connection reads `version > watermark` from the source table, and a row removed
 * by a hard DELETE is no longer there to be read, so a cache would keep serving it until its TTL. A statement-level
 * trigger (sql/record-deletes.sql, one insert per DELETE statement through its transition table) therefore records
 * each deleted key in `prescient_hard_deletes`, in the source table's schema (one side table per schema, keyed by
 * table name and key, so long table names need no derived identifiers), with the row's last version and a stamp
 * above every version the feed can have seen; the feed's default catch-up merges those records into its pages in
 * stamp order, never splitting a stamp or a version across pages. Records are kept 7 days (pruned by the trigger);
 * a feed cut off for longer should start from a fresh cache. Neither a role that deletes without the grant on the
 * side table (a WARNING, nothing recorded) nor a feed whose role may not read it (a warning once, catch-up without
 * it) fails. Cost: per DELETE statement, one indexed insert of its rows and an exception block.
 * The same side table holds the old key of a row whose key an UPDATE changed (sql/change-notify.sql) and, as a
 * row keyed '' with version -1, the last TRUNCATE of the table (sql/truncate-notify.sql), read as `isTruncate`.
 */
import type { PostgresSql } from '../origin/postgres-origin.ts';
import { parseVersion } from '../origin/sql-table.ts';
import type { ChangeRecord, ChangesFunction } from './change-target.ts';

/** Name of the side table of hard deletes, one per schema. */
export const HARD_DELETES_TABLE = 'prescient_hard_deletes';

/** The version of a side-table row that stands for a TRUNCATE of the table (sql/truncate-notify.sql). */
const TRUNCATED_VERSION = '-1';

/** SQLSTATE of "insufficient privilege" and of "undefined table". */
const PERMISSION_DENIED = '42501';
const UNDEFINED_TABLE = '42P01';

type TableName = { readonly schema: string; readonly name: string };

/** The schema and bare name of `table` as PostgreSQL resolves it (search_path for an unqualified name). */
export async function resolveTable(sql: Pick<PostgresSql, 'unsafe'>, quotedTable: string): Promise<TableName> {
  const rows = await sql.unsafe(
    `select n.nspname as schema, c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = $1::regclass`,
    [quotedTable],
  );
  return rows[0] as unknown as TableName;
}

/** The side table of `table`'s schema, quoted. */
function sideTable(table: TableName): string {
  return `"${table.schema.replaceAll('"', '""')}"."${HARD_DELETES_TABLE}"`;
}

/**
 * Creates the side table of `quotedTable`'s schema, its index and the statement trigger that fills it, replacing
 * the trigger function (inside the trigger's install transaction). `columns` are the table's key and version
 * columns (checked identifiers), passed to the trigger.
 */
export async function installHardDeletes(
  tx: Pick<PostgresSql, 'unsafe'>, quotedTable: string, triggerName: string, functionSql: string, columns: readonly [string, string],
): Promise<void> {
  const side = sideTable(await resolveTable(tx, quotedTable));
  await tx.unsafe(
    `create table if not exists ${side} (tbl text not null, key text not null, version bigint not null, stamp bigint not null, ` +
      `deleted_at timestamptz not null default now(), primary key (tbl, key))`,
  );
  await tx.unsafe(`create index if not exists ${HARD_DELETES_TABLE}_stamp on ${side} (tbl, stamp)`);
  await tx.unsafe(functionSql);
  await tx.unsafe(`drop trigger if exists "${triggerName}" on ${quotedTable}`);
  await tx.unsafe(
    `create trigger "${triggerName}" after delete on ${quotedTable} referencing old table as prescient_old ` +
      `for each statement execute function prescient_record_deletes('${columns[0]}', '${columns[1]}')`,
  );
}

/** A hard DELETE as the side table holds it. */
type HardDeleteRow = { key: string; version: string | number; stamp: string | number };

/**
 * The catch-up query over the source table (`rows`) and the hard DELETEs recorded for it, merged in version
 * order. Where the side table is missing (a trigger installed by an older release) or the feed's role may not
 * read it, only `rows` is read and `onMissing` is called once with the reason.
 */
export function withHardDeletes(sql: PostgresSql, quotedTable: string, rows: ChangesFunction, onMissing: (reason: string) => void): ChangesFunction {
  let query: Promise<string | undefined> | undefined;
  const prepare = async (): Promise<string | undefined> => {
    const table = await resolveTable(sql, quotedTable);
    const side = sideTable(table);
    const [found] = await sql.unsafe(`select to_regclass($1) is not null as ok`, [side]);
    if ((found as unknown as { ok: boolean } | undefined)?.ok !== true) {
      onMissing(`${side} does not exist`);
      return undefined;
    }
    const tbl = `'${table.name.replaceAll("'", "''")}'`;
    // Like the rows' query, a page never splits a stamp: every record up to the last stamp of the first $2.
    return `with page as (select stamp from ${side} where tbl = ${tbl} and stamp > $1::bigint order by stamp limit $2::int) ` +
      `select key, version::text as version, stamp::text as stamp from ${side} ` +
      `where tbl = ${tbl} and stamp > $1::bigint and stamp <= (select max(stamp) from page) order by stamp, key`;
  };
  return async (since, limit) => {
    query ??= prepare().catch((error: unknown) => {
      query = undefined;
      throw error;
    });
    const [page, text] = await Promise.all([rows(since, limit), query]);
    if (text === undefined) return page;
    let deleted: HardDeleteRow[];
    try {
      deleted = (await sql.unsafe(text, [since, limit])) as unknown as HardDeleteRow[];
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== PERMISSION_DENIED && code !== UNDEFINED_TABLE) throw error;
      onMissing(`${error instanceof Error ? error.message : String(error)}`);
      query = Promise.resolve(undefined);
      return page;
    }
    const removals: ChangeRecord[] = deleted.map((r) => String(r.version) === TRUNCATED_VERSION
      ? { key: '', version: parseVersion(r.stamp, '(truncate)'), isTruncate: true }
      : { key: r.key, version: parseVersion(r.stamp, r.key), removedVersion: parseVersion(r.version, r.key) });
    return mergeChanges(page, removals, limit);
  };
}

/**
 * Merges two pages sorted by version into one, cut after `limit` records — but never between two records of the
 * same version, since the next page starts above the last version returned (a page may hold more than `limit`
 * records for that reason, and is then returned whole).
 */
export function mergeChanges(a: readonly ChangeRecord[], b: readonly ChangeRecord[], limit: number): readonly ChangeRecord[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: ChangeRecord[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i].version <= b[j].version) ? a[i++] : b[j++];
    if (out.length >= limit && next.version !== out[out.length - 1].version) break;
    out.push(next);
  }
  return out;
}
