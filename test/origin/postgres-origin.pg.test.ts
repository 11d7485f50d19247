/**
 * PostgresOrigin against the machine's PostgreSQL (127.0.0.1:5432, database `test`): the Origin contract on a
 * fresh table per test inside a schema of its own, plus custom queries, error codes and round trips.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { isPrescientError } from '../../src/errors.ts';
import type { OriginRecord } from '../../src/origin/origin.ts';
import { PostgresOrigin, type PostgresSql } from '../../src/origin/postgres-origin.ts';
import { TieredOrigin } from '../../src/origin/tiered-origin.ts';
import { originContract } from '../contracts/origin.contract.ts';
import { HeldProxy } from '../doubles/held-proxy.ts';

const URL = process.env.PRESCIENT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `prescient_origin_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const sql = postgres(URL, { max: 4, onnotice: () => {} }) as unknown as PostgresSql;
let tables = 0;

async function freshTable(seed: readonly OriginRecord<unknown>[] = []): Promise<string> {
  const table = `${SCHEMA}.items_${++tables}`;
  await PostgresOrigin.ensureTable(sql, table);
  if (seed.length > 0) await new PostgresOrigin({ sql, table }).putMany(seed);
  return table;
}

before(async () => {
  await sql.unsafe(`create schema ${SCHEMA}`);
});

after(async () => {
  await sql.unsafe(`drop schema ${SCHEMA} cascade`);
  await sql.end();
});

originContract('PostgresOrigin', async (seed) => new PostgresOrigin({ sql, table: await freshTable(seed) }));

originContract('TieredOrigin over two PostgreSQL tables', async (seed) => new TieredOrigin({
  live: new PostgresOrigin({ sql, table: await freshTable(seed) }),
  archive: new PostgresOrigin({ sql, table: await freshTable(seed.map((r) => ({ key: r.key, value: 'stale archive copy', version: 0 }))) }),
}));

test('TieredOrigin answers archived keys from the archive table', async () => {
  const live = new PostgresOrigin({ sql, table: await freshTable([{ key: 'hot', value: 'live', version: 2 }]) });
  const archive = new PostgresOrigin({ sql, table: await freshTable([{ key: 'cold', value: 'archived', version: 1 }]) });
  const tiered = new TieredOrigin({ live, archive });
  assert.deepEqual((await tiered.getMany(['cold', 'hot', 'none'])).map((r) => r?.value), ['archived', 'live', undefined]);
  assert.equal(tiered.stats().archive.keys, 2);
});

describe('PostgresOrigin', () => {
  test('getMany of many keys is one statement', async () => {
    let statements = 0;
    const counting = new Proxy(sql, {
      get(target, prop, receiver) {
        if (prop === 'unsafe') return (...args: Parameters<PostgresSql['unsafe']>) => { statements++; return target.unsafe(...args); };
        return Reflect.get(target, prop, receiver);
      },
    });
    const table = await freshTable(Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: i, version: 1 })));
    const origin = new PostgresOrigin({ sql: counting, table, prepare: false });
    const got = await origin.getMany(Array.from({ length: 150 }, (_, i) => `k${i * 2}`));
    assert.equal(statements, 1);
    assert.equal(got.filter((r) => r !== undefined).length, 100);
  });

  test('ensureTable is idempotent and honours custom column names', async () => {
    const shape = { table: `${SCHEMA}.custom_cols`, keyColumn: 'id', valueColumn: 'doc', versionColumn: 'rev', deletedColumn: 'gone' };
    await PostgresOrigin.ensureTable(sql, shape);
    await PostgresOrigin.ensureTable(sql, shape);
    const origin = new PostgresOrigin({ sql, ...shape });
    await origin.putMany([{ key: 'a', value: { v: 1 }, version: 4 }]);
    assert.deepEqual([...await sql.unsafe(`select id, doc, rev::int as rev, gone from ${SCHEMA}.custom_cols`)], [{ id: 'a', doc: { v: 1 }, rev: 4, gone: false }]);
    assert.deepEqual((await origin.changes(0)).map((r) => r.key), ['a']);
  });

  test('rejects table and column names that are not identifiers', () => {
    for (const bad of [{ table: 'items; drop table x' }, { keyColumn: 'key"' }, { versionColumn: '1abc' }, { table: 'a.b.c' }]) {
      assert.throws(() => new PostgresOrigin({ sql, ...bad }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
    }
    assert.throws(() => new PostgresOrigin({ sql: { url: 3 } as never }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
    assert.throws(() => new PostgresOrigin({ sql, query: 'select 1' }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  });

  test('a custom query maps keys onto an existing table, read-only unless a table is named', async () => {
    await sql.unsafe(`create table ${SCHEMA}.products (id int primary key, name text, price numeric)`);
    await sql.unsafe(`insert into ${SCHEMA}.products values (1, 'lamp', 12.5), (2, 'desk', 99)`);
    const origin = new PostgresOrigin({
      sql,
      query: `select id::text as key, to_jsonb(p) as value, xmin::text::bigint as version from ${SCHEMA}.products p where id::text = any($1)`,
    });
    const [lamp, none, desk] = await origin.getMany(['1', '3', '2']);
    assert.deepEqual(lamp?.value, { id: 1, name: 'lamp', price: 12.5 });
    assert.equal(none, undefined);
    assert.equal(desk?.key, '2');
    assert.ok(Number.isSafeInteger(desk?.version) && (desk?.version ?? 0) > 0);
    await assert.rejects(origin.putMany([{ key: '1', value: {}, version: 1 }]), (e) => isPrescientError(e, 'ERR_ORIGIN_READ_ONLY'));
  });

  test('a statement past timeoutMs is cancelled and rejects with ERR_ORIGIN_TIMEOUT', async () => {
    const table = await freshTable([{ key: 'a', value: 1, version: 1 }]);
    const origin = new PostgresOrigin({
      sql, timeoutMs: 50,
      query: `select key, value, version from ${table}, pg_sleep(5) where key = any($1)`,
    });
    const started = performance.now();
    await assert.rejects(origin.getMany(['a']), (e) => isPrescientError(e, 'ERR_ORIGIN_TIMEOUT') && (e as Error).cause !== undefined);
    assert.ok(performance.now() - started < 4000, 'the statement was cancelled, not waited out');
  });

  test('a server that stops answering (a partition) still rejects at timeoutMs, reads and writes alike', async () => {
    const proxy = await HeldProxy.start(5432);
    const port = proxy.url.split(":").pop();
    const table = await freshTable([{ key: 'a', value: 1, version: 1 }]);
    const origin = new PostgresOrigin({ sql: { url: `postgres://postgres@127.0.0.1:${port}/test`, max: 1, connectTimeoutSeconds: 2 }, table, timeoutMs: 200 });
    try {
      assert.equal((await origin.getMany(['a']))[0]?.value, 1);
      proxy.hold();
      const started = performance.now();
      const outcome = await Promise.race([
        origin.getMany(['a']).then(() => 'resolved', (e: unknown) => e),
        sleep(3000).then(() => 'still pending after 3 s'),
      ]);
      assert.ok(isPrescientError(outcome, 'ERR_ORIGIN_TIMEOUT'), `got ${String(outcome)}`);
      assert.ok(performance.now() - started < 2000);
      const write = await Promise.race([
        origin.putMany([{ key: 'b', value: 2, version: 2 }]).then(() => 'resolved', (e: unknown) => e),
        sleep(3000).then(() => 'still pending after 3 s'),
      ]);
      assert.ok(isPrescientError(write, 'ERR_WRITE_FAILED') && isPrescientError((write as Error).cause, 'ERR_ORIGIN_TIMEOUT'), `got ${String(write)}`);
    } finally {
      proxy.release();
      await proxy.close();
      await origin.close().catch(() => {});
    }
  });

  test('putMany has its own deadline (writeTimeoutMs): a write blocked by a row lock is cancelled past it', async () => {
    const table = await freshTable([{ key: 'locked', value: 1, version: 1 }]);
    const origin = new PostgresOrigin({ sql, table, timeoutMs: 5_000, writeTimeoutMs: 100 });
    const holder = postgres(URL, { max: 1, onnotice: () => undefined });
    try {
      await holder.begin(async (tx) => {
        await tx.unsafe(`select * from ${table} where key = 'locked' for update`);
        const started = performance.now();
        await assert.rejects(
          origin.putMany([{ key: 'locked', value: 2, version: 2 }]),
          (e) => isPrescientError(e, 'ERR_WRITE_FAILED') && isPrescientError((e as Error).cause, 'ERR_ORIGIN_TIMEOUT'),
        );
        assert.ok(performance.now() - started < 3_000, 'cancelled at writeTimeoutMs, not at timeoutMs');
      });
    } finally {
      await holder.end();
    }
    assert.equal((await origin.getMany(['locked']))[0]?.version, 1);
  });

  test('putMany reports a record declined because another writer committed the key while the statement waited', async () => {
    const table = await freshTable([{ key: 'j', value: 'this node', version: 3 }]);
    const origin = new PostgresOrigin({ sql, table });
    const other = postgres(URL, { max: 1, onnotice: () => undefined });
    /** Resolves once a statement on `table` waits for a row lock (polling pg_stat_activity, not sleeping). */
    const blocked = async (): Promise<void> => {
      for (let i = 0; i < 20_000; i++) {
        const [row] = await sql.unsafe(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%' || $1 || '%'`, [table.split('.').pop()!]);
        if ((row as unknown as { n: number }).n > 0) return;
      }
      throw new Error('putMany never waited for the lock');
    };
    try {
      for (const [key, change] of [
        ['k', `insert into ${table} (key, value, version) values ('k', '"other node"', 10)`], // a key new to both
        ['j', `update ${table} set value = '"other node"', version = 10 where key = 'j'`], // a row both knew at v3
      ] as const) {
        let put: Promise<unknown> | undefined;
        await other.begin(async (tx) => {
          await tx.unsafe(change);
          put = origin.putMany([{ key, value: 'this node', version: 5 }]);
          await blocked();
        });
        assert.deepEqual(await put, { declined: [key] }, key);
        assert.deepEqual((await origin.getMany([key]))[0]?.value, 'other node');
      }
    } finally {
      await other.end();
    }
  });

  test('putMany works over a json (not jsonb) value column, and still tells a replay from a declined write', async () => {
    const table = `${SCHEMA}.json_items`;
    await sql.unsafe(`create table ${table} (key text primary key, value json, version bigint not null, deleted boolean not null default false)`);
    const origin = new PostgresOrigin({ sql, table });
    assert.deepEqual(await origin.putMany([{ key: 'a', value: { n: 1 }, version: 2 }]), { declined: [] });
    assert.deepEqual(await origin.putMany([{ key: 'a', value: { n: 1 }, version: 2 }]), { declined: [] }, 'a replay');
    assert.deepEqual(await origin.putMany([{ key: 'a', value: { n: 0 }, version: 1 }]), { declined: ['a'] });
    assert.deepEqual((await origin.getMany(['a']))[0]?.value, { n: 1 });
  });

  test('a server-side statement_timeout also maps to ERR_ORIGIN_TIMEOUT', async () => {
    const origin = new PostgresOrigin({
      sql: { url: `${URL}?options=-c%20statement_timeout%3D50` },
      query: `select 'a' as key, 1 as value, 1 as version from pg_sleep(5) where 'a' = any($1)`,
    });
    await assert.rejects(origin.getMany(['a']), (e) => isPrescientError(e, 'ERR_ORIGIN_TIMEOUT'));
    await origin.close();
  });

  test('putMany refuses a NUL or a lone surrogate jsonb cannot hold with ERR_INVALID_VALUE naming the key, writing nothing', async () => {
    const origin = new PostgresOrigin({ sql, table: await freshTable() });
    const bad: Array<[string, unknown]> = [['nul', 'a\u0000b'], ['lone', { s: '\ud800' }], ['objkey', { ['k\u0000']: 1 }], ['low', ['\udc00x']]];
    for (const [key, value] of bad) {
      await assert.rejects(
        origin.putMany([{ key: 'good', value: 'fine', version: 1 }, { key, value, version: 1 }]),
        (e) => isPrescientError(e, 'ERR_INVALID_VALUE') && (e as Error).message.includes(JSON.stringify(key)),
      );
    }
    assert.deepEqual(await origin.getMany(['good']), [undefined], 'nothing of a refused batch is written');
    await origin.putMany([{ key: 'pair', value: 'emoji \ud83d\ude00', version: 1 }]);
    assert.equal((await origin.getMany(['pair']))[0]?.value, 'emoji \ud83d\ude00', 'a surrogate pair is fine');
  });

  test('putMany refuses a key too long for the primary key index with ERR_INVALID_VALUE (not a retryable failure), writing nothing', async () => {
    const origin = new PostgresOrigin({ sql, table: await freshTable() });
    const long = randomBytes(3000).toString('base64'); // 4,000 characters that do not compress under the index's 2,704-byte row limit
    await assert.rejects(
      origin.putMany([{ key: 'good', value: 1, version: 1 }, { key: long, value: 2, version: 1 }]),
      (e) => isPrescientError(e, 'ERR_INVALID_VALUE') && ((e as Error).cause as { code?: unknown }).code === '54000',
    );
    assert.deepEqual(await origin.getMany(['good']), [undefined]);
  });

  test('a replay of an applied write whose value is JSON null is not declined', async () => {
    const origin = new PostgresOrigin({ sql, table: await freshTable() });
    const records = [{ key: 'n', value: null, version: 5 }, { key: 's', value: 'x', version: 5 }];
    assert.deepEqual(await origin.putMany(records), { declined: [] });
    assert.deepEqual(await origin.putMany(records), { declined: [] }, 'a replay');
    assert.deepEqual(await origin.putMany([{ key: 'n', value: null, version: 4 }]), { declined: ['n'] }, 'an older write is still declined');
  });

  test('an unreachable server rejects getMany with ERR_ORIGIN_FAILED and putMany with ERR_WRITE_FAILED', async () => {
    const origin = new PostgresOrigin({ sql: { url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutSeconds: 2 } });
    await assert.rejects(origin.getMany(['a']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as Error).cause !== undefined);
    await assert.rejects(origin.putMany([{ key: 'a', value: 1, version: 1 }]), (e) => isPrescientError(e, 'ERR_WRITE_FAILED') && (e as Error).cause !== undefined);
    await assert.rejects(origin.changes(0), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'));
    await origin.close();
  });

  test('a missing table rejects with ERR_ORIGIN_FAILED naming the cause', async () => {
    const origin = new PostgresOrigin({ sql, table: `${SCHEMA}.nope` });
    await assert.rejects(origin.getMany(['a']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && /nope/.test((e as Error).message));
  });

  test('changes pages by limit without splitting a version shared by several rows', async () => {
    const seed = ['a', 'b', 'c', 'd', 'e'].map((key, i) => ({ key, value: key, version: i < 3 ? 10 : 20 + i }));
    const origin = new PostgresOrigin({ sql, table: await freshTable(seed) });
    const first = await origin.changes(0, 2);
    assert.deepEqual(first.map((r) => r.key), ['a', 'b', 'c']);
    const second = await origin.changes(first[first.length - 1].version, 1);
    assert.deepEqual(second.map((r) => r.key), ['d']);
  });

  test('after close, calls reject with ERR_CLOSED and a caller-owned client stays open', async () => {
    const origin = new PostgresOrigin({ sql, table: await freshTable() });
    await origin.close();
    await assert.rejects(origin.getMany(['a']), (e) => isPrescientError(e, 'ERR_CLOSED'));
    assert.deepEqual([...await sql.unsafe('select 1 as one')], [{ one: 1 }]);
  });
});
