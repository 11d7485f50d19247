/**
 * The change feed's triggers against the machine's PostgreSQL (127.0.0.1:5432, user postgres, database test):
 * tables with other column names, the upgrade over triggers an older release installed, a key-changing UPDATE,
 * TRUNCATE, and tables whose names share a long prefix. Each test uses its own tables, dropped after, and never
 * replaces the shared trigger functions with anything but the current ones (other test files use them meanwhile).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { Cache } from '../../src/cache/cache.ts';
import { cacheChangeTarget } from '../../src/cache/cache-change-target.ts';
import { isPrescientError } from '../../src/errors.ts';
import { PostgresOrigin, type PostgresSql } from '../../src/origin/postgres-origin.ts';
import { ChangeFeed } from '../../src/sync/change-feed.ts';
import { defaultChannel } from '../../src/sync/change-trigger.ts';
import { HARD_DELETES_TABLE } from '../../src/sync/hard-deletes.ts';

const url = 'postgres://postgres@127.0.0.1:5432/test';
let sql: PostgresSql;
let serial = 0;
const tables: string[] = [];

before(() => {
  sql = postgres(url, { max: 4, onnotice: () => {} }) as unknown as PostgresSql;
});

after(async () => {
  for (const table of tables) {
    await sql.unsafe(`drop table if exists "${table}"`);
    await sql.unsafe(`delete from ${HARD_DELETES_TABLE} where tbl = $1`, [table]);
  }
  await sql.end({ timeout: 5 });
});

/** A table name of this test run, dropped after. */
function tableName(suffix = ''): string {
  const table = `ct_test_${process.pid}_${++serial}${suffix}`;
  tables.push(table);
  return table;
}

/** Polls `condition` every 10 ms for at most `timeoutMs` (real-service tests may wait, boundedly). */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 10) {
    if (waited >= timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** The arguments of `trigger` on `table`, or undefined when it is not there. */
async function triggerArgs(table: string, trigger: string): Promise<string[] | undefined> {
  const rows = await sql.unsafe(
    `select encode(tgargs, 'escape') as args, tgnargs from pg_trigger where tgrelid = $1::regclass and tgname = $2`,
    [`"${table}"`, trigger],
  );
  if (rows.length === 0) return undefined;
  const args = String(rows[0].args).split('\\000');
  return args.slice(0, Number(rows[0].tgnargs));
}

/** A cache over `origin` fed by a feed on `table` that catches up through its own default query (hard deletes too). */
function fed<V>(table: string, origin: PostgresOrigin<V>, extra: Partial<ConstructorParameters<typeof ChangeFeed>[0]> = {}) {
  const cache = new Cache<V>({ origin });
  const feed = new ChangeFeed({ sql, table, target: cacheChangeTarget(cache), batchMs: 2, catchUpLookback: 0, retryMs: 20, ...extra });
  return { cache, feed, close: async () => { await feed.close(); await cache.close(); } };
}

describe('change feed triggers on PostgreSQL', () => {
  test('on a table with other column names, installTrigger with them works and the feed follows it; without them it refuses and writes go on', async () => {
    const table = tableName();
    const shape = { table, keyColumn: 'id', valueColumn: 'doc', versionColumn: 'rev', deletedColumn: 'gone' };
    await PostgresOrigin.ensureTable(sql, shape);
    const origin = new PostgresOrigin<number>({ sql, ...shape });
    await origin.putMany([{ key: 'a', value: 1, version: 1 }, { key: 'b', value: 2, version: 2 }]);
    await assert.rejects(ChangeFeed.installTrigger(sql, table), (e) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as { option?: string }).option === 'keyColumn');
    assert.equal(await triggerArgs(table, 'prescient_change_feed'), undefined, 'nothing installed');
    await assert.rejects(ChangeFeed.installTrigger(sql, table, { keyColumn: 'id', versionColumn: 'doc' }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as { option?: string }).option === 'versionColumn');
    await ChangeFeed.installTrigger(sql, table, { keyColumn: 'id', versionColumn: 'rev', deletedColumn: 'gone' });
    const { cache, feed, close } = fed(table, origin, { keyColumn: 'id', versionColumn: 'rev', deletedColumn: 'gone' });
    try {
      await feed.start();
      assert.equal(feed.watermark, 2, 'the starting watermark is read from the version column');
      await cache.get('a');
      await cache.get('b');
      await origin.putMany([{ key: 'c', value: 3, version: 3 }]);
      await sql.unsafe(`update "${table}" set doc = '10', rev = 10 where id = 'a'`);
      await sql.unsafe(`update "${table}" set gone = true, doc = null, rev = 11 where id = 'b'`);
      await until(() => cache.peek('a') === undefined && cache.peek('b') === undefined, 'the feed to invalidate a and b');
      assert.equal((await cache.get('a')).value, 10);
      assert.equal((await cache.get('b')).value, undefined);
      assert.equal(feed.stats().malformed, 0);
    } finally {
      await close();
    }
  });

  test('a table without a tombstone column takes the trigger, and every kind of write still succeeds', async () => {
    const table = tableName();
    await sql.unsafe(`create table "${table}" (key text primary key, value jsonb, version bigint not null)`);
    await ChangeFeed.installTrigger(sql, table);
    const seen: string[] = [];
    const feed = new ChangeFeed({
      sql, table, batchMs: 2, catchUpLookback: 0, retryMs: 20,
      changes: async () => [],
      target: { peekVersion: () => undefined, invalidate: async (keys) => void seen.push(...keys), invalidateAll: async () => void seen.push('*') },
    });
    try {
      await feed.start();
      await sql.unsafe(`insert into "${table}" values ('a', '1', 1), ('b', '2', 2)`);
      await sql.unsafe(`update "${table}" set version = 3 where key = 'a'`);
      await sql.unsafe(`delete from "${table}" where key = 'b'`);
      await sql.unsafe(`truncate "${table}"`);
      await until(() => seen.includes('*'), 'the truncate');
      assert.deepEqual([...new Set(seen.filter((k) => k !== '*'))].sort(), ['a', 'b']);
      assert.equal(feed.stats().malformed, 0);
    } finally {
      await feed.close();
    }
  });

  test('installTrigger replaces the triggers an older release installed (channel-only arguments, no TRUNCATE trigger)', async () => {
    const table = tableName();
    await PostgresOrigin.ensureTable(sql, table);
    await ChangeFeed.installTrigger(sql, table);
    // The state an older release left: its triggers' arguments and no TRUNCATE trigger (the functions are shared and
    // already current: the new functions read missing arguments as the old defaults).
    const channel = defaultChannel(table);
    await sql.unsafe(`drop trigger prescient_change_feed_truncate on "${table}"`);
    await sql.unsafe(`drop trigger prescient_change_feed on "${table}"`);
    await sql.unsafe(`create trigger prescient_change_feed after insert or update or delete on "${table}" for each row execute function prescient_change_notify('${channel}')`);
    await sql.unsafe(`drop trigger prescient_change_feed_deletes on "${table}"`);
    await sql.unsafe(`create trigger prescient_change_feed_deletes after delete on "${table}" referencing old table as prescient_old for each statement execute function prescient_record_deletes()`);
    const payloads: string[] = [];
    const listening = await sql.listen(channel, (payload) => payloads.push(payload));
    try {
      await sql.unsafe(`insert into "${table}" values ('a', '1', 1, false)`);
      await sql.unsafe(`delete from "${table}" where key = 'a'`);
      await until(() => payloads.length === 2, 'the old triggers to notify');
      assert.equal(JSON.parse(payloads[1]).op, 'delete');
      const recorded = await sql.unsafe(`select version::int as version from ${HARD_DELETES_TABLE} where tbl = $1 and key = 'a'`, [table]);
      assert.deepEqual(recorded.map((r) => r.version), [1], 'the old delete trigger still records');

      await ChangeFeed.installTrigger(sql, table);
      assert.deepEqual(await triggerArgs(table, 'prescient_change_feed'), [channel, 'key', 'version', 'deleted']);
      assert.deepEqual(await triggerArgs(table, 'prescient_change_feed_deletes'), ['key', 'version']);
      assert.deepEqual(await triggerArgs(table, 'prescient_change_feed_truncate'), [channel, 'version']);
      const triggers = await sql.unsafe(`select count(*)::int as n from pg_trigger where tgrelid = $1::regclass and tgname like 'prescient%'`, [`"${table}"`]);
      assert.equal(triggers[0].n, 3, 'replaced, not added beside');
      await sql.unsafe(`truncate "${table}"`);
      await until(() => payloads.length === 3, 'the new TRUNCATE trigger to notify');
      assert.equal(JSON.parse(payloads[2]).op, 'truncate');
    } finally {
      await listening.unlisten();
    }
  });

  test('an UPDATE of the key and a TRUNCATE leave nothing stale, live and through the catch-up after a gap', async () => {
    const table = tableName();
    await PostgresOrigin.ensureTable(sql, table);
    await ChangeFeed.installTrigger(sql, table);
    const origin = new PostgresOrigin<number>({ sql, table });
    await origin.putMany([{ key: 'a', value: 1, version: 1 }, { key: 'b', value: 2, version: 2 }, { key: 'c', value: 3, version: 3 }]);
    const live = fed(table, origin);
    try {
      await live.feed.start();
      for (const k of ['a', 'b', 'c']) await live.cache.get(k);
      await sql.unsafe(`update "${table}" set key = 'a2', version = 10 where key = 'a'`);
      await until(() => live.cache.peek('a') === undefined, 'the old key to be invalidated');
      assert.equal((await live.cache.get('a')).value, undefined);
      assert.equal(live.cache.peek('b')?.value, 2, 'other keys stay');
      await sql.unsafe(`truncate "${table}"`);
      await until(() => live.cache.peek('b') === undefined && live.cache.peek('c') === undefined, 'the truncate to invalidate everything');
      assert.equal((await live.cache.get('c')).value, undefined);
    } finally {
      await live.close();
    }

    // A feed cut off meanwhile: it starts from the version it had reached and finds both in the side table.
    await origin.putMany([{ key: 'd', value: 4, version: 20 }, { key: 'e', value: 5, version: 21 }, { key: 'f', value: 6, version: 22 }]);
    const gap = fed(table, origin, { fromVersion: 22 });
    try {
      for (const k of ['d', 'e', 'f']) await gap.cache.get(k);
      await sql.unsafe(`update "${table}" set key = 'd2', version = 30 where key = 'd'`);
      await gap.feed.start();
      assert.equal(gap.cache.peek('d'), undefined, 'the re-keyed row was recorded as a hard delete of its old key');
      assert.equal(gap.cache.peek('e')?.value, 5);
      await gap.feed.close();
      const since = gap.feed.watermark;
      const again = fed(table, origin, { fromVersion: since });
      try {
        for (const k of ['e', 'f']) await again.cache.get(k);
        await sql.unsafe(`truncate "${table}"`);
        await again.feed.start();
        assert.equal(again.cache.peek('e'), undefined, 'the truncate was recorded and caught up');
        assert.equal(again.cache.peek('f'), undefined);
      } finally {
        await again.close();
      }
    } finally {
      await gap.close();
    }
  });

  test('tables whose long names share a prefix get their own channels, and a feed ignores another table on its channel', async () => {
    const prefix = `ct_collide_${process.pid}_`.padEnd(50, 'x');
    const a = `${prefix}_orders`;
    const b = `${prefix}_audit`;
    tables.push(a, b);
    assert.notEqual(defaultChannel(a), defaultChannel(b));
    for (const t of [a, b]) {
      await PostgresOrigin.ensureTable(sql, t);
      await ChangeFeed.installTrigger(sql, t);
    }
    await sql.unsafe(`insert into "${a}" (key, value, version) values ('k1', '1', 10)`);
    const seen: string[] = [];
    const target = { peekVersion: () => undefined, invalidate: async (keys: readonly string[]) => void seen.push(...keys) };
    const feedA = new ChangeFeed({ sql, table: a, catchUpLookback: 0, batchMs: 2, target });
    // One channel named for both on purpose: the payload's table tells them apart.
    const shared = `ct_shared_${process.pid}`;
    const c = tableName();
    const d = tableName();
    for (const t of [c, d]) {
      await PostgresOrigin.ensureTable(sql, t);
      await ChangeFeed.installTrigger(sql, t, shared);
    }
    const feedC = new ChangeFeed({ sql, table: c, channel: shared, catchUpLookback: 0, batchMs: 2, target: { ...target, invalidate: async (keys: readonly string[]) => void seen.push(...keys.map((k) => `c:${k}`)) } });
    try {
      await feedA.start();
      await feedC.start();
      await sql.unsafe(`insert into "${b}" (key, value, version) values ('k1', '1', 999999)`);
      await sql.unsafe(`insert into "${d}" (key, value, version) values ('k2', '1', 999999)`);
      await sql.unsafe(`insert into "${c}" (key, value, version) values ('k3', '1', 5)`);
      await until(() => seen.includes('c:k3'), 'the feed on c to apply its own change');
      await sleep(50);
      assert.deepEqual(seen, ['c:k3']);
      assert.equal(feedA.watermark, 10);
      assert.equal(feedC.stats().otherTables, 1);
      assert.equal(feedC.watermark, 5);
    } finally {
      await feedA.close();
      await feedC.close();
    }
  });
});
