/**
 * Hard deletes for the change feed's catch-up: a side table the row trigger fills on DELETE, read beside the
 * source table after a gap.
 *
 * Why: the catch-up after a lost connection reads `version > watermark` from the source table, and a row removed
 * by a hard DELETE is no longer there to be read, so a cache would keep serving it until its TTL. The trigger
 * therefore records each hard DELETE in `prescient_deletes_<table>` (key, the row's last `version`, and a `stamp`
 * one above every version left in the table, so the catch-up, which reads `stamp > watermark`, finds it), and the
 * feed's default catch-up merges those records into its pages in stamp order. A record is kept 7 days (the trigger
 * prunes now and then); a feed cut off for longer should start from a fresh cache. The trigger never fails the
 * DELETE over it: if the side table cannot be written (a role without the grant), it raises a warning instead.
 * Cost: one indexed insert per hard DELETE (tombstones, `deleted = true` with a new version, need none of this).
 */
import type { PostgresSql } from '../origin/postgres-origin.ts';
import { parseVersion, quoteIdentifier } from '../origin/sql-table.ts';
import type { ChangeRecord, ChangesFunction } from './change-target.ts';

/** Prefix of the side table of hard deletes for a source table. */
const sideTablePrefix = 'prescient_deletes_';

/**
 * Name of the side table that records hard DELETEs of `table` (same schema): `prescient_deletes_<table>`.
 * @throws InvalidOptionError (option `table`) when the name would not be a valid SQL identifier of at most 63 bytes
 */
export function hardDeletesTable(table: string): string {
  const dot = table.lastIndexOf('.');
  const name = dot < 0 ? `${sideTablePrefix}${table}` : `${table.slice(0, dot + 1)}${sideTablePrefix}${table.slice(dot + 1)}`;
  quoteIdentifier('table', name, true);
  return name;
}

/** Creates the side table of `table` and its stamp index if missing (inside the trigger's install transaction). */
export async function createHardDeletesTable(tx: Pick<PostgresSql, 'unsafe'>, table: string): Promise<string> {
  const side = hardDeletesTable(table);
  const quoted = quoteIdentifier('table', side, true);
  const index = quoteIdentifier('table', `${side.slice(side.lastIndexOf('.') + 1)}_stamp`);
  await tx.unsafe(
    `create table if not exists ${quoted} (key text primary key, version bigint not null, stamp bigint not null, ` +
      `deleted_at timestamptz not null default now())`,
  );
  await tx.unsafe(`create index if not exists ${index} on ${quoted} (stamp)`);
  return quoted;
}

/** A hard DELETE found by the catch-up: `version` is its stamp (its place in catch-up order). */
type HardDeleteRow = { key: string; version: string | number; stamp: string | number };

/**
 * The catch-up query over the source table (`rows`) and its side table of hard DELETEs, merged in version order.
 * Where the side table does not exist (a trigger installed by an older release), only `rows` is read and
 * `onMissing` is called once.
 */
export function withHardDeletes(sql: PostgresSql, table: string, rows: ChangesFunction, onMissing: (side: string) => void): ChangesFunction {
  const side = hardDeletesTable(table);
  const quoted = quoteIdentifier('table', side, true);
  let exists: Promise<boolean> | undefined;
  const check = async (): Promise<boolean> => {
    const [row] = await sql.unsafe(`select to_regclass($1) is not null as ok`, [quoted]);
    const ok = (row as unknown as { ok: boolean } | undefined)?.ok === true;
    if (!ok) onMissing(side);
    return ok;
  };
  return async (since, limit) => {
    exists ??= check().catch((error: unknown) => {
      exists = undefined;
      throw error;
    });
    const [page, hasSide] = await Promise.all([rows(since, limit), exists]);
    if (!hasSide) return page;
    const deleted = await sql.unsafe(
      `select key, version::text as version, stamp::text as stamp from ${quoted} where stamp > $1 order by stamp limit $2`,
      [since, limit],
    );
    const removals: ChangeRecord[] = (deleted as unknown as HardDeleteRow[]).map((r) => ({
      key: r.key,
      version: parseVersion(r.stamp, r.key),
      removedVersion: parseVersion(r.version, r.key),
    }));
    return mergeChanges(page, removals, limit);
  };
}

/**
 * Merges two pages sorted by version into one, cut after `limit` records — but never between two records of the
 * same version, since the next page starts above the last version returned.
 */
export function mergeChanges(a: readonly ChangeRecord[], b: readonly ChangeRecord[], limit: number): ChangeRecord[] {
  if (b.length === 0) return a.slice(0, limit);
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
