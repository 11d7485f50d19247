/**
 * PostgresOrigin against the machine's PostgreSQL (127.0.0.1:5432, database `test`): the Origin contract on a
 * fresh table per test inside a schema of its own, plus custom queries, error codes and round trips.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
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

/** Each test talks to PostgreSQL: bounded, so a hung connection fails the test instead of the run. */
const io = { timeout: 30_000 };

/**
 * Bound on a wait that the code under test must end by itself (deadlines here run on a VirtualClock the test
 * advances, so they end at once once due): only a hang reaches it, so it is generous for a loaded machine.
 */
const HANG_BOUND_MS = 10_000;

/** `work`, or a failure naming `what` when it has not settled within HANG_BOUND_MS. */
async function bounded<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${HANG_BOUND_MS} ms`)), HANG_BOUND_MS)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `condition()` is true (polled each turn of the event loop); fails naming `what` after HANG_BOUND_MS. */
function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  return bounded((async () => {
    while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
  })(), what);
}

/** How `promise` stands now: its value, its error, or 'pending'. */
async function state(promise: Promise<unknown>): Promise<unknown> {
  let outcome: unknown = 'pending';
  promise.then((value) => (outcome = { value }), (error: unknown) => (outcome = error));
  await flushMicrotasks();
  return outcome;
}

/** Backends (other than this query's) running a statement whose text contains `marker`. */
async function running(marker: string): Promise<number> {
  const [row] = await sql.unsafe(`select count(*)::int as n from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and query like '%' || $1 || '%'`, [marker]);
  return (row as unknown as { n: number }).n;
}

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

test('TieredOrigin answers archived keys from the archive table', io, async () => {
  const live = new PostgresOrigin({ sql, table: await freshTable([{ key: 'hot', value: 'live', version: 2 }]) });
  const archive = new PostgresOrigin({ sql, table: await freshTable([{ key: 'cold', value: 'archived', version: 1 }]) });
  const tiered = new TieredOrigin({ live, archive });
  assert.deepEqual((await tiered.getMany(['cold', 'hot', 'none'])).map((r) => r?.value), ['archived', 'live', undefined]);
  assert.equal(tiered.stats().archive.keys, 2);
});

describe('PostgresOrigin', () => {
  test('getMany of many keys is one statement', io, async () => {
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

  test('ensureTable is idempotent and honours custom column names', io, async () => {
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

  test('a custom query maps keys onto an existing table, read-only unless a table is named', io, async () => {
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

  test('a statement past timeoutMs is cancelled and rejects with ERR_ORIGIN_TIMEOUT', io, async () => {
    const table = await freshTable([{ key: 'a', value: 1, version: 1 }]);
    const clock = new VirtualClock();
    const marker = `pg_sleep(60) /* ${table} */`; // far past any bound here: only a cancel ends it
    const origin = new PostgresOrigin({
      sql, timeoutMs: 50, clock,
      query: `select key, value, version from ${table}, ${marker} where key = any($1)`,
    });
    try {
      const read = origin.getMany(['a']);
      read.catch(() => {});
      await until(async () => (await running(marker)) === 1, 'the statement to run on the server');
      clock.advance(49);
      assert.equal(await state(read), 'pending', 'nothing rejects before timeoutMs');
      clock.advance(1);
      const error = await bounded(read.then(() => 'resolved', (e: unknown) => e), 'the read past its deadline');
      assert.ok(isPrescientError(error, 'ERR_ORIGIN_TIMEOUT'), `got ${String(error)}`);
      // The server ended the statement (a cancel), rather than running it out.
      await until(async () => (await running(marker)) === 0, 'the server to cancel the statement');
    } finally {
      await sql.unsafe(`select pg_cancel_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and query like '%' || $1 || '%'`, [marker]);
    }
  });

  test('a server that stops answering (a partition) still rejects at timeoutMs, reads and writes alike', io, async () => {
    const proxy = await HeldProxy.start(5432);
    const port = proxy.url.split(":").pop();
    const table = await freshTable([{ key: 'a', value: 1, version: 1 }]);
    const clock = new VirtualClock();
    const origin = new PostgresOrigin({ sql: { url: `postgres://postgres@127.0.0.1:${port}/test`, max: 1, connectTimeoutSeconds: 2 }, table, timeoutMs: 200, clock });
    try {
      assert.equal((await bounded(origin.getMany(['a']), 'a read through the proxy'))[0]?.value, 1);
      proxy.hold();
      const read = origin.getMany(['a']).then(() => 'resolved', (e: unknown) => e);
      await until(() => clock.pendingTimers === 1, 'the read to start its deadline');
      clock.advance(199);
      assert.equal(await state(read), 'pending', 'nothing rejects before timeoutMs');
      clock.advance(1);
      const outcome = await bounded(read, 'the held read past its deadline');
      assert.ok(isPrescientError(outcome, 'ERR_ORIGIN_TIMEOUT'), `got ${String(outcome)}`);
      // A write past its deadline waits a while for the cancel to be confirmed, which a partition never does.
      const write = origin.putMany([{ key: 'b', value: 2, version: 2 }]).then(() => 'resolved', (e: unknown) => e);
      await until(() => clock.pendingTimers === 1, 'the write to start its deadline');
      clock.advance(200);
      assert.equal(await state(write), 'pending', 'the write waits for the cancel to be confirmed');
      await until(() => clock.pendingTimers === 1, 'the write to wait for the confirmation');
      clock.advance(1_000);
      const failed = await bounded(write, 'the held write past its deadline');
      assert.ok(isPrescientError(failed, 'ERR_WRITE_FAILED') && isPrescientError((failed as Error).cause, 'ERR_ORIGIN_TIMEOUT'), `got ${String(failed)}`);
    } finally {
      proxy.release();
      await proxy.close();
      await origin.close().catch(() => {});
    }
  });

  test('putMany has its own deadline (writeTimeoutMs): a write blocked by a row lock is cancelled past it', io, async () => {
    const table = await freshTable([{ key: 'locked', value: 1, version: 1 }]);
    const clock = new VirtualClock();
    const origin = new PostgresOrigin({ sql, table, timeoutMs: 5_000, writeTimeoutMs: 100, clock });
    const holder = postgres(URL, { max: 1, onnotice: () => undefined });
    const name = table.split('.').pop()!;
    try {
      await holder.begin(async (tx) => {
        await tx.unsafe(`select * from ${table} where key = 'locked' for update`);
        const write = origin.putMany([{ key: 'locked', value: 2, version: 2 }]).then(() => 'resolved', (e: unknown) => e);
        await until(async () => {
          const [row] = await sql.unsafe(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%' || $1 || '%'`, [name]);
          return (row as unknown as { n: number }).n > 0;
        }, 'the write to wait for the row lock');
        clock.advance(99);
        assert.equal(await state(write), 'pending', 'nothing rejects before writeTimeoutMs');
        // Past writeTimeoutMs, far short of timeoutMs: the server cancels the write and confirms it, so it rejects
        // without waiting out the confirmation window (the clock is not advanced further).
        clock.advance(1);
        const failed = await bounded(write, 'the blocked write past writeTimeoutMs');
        assert.ok(isPrescientError(failed, 'ERR_WRITE_FAILED') && isPrescientError((failed as Error).cause, 'ERR_ORIGIN_TIMEOUT'), `got ${String(failed)}`);
        assert.equal((((failed as Error).cause as Error).cause as { code?: unknown } | undefined)?.code, '57014', 'the server confirmed the cancel');
      });
    } finally {
      await holder.end();
    }
    assert.equal((await origin.getMany(['locked']))[0]?.version, 1);
  });

  test('putMany reports a record declined because another writer committed the key while the statement waited', io, async () => {
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

  test('putMany works over a json (not jsonb) value column, and still tells a replay from a declined write', io, async () => {
    const table = `${SCHEMA}.json_items`;
    await sql.unsafe(`create table ${table} (key text primary key, value json, version bigint not null, deleted boolean not null default false)`);
    const origin = new PostgresOrigin({ sql, table });
    assert.deepEqual(await origin.putMany([{ key: 'a', value: { n: 1 }, version: 2 }]), { declined: [] });
    assert.deepEqual(await origin.putMany([{ key: 'a', value: { n: 1 }, version: 2 }]), { declined: [] }, 'a replay');
    assert.deepEqual(await origin.putMany([{ key: 'a', value: { n: 0 }, version: 1 }]), { declined: ['a'] });
    assert.deepEqual((await origin.getMany(['a']))[0]?.value, { n: 1 });
  });

  test('a server-side statement_timeout also maps to ERR_ORIGIN_TIMEOUT', io, async () => {
    const origin = new PostgresOrigin({
      sql: { url: `${URL}?options=-c%20statement_timeout%3D50` },
      query: `select 'a' as key, 1 as value, 1 as version from pg_sleep(5) where 'a' = any($1)`,
    });
    await assert.rejects(origin.getMany(['a']), (e) => isPrescientError(e, 'ERR_ORIGIN_TIMEOUT'));
    await origin.close();
  });

  test('putMany refuses a NUL or a lone surrogate jsonb cannot hold with ERR_INVALID_VALUE naming the key, writing nothing', io, async () => {
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

  test('putMany refuses a key too long for the primary key index with ERR_INVALID_VALUE (not a retryable failure), writing nothing', io, async () => {
    const origin = new PostgresOrigin({ sql, table: await freshTable() });
    const long = randomBytes(3000).toString('base64'); // 4,000 characters that do not compress under the index's 2,704-byte row limit
    await assert.rejects(
      origin.putMany([{ key: 'good', value: 1, version: 1 }, { key: long, value: 2, version: 1 }]),
      (e) => isPrescientError(e, 'ERR_INVALID_VALUE') && ((e as Error).cause as { code?: unknown }).code === '54000',
    );
    assert.deepEqual(await origin.getMany(['good']), [undefined]);
  });

  test('a replay of an applied write whose value is JSON null is not declined', io, async () => {
    const origin = new PostgresOrigin({ sql, table: await freshTable() });
    const records = [{ key: 'n', value: null, version: 5 }, { key: 's', value: 'x', version: 5 }];
    assert.deepEqual(await origin.putMany(records), { declined: [] });
    assert.deepEqual(await origin.putMany(records), { declined: [] }, 'a replay');
    assert.deepEqual(await origin.putMany([{ key: 'n', value: null, version: 4 }]), { declined: ['n'] }, 'an older write is still declined');
  });

  test('an unreachable server rejects getMany with ERR_ORIGIN_FAILED and putMany with ERR_WRITE_FAILED', io, async () => {
    const origin = new PostgresOrigin({ sql: { url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutSeconds: 2 } });
    await assert.rejects(origin.getMany(['a']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as Error).cause !== undefined);
    await assert.rejects(origin.putMany([{ key: 'a', value: 1, version: 1 }]), (e) => isPrescientError(e, 'ERR_WRITE_FAILED') && (e as Error).cause !== undefined);
    await assert.rejects(origin.changes(0), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'));
    await origin.close();
  });

  test('a missing table rejects with ERR_ORIGIN_FAILED naming the cause', io, async () => {
    const origin = new PostgresOrigin({ sql, table: `${SCHEMA}.nope` });
    await assert.rejects(origin.getMany(['a']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && /nope/.test((e as Error).message));
  });

  test('changes pages by limit without splitting a version shared by several rows', io, async () => {
    const seed = ['a', 'b', 'c', 'd', 'e'].map((key, i) => ({ key, value: key, version: i < 3 ? 10 : 20 + i }));
    const origin = new PostgresOrigin({ sql, table: await freshTable(seed) });
    const first = await origin.changes(0, 2);
    assert.deepEqual(first.map((r) => r.key), ['a', 'b', 'c']);
    const second = await origin.changes(first[first.length - 1].version, 1);
    assert.deepEqual(second.map((r) => r.key), ['d']);
  });

  test('after close, calls reject with ERR_CLOSED and a caller-owned client stays open', io, async () => {
    const origin = new PostgresOrigin({ sql, table: await freshTable() });
    await origin.close();
    await assert.rejects(origin.getMany(['a']), (e) => isPrescientError(e, 'ERR_CLOSED'));
    assert.deepEqual([...await sql.unsafe('select 1 as one')], [{ one: 1 }]);
  });
});
