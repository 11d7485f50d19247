/**
 * ChangeFeed against the machine's PostgreSQL (127.0.0.1:5432, user postgres, database test). Each test uses its
 * own table, dropped after. Rows are changed with plain SQL, as another writer would, with a version above every
 * version in the table.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { Cache } from '../../src/cache/cache.ts';
import { cacheChangeTarget } from '../../src/cache/cache-change-target.ts';
import { PostgresOrigin, type PostgresSql } from '../../src/origin/postgres-origin.ts';
import { ChangeFeed, type ChangeFeedMode } from '../../src/sync/change-feed.ts';
import { HARD_DELETES_TABLE, withHardDeletes } from '../../src/sync/hard-deletes.ts';

const url = 'postgres://postgres@127.0.0.1:5432/test';
let sql: PostgresSql;
let serial = 0;

before(() => {
  sql = postgres(url, { max: 4, onnotice: () => {} }) as unknown as PostgresSql;
});

after(async () => {
  await sql.end({ timeout: 5 });
});

/** Polls `condition` every 10 ms for at most `timeoutMs` (real-service tests may wait, boundedly). */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited >= timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A fresh table with rows k0..k(n-1) at versions 1..n, its trigger, an origin and a cache over it. The feed catches
 * up through the origin's `changes` unless `defaultChanges` (its own query, which also reads the hard deletes).
 */
async function fixture(n: number, mode: ChangeFeedMode = 'invalidate', feedUrl = url, defaultChanges = false) {
  const table = `cf_test_${process.pid}_${++serial}`;
  await PostgresOrigin.ensureTable(sql, table);
  await ChangeFeed.installTrigger(sql, table);
  const origin = new PostgresOrigin<{ n: number }>({ sql, table });
  await origin.putMany(Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: { n: i }, version: i + 1 })));
  const cache = new Cache({ origin });
  const applicationName = `prescient_cf_${process.pid}_${serial}`;
  const feed = new ChangeFeed({
    url: feedUrl,
    applicationName,
    table,
    target: cacheChangeTarget(cache),
    ...(defaultChanges ? {} : { changes: (since: number, limit: number) => origin.changes(since, limit) }),
    mode,
    batchMs: 2,
    catchUpPageSize: 2,
    // Versions here are small integers written in order by one client: no lookback, so row counts stay exact.
    catchUpLookback: 0,
    retryMs: 20,
  });
  const update = (keys: readonly string[]) =>
    sql.unsafe(
      `update ${table} set value = jsonb_build_object('n', -1), version = v.top + v.i
       from (select k, i, (select max(version) from ${table}) as top from unnest($1::text[]) with ordinality as u(k, i)) as v
       where key = v.k`,
      [keys as string[]],
    );
  const cleanup = async () => {
    await feed.close();
    await cache.close();
    await sql.unsafe(`drop table if exists ${table}`);
    await sql.unsafe(`delete from ${HARD_DELETES_TABLE} where tbl = $1`, [table]);
  };
  return { table, origin, cache, feed, update, applicationName, cleanup };
}

describe('ChangeFeed on PostgreSQL', () => {
  test('rows updated and deleted directly in PostgreSQL disappear from the cache; its own writes stay', async () => {
    const f = await fixture(8);
    try {
      await f.feed.start();
      for (let i = 0; i < 8; i++) await f.cache.get(`k${i}`);
      assert.equal(f.cache.peek('k1')?.version, 2);
      await f.update(['k1', 'k2', 'k3']);
      await until(() => ['k1', 'k2', 'k3'].every((k) => f.cache.peek(k) === undefined), 'k1..k3 to be invalidated');
      await sql`delete from ${sql(f.table)} where key = 'k4'`;
      await until(() => f.cache.peek('k4') === undefined, 'the hard-deleted k4 to be invalidated');
      // The service's own write: held in the cache at the version it wrote, then echoed back by the trigger.
      const top = f.feed.watermark + 100;
      await f.cache.set('k5', { n: 55 }, { version: top });
      await f.origin.putMany([{ key: 'k5', value: { n: 55 }, version: top }]);
      await until(() => f.feed.watermark === top, 'the echo of the own write');
      assert.equal(f.cache.peek('k5')?.version, top, 'the own write is not thrown away');
      assert.ok(f.feed.stats().ignored >= 1);
      assert.equal(f.cache.peek('k0')?.version, 1, 'unchanged rows stay cached');
      assert.equal((await f.cache.get('k1')).value?.n, -1, 'the next read loads the new row');
      const stats = f.feed.stats();
      assert.equal(stats.failures, 0);
      assert.ok(stats.lastLagMs !== undefined && stats.lastLagMs >= 0);
    } finally {
      await f.cleanup();
    }
  });

  test('in refresh mode a changed row is fetched again rather than dropped', async () => {
    const f = await fixture(4, 'refresh');
    try {
      await f.feed.start();
      for (let i = 0; i < 4; i++) await f.cache.get(`k${i}`);
      await f.update(['k2']);
      await until(() => f.cache.peek('k2')?.version === 5, 'k2 to be refreshed to version 5');
      assert.equal(f.cache.peek('k2')?.value.n, -1);
      assert.equal(f.feed.stats().applied, 1);
    } finally {
      await f.cleanup();
    }
  });

  test('after its connection is cut, the listener reconnects and one paged catch-up applies every change made meanwhile, hard deletes too', async () => {
    // The feed connects as its own role so new connections can be refused (CONNECTION LIMIT 0) while rows change:
    // the notifications of the gap are then certainly lost, and only the catch-up can bring the changes.
    const role = `prescient_cf_role_${process.pid}`;
    await sql.unsafe(`drop owned by ${role}`).catch(() => {});
    await sql.unsafe(`drop role if exists ${role}`);
    await sql.unsafe(`create role ${role} login`);
    const f = await fixture(12, 'invalidate', `postgres://${role}@127.0.0.1:5432/test`, true);
    await sql.unsafe(`grant select on ${f.table}, ${HARD_DELETES_TABLE} to ${role}`);
    try {
      const reconnected: number[] = [];
      f.feed.on('listener:reconnected', (e) => reconnected.push(e.reconnects));
      await f.feed.start();
      for (let i = 0; i < 12; i++) await f.cache.get(`k${i}`);
      const changed = ['k0', 'k3', 'k6', 'k9', 'k10'];
      // k11 holds the highest version; deleted before the cut, its version is the feed's watermark, above every
      // version left in the table: the gap's hard delete must still be stamped above it.
      await sql`delete from ${sql(f.table)} where key = 'k11'`;
      await until(() => f.cache.peek('k11') === undefined, 'the live delete of k11 to arrive');
      const before = f.feed.stats();
      await sql.unsafe(`alter role ${role} connection limit 0`);
      const cut = await sql.unsafe(
        `select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1 and query ilike 'listen%'`,
        [f.applicationName],
      );
      assert.equal(cut.length, 1, 'exactly one listening backend');
      // While cut off: k1 is deleted (every version left in the table is now below the watermark), then the
      // changed rows take versions above every version ever used (101..105), as a direct SQL writer must.
      await sql`delete from ${sql(f.table)} where key = 'k1'`;
      await sql.unsafe(
        `update ${f.table} set value = jsonb_build_object('n', -1), version = 100 + v.i from unnest($1::text[]) with ordinality as v(k, i) where key = v.k`,
        [changed],
      );
      await sleep(150);
      assert.equal(f.feed.stats().notifications, before.notifications, 'no notification reached the feed while it was cut off');
      assert.ok(changed.every((k) => f.cache.peek(k) !== undefined), 'the entries are stale until the catch-up');
      await sql.unsafe(`alter role ${role} connection limit -1`);
      await until(() => changed.every((k) => f.cache.peek(k) === undefined) && f.cache.peek('k1') === undefined, 'the catch-up to invalidate every changed key and the deleted one', 10_000);
      const stats = f.feed.stats();
      assert.deepEqual(reconnected, [1]);
      assert.equal(stats.reconnects, 1);
      assert.equal(stats.catchUps, before.catchUps + 1, 'one catch-up after the reconnect');
      assert.equal(stats.catchUpRows - before.catchUpRows, changed.length + 2, 'only the changed rows and the two hard deletes were read, not the table');
      assert.equal(stats.catchUpPages - before.catchUpPages, 4, 'seven records in pages of two');
      assert.ok(stats.failures >= 1, 'the lost connection was reported');
      assert.equal(f.cache.peek('k1'), undefined, 'a hard delete during the gap is seen by the catch-up (its side table)');
      assert.equal((await f.cache.get('k1')).isFound, false, 'and the deleted row is not read back');
      assert.equal(f.cache.peek('k2')?.version, 3, 'unchanged rows stay cached');
      await f.update(['k2']);
      await until(() => f.cache.peek('k2') === undefined, 'live notifications to flow again');
    } finally {
      await sql.unsafe(`alter role ${role} connection limit -1`).catch(() => {});
      await f.cleanup();
      await sql.unsafe(`drop owned by ${role}`).catch(() => {});
      await sql.unsafe(`drop role if exists ${role}`);
    }
  });

  test('a hard DELETE by a role that may not write the side table still succeeds; the trigger records it otherwise', async () => {
    const role = `prescient_cf_writer_${process.pid}`;
    const f = await fixture(3);
    const writer = postgres(`postgres://${role}@127.0.0.1:5432/test`, { max: 1, onnotice: () => {} });
    const recorded = async () =>
      (await sql.unsafe(`select key, version::int as version, stamp::int as stamp from ${HARD_DELETES_TABLE} where tbl = $1 order by key`, [f.table])).map((r) => ({ ...r }));
    try {
      await sql.unsafe(`drop role if exists ${role}`);
      await sql.unsafe(`create role ${role} login`);
      await sql.unsafe(`grant select, delete on ${f.table} to ${role}`);
      await writer.unsafe(`delete from ${f.table} where key = 'k0'`);
      assert.equal((await sql.unsafe(`select count(*)::int as n from ${f.table} where key = 'k0'`))[0].n, 0, 'the DELETE went through');
      assert.deepEqual(await recorded(), [], 'nothing recorded without the grant');
      await sql.unsafe(`delete from ${f.table} where key = 'k1'`);
      assert.deepEqual(await recorded(), [{ key: 'k1', version: 2, stamp: 4 }], 'the row\'s last version, stamped above every version left');
    } finally {
      await writer.end({ timeout: 5 });
      await f.cleanup();
      await sql.unsafe(`drop owned by ${role}`).catch(() => {});
      await sql.unsafe(`drop role if exists ${role}`);
    }
  });

  test('one DELETE of many rows shares a stamp and the catch-up pages never split it; a table in another schema records there', async () => {
    const schema = `prescient_cf_schema_${process.pid}`;
    await sql.unsafe(`drop schema if exists ${schema} cascade`);
    await sql.unsafe(`create schema ${schema}`);
    const table = `${schema}.items`;
    try {
      await PostgresOrigin.ensureTable(sql, table);
      await ChangeFeed.installTrigger(sql, table);
      const origin = new PostgresOrigin<{ n: number }>({ sql, table });
      await origin.putMany(Array.from({ length: 8 }, (_, i) => ({ key: `c${i}`, value: { n: i }, version: 10 + i })));
      // Deleted with the default search_path, which does not hold the schema: the side table is found by the
      // trigger's own table schema.
      await sql.unsafe(`delete from ${table} where key in ('c1', 'c2', 'c3', 'c4', 'c5')`);
      const missing: string[] = [];
      const changes = withHardDeletes(sql, `"${schema}"."items"`, (since, limit) => origin.changes(since, limit), (reason) => missing.push(reason));
      const seen: string[] = [];
      let since = 0;
      for (let pages = 0; pages < 10; pages++) {
        const page = await changes(since, 2);
        for (const r of page) if (r.removedVersion !== undefined) seen.push(`${r.key}@${r.removedVersion}`);
        if (page.length < 2) break;
        since = page[page.length - 1].version;
      }
      assert.deepEqual(missing, []);
      assert.deepEqual(seen.sort(), ['c1@11', 'c2@12', 'c3@13', 'c4@14', 'c5@15'], 'all five, though the page size is two');
      const stamps = await sql.unsafe(`select distinct stamp::int as stamp from ${schema}.${HARD_DELETES_TABLE}`);
      assert.deepEqual(stamps.map((r) => r.stamp), [18], 'one stamp for the statement, above every version');
    } finally {
      await sql.unsafe(`drop schema if exists ${schema} cascade`);
    }
  });

  test('a feed role that may not read the side table catches up from the table alone, with one warning', async () => {
    const role = `prescient_cf_reader_${process.pid}`;
    const f = await fixture(2);
    await sql.unsafe(`drop owned by ${role}`).catch(() => {});
    await sql.unsafe(`drop role if exists ${role}`);
    await sql.unsafe(`create role ${role} login`);
    await sql.unsafe(`grant select on ${f.table} to ${role}`);
    const reader = postgres(`postgres://${role}@127.0.0.1:5432/test`, { max: 1, onnotice: () => {} }) as unknown as PostgresSql;
    try {
      await sql.unsafe(`delete from ${f.table} where key = 'k0'`);
      const readerOrigin = new PostgresOrigin<{ n: number }>({ sql: reader, table: f.table });
      const reasons: string[] = [];
      const changes = withHardDeletes(reader, `"${f.table}"`, (since, limit) => readerOrigin.changes(since, limit), (reason) => reasons.push(reason));
      assert.deepEqual((await changes(0, 10)).map((r) => r.key), ['k1']);
      assert.deepEqual((await changes(0, 10)).map((r) => r.key), ['k1']);
      assert.equal(reasons.length, 1, 'warned once');
      assert.match(reasons[0], /permission denied/);
    } finally {
      await reader.end({ timeout: 5 });
      await f.cleanup();
      await sql.unsafe(`drop owned by ${role}`).catch(() => {});
      await sql.unsafe(`drop role if exists ${role}`);
    }
  });

  test('installTrigger is idempotent and a key too long for NOTIFY is sent without it, then caught up', async () => {
    const f = await fixture(1);
    try {
      await ChangeFeed.installTrigger(sql, f.table);
      await f.feed.start();
      const long = 'x'.repeat(8000);
      await f.origin.putMany([{ key: long, value: { n: 1 }, version: 50 }]);
      await until(() => f.feed.watermark === 50, 'the catch-up to read the long key');
      const stats = f.feed.stats();
      assert.equal(stats.notifications, 1);
      assert.equal(stats.malformed, 0);
      assert.equal(stats.catchUpRows, 1);
    } finally {
      await f.cleanup();
    }
  });
});
