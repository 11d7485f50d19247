/**
 * PgliteOrigin: the Origin contract on an in-process PGlite database (one database, a fresh table per test),
 * plus ownership, custom queries and error codes.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { isPrescientError } from '../../src/errors.ts';
import { PgliteOrigin } from '../../src/origin/pglite-origin.ts';
import { originContract } from '../contracts/origin.contract.ts';

const db = new PGlite();
let tables = 0;

after(async () => {
  await db.close();
});

originContract('PgliteOrigin', async (seed) => {
  const table = `items_${++tables}`;
  await PgliteOrigin.ensureTable(db, table);
  const origin = new PgliteOrigin({ db, table });
  await origin.putMany(seed);
  return origin;
});

describe('PgliteOrigin: input that must not spoil a batch', () => {
  test('a key holding NUL answers absent, and the keys batched with it answer as usual', async () => {
    const origin = new PgliteOrigin({ db, table: `items_${++tables}` });
    await origin.ensureTable();
    await origin.putMany([{ key: 'good', value: { ok: true }, version: 1 }]);
    const answers = await origin.getMany(['good', 'evil\u0000', 'good']);
    assert.deepEqual(answers.map((a) => a?.value), [{ ok: true }, undefined, { ok: true }]);
    assert.deepEqual(await origin.getMany(['\u0000']), [undefined]);
  });

  test('putMany refuses a version that could not be read back (negative, fractional, unsafe, NaN), naming the key', async () => {
    const origin = new PgliteOrigin({ db, table: `items_${++tables}` });
    await origin.ensureTable();
    for (const version of [-1, 1.5, 2 ** 53 + 2, Number.NaN]) {
      await assert.rejects(origin.putMany([{ key: 'k', value: 1, version }]), (e) => isPrescientError(e, 'ERR_INVALID_VALUE') && /"k"/.test((e as Error).message), String(version));
    }
    await origin.putMany([{ key: 'k', value: 1, version: Number.MAX_SAFE_INTEGER }]);
    assert.equal((await origin.getMany(['k']))[0]?.version, Number.MAX_SAFE_INTEGER);
  });
});

describe('PgliteOrigin', () => {
  test('an origin that opened its own database closes it; one given a database leaves it open', async () => {
    const owned = new PgliteOrigin({ db: {} });
    await owned.ensureTable();
    await owned.putMany([{ key: 'a', value: { n: 1 }, version: 2 }]);
    assert.deepEqual((await owned.getMany(['a']))[0], { key: 'a', value: { n: 1 }, version: 2 });
    await owned.close();
    assert.equal(owned.db.closed, true);
    await assert.rejects(owned.getMany(['a']), (e) => isPrescientError(e, 'ERR_CLOSED'));

    const borrowed = new PgliteOrigin({ db, table: 'borrowed' });
    await borrowed.ensureTable();
    await borrowed.close();
    assert.equal(db.closed, false);
  });

  test('a custom query reads another table; writing through it is refused', async () => {
    await db.exec(`create table products (id int primary key, name text); insert into products values (7, 'lamp')`);
    const origin = new PgliteOrigin({ db, query: `select id::text as key, to_jsonb(p) as value, 1 as version from products p where id::text = any($1)` });
    assert.deepEqual(await origin.getMany(['7', '8']), [{ key: '7', value: { id: 7, name: 'lamp' }, version: 1 }, undefined]);
    await assert.rejects(origin.putMany([{ key: '7', value: 1, version: 2 }]), (e) => isPrescientError(e, 'ERR_ORIGIN_READ_ONLY'));
    // Nor does it list changes of, or create, a table it never reads (the default prescient_items).
    await assert.rejects(origin.changes(0), (e) => isPrescientError(e, 'ERR_ORIGIN_READ_ONLY'));
    await assert.rejects(origin.ensureTable(), (e) => isPrescientError(e, 'ERR_ORIGIN_READ_ONLY'));
  });

  test('tables with long names each get a version index of their own (a cut name used to collide or be skipped)', async () => {
    const prefix = `long_${'x'.repeat(55)}`;
    const names = [`${prefix}_a1`, `${prefix}_b2`]; // 63 characters: cut to 63, the index name was the table's own
    for (const table of names) await PgliteOrigin.ensureTable(db, table);
    const rows = (await db.query<{ tablename: string; indexname: string }>(`select tablename, indexname from pg_indexes where tablename like 'long_%' and indexname not like '%pkey%'`)).rows;
    assert.deepEqual(rows.map((r) => r.tablename).sort(), names);
    assert.equal(new Set(rows.map((r) => r.indexname)).size, 2);
  });

  test('a change page larger than the statement\'s int parameter holds is an option error, not a database one', async () => {
    const origin = new PgliteOrigin({ db, table: `items_${++tables}` });
    await origin.ensureTable();
    await assert.rejects(origin.changes(0, 3e9), (e) => isPrescientError(e, 'ERR_INVALID_OPTION') && /`limit`/.test((e as Error).message));
    assert.throws(() => new PgliteOrigin({ db, changesLimit: 2 ** 31 }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  });

  test('failures carry codes: a missing table, a bad version column, a value JSON cannot hold', async () => {
    const missing = new PgliteOrigin({ db, table: 'nope' });
    await assert.rejects(missing.getMany(['a']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as Error).cause !== undefined);
    await assert.rejects(missing.putMany([{ key: 'a', value: 1, version: 1 }]), (e) => isPrescientError(e, 'ERR_WRITE_FAILED'));
    await assert.rejects(missing.changes(0), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'));
    const negative = new PgliteOrigin({ db, query: `select 'a' as key, 1 as value, -5 as version where 'a' = any($1)` });
    await assert.rejects(negative.getMany(['a']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && /-5/.test((e as Error).message));
    const origin = new PgliteOrigin({ db, table: `items_${++tables}` });
    await origin.ensureTable();
    await assert.rejects(origin.putMany([{ key: 'f', value: (() => 1) as unknown, version: 1 }]), (e) => isPrescientError(e, 'ERR_INVALID_VALUE'));
    assert.throws(() => new PgliteOrigin({ db: 'file' as never }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  });
});
