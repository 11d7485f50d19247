/**
 * The service on a real PostgreSQL: the table is created, writes flush to it, and the change feed makes a direct
 * update of the table visible through the cache.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import postgres from 'postgres';
import { createServer } from '../../src/server/app.ts';
import { resolveConfig } from '../../src/server/config.ts';

const databaseUrl = 'postgres://postgres@127.0.0.1:5432/test';
/** Longest a polled condition may take, in ms. */
const boundedWaitMs = 10_000;

async function eventually<T>(probe: () => Promise<T>, isDone: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + boundedWaitMs;
  for (;;) {
    const value = await probe();
    if (isDone(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after ${boundedWaitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('PostgreSQL origin: writes flush to the table, direct table changes reach readers through the change feed', async () => {
  const table = `server_pg_${process.pid}`;
  const journal = mkdtempSync(join(tmpdir(), 'prescient-server-pg-'));
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const config = resolveConfig({ logLevel: 'silent', journalDir: journal, writeBack: { flushIntervalMs: 20 } }, { DATABASE_URL: databaseUrl, PRESCIENT_TABLE: table });
  const server = await createServer(config);
  const get = async (key: string) => {
    const res = await server.app.inject({ url: `/v1/items/${key}` });
    return { status: res.statusCode, body: res.json() as { value?: unknown; version?: number; served?: string } };
  };
  try {
    assert.equal((await server.app.inject({ url: '/readyz' })).statusCode, 200);
    const put = await server.app.inject({ method: 'PUT', url: '/v1/items/k1', payload: { value: { a: 1 } } });
    assert.equal(put.statusCode, 200);
    const ack = put.json() as { version: number };
    const row = await eventually(
      async () => (await sql.unsafe(`select value, version::text as version from "${table}" where key = 'k1'`))[0],
      (r) => r !== undefined,
      'the write reaches the table',
    );
    assert.deepEqual(row.value, { a: 1 });
    assert.equal(Number(row.version), ack.version);
    assert.equal((await get('k1')).body.served, 'hit');

    await sql.unsafe(`update "${table}" set value = '{"a": 2}'::jsonb, version = version + 1 where key = 'k1'`);
    const changed = await eventually(() => get('k1'), (r) => JSON.stringify(r.body.value) === '{"a":2}', 'the direct update is served');
    assert.equal(changed.body.version, ack.version + 1);

    await sql.unsafe(`insert into "${table}" (key, value, version) values ('k2', '"direct"'::jsonb, 1)`);
    assert.deepEqual((await get('k2')).body.value, 'direct');
    await sql.unsafe(`delete from "${table}" where key = 'k2'`);
    await eventually(() => get('k2'), (r) => r.status === 404, 'the direct delete is served');
  } finally {
    await server.close();
    await sql.unsafe(`drop table if exists "${table}"`);
    await sql.end();
    rmSync(journal, { recursive: true, force: true });
  }
});
