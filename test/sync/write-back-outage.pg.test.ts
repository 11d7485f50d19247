/**
 * PostgreSQL going away under the write-back path, on a server of the test's own (initdb on a spare port; the
 * machine's shared server is never stopped): writes keep being acknowledged from the journal, reads see them,
 * the flusher keeps the records and retries, and once the server is back every acknowledged write lands.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { Cache } from '../../src/cache/cache.ts';
import { isPrescientError } from '../../src/errors.ts';
import { PostgresOrigin } from '../../src/origin/postgres-origin.ts';
import { WriteBack } from '../../src/sync/write-back.ts';
import { waitFor } from '../doubles/net-wait.ts';
import { startPostgresServer, type PostgresServer } from '../doubles/postgres-server.ts';

const table = 'outage_items';
let server: PostgresServer;
let journalDir = '';

before(async () => {
  server = await startPostgresServer();
  journalDir = await mkdtemp(join(tmpdir(), 'prescient-wb-outage-'));
});
after(async () => {
  await server?.destroy();
  await rm(journalDir, { recursive: true, force: true });
});

test('acknowledges and serves writes while PostgreSQL is down, and flushes every one when it is back', async () => {
  const admin = postgres(server.url, { max: 1, onnotice: () => undefined });
  await PostgresOrigin.ensureTable(admin, table);
  const origin = new PostgresOrigin<{ n: number }>({ sql: { url: server.url, max: 2, connectTimeoutSeconds: 2 }, table, timeoutMs: 2_000 });
  let cache: Cache<{ n: number }> | undefined;
  const wb = new WriteBack<{ n: number }>({
    origin,
    dir: journalDir,
    flushIntervalMs: 50,
    retryBaseMs: 50,
    retryMaxMs: 400,
    target: { set: (k, v, o) => cache!.set(k, v, o), delete: (k, o) => cache!.delete(k, o) },
  });
  cache = new Cache<{ n: number }>({ origin: wb.reader, ttlMs: 60_000 });
  await wb.start();
  try {
    const a1 = await wb.put('a', { n: 1 });
    await wb.put('b', { n: 1 });
    await wb.flush();
    assert.equal((await cache.get('b')).value?.n, 1);
    const rows = await admin.unsafe(`select key, version from ${table} order by key`);
    assert.deepEqual(rows.map((r) => r.key), ['a', 'b']);
    assert.equal(Number(rows[0].version), a1.version);

    await admin.end();
    await server.stop();

    // The journal still acknowledges; the flusher fails and keeps the records.
    const a2 = await wb.put('a', { n: 2 });
    const c1 = await wb.put('c', { n: 1 });
    assert.ok(a2.version > a1.version);
    await assert.rejects(wb.flush(), (e) => isPrescientError(e, 'ERR_WRITE_FAILED'));
    assert.ok(wb.stats().pending >= 2, `pending ${wb.stats().pending}`);
    assert.ok(wb.stats().failures >= 1);

    // Reads: acknowledged writes are served (from the cache, or from the journal's overlay once evicted); a cached
    // entry is a hit; a key held nowhere fails with the origin's coded error rather than hanging.
    assert.deepEqual([(await cache.get('a')).value?.n, (await cache.get('a')).version], [2, a2.version]);
    await cache.delete('c');
    const c = await cache.get('c');
    assert.deepEqual([c.value?.n, c.version], [1, c1.version]);
    assert.equal((await cache.get('b')).status, 'hit');
    await assert.rejects(cache.get('never-written'), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') || isPrescientError(e, 'ERR_ORIGIN_TIMEOUT'));

    await server.start();
    await waitFor(() => wb.stats().pending === 0, 'the flusher to drain after the restart', 20_000);
    const check = postgres(server.url, { max: 1, onnotice: () => undefined });
    try {
      const after = await check.unsafe(`select key, value, version from ${table} order by key`);
      assert.deepEqual(
        after.map((r) => [r.key, r.value.n, Number(r.version)]),
        [['a', 2, a2.version], ['b', 1, Number(rows[1].version)], ['c', 1, c1.version]],
      );
    } finally {
      await check.end();
    }
  } finally {
    await wb.close();
    await cache.close();
    await origin.close();
  }
});
