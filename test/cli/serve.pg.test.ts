/**
 * Graceful shutdown of a real `prescient serve` process on PostgreSQL: writes acknowledged before and during
 * SIGTERM all reach the table (the flush interval is a minute, so only the shutdown flush can carry them), and
 * the process exits 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import postgres from 'postgres';
import { latestByKey, startServe, waitForUrl, writeThroughShutdown } from '../doubles/serve-child.ts';

const databaseUrl = 'postgres://postgres@127.0.0.1:5432/test';

test('SIGTERM: requests in flight finish, every acknowledged write reaches PostgreSQL, exit code 0', async () => {
  const table = `serve_shutdown_${process.pid}`;
  const journal = mkdtempSync(join(tmpdir(), 'prescient-serve-pg-'));
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const output = { text: '' };
  const child = startServe(['--config', 'test/fixtures/server-valid.json'], { DATABASE_URL: databaseUrl, PRESCIENT_TABLE: table, PRESCIENT_JOURNAL_DIR: journal, LOG_LEVEL: 'warn' }, output);
  try {
    const url = await waitForUrl(child, output);
    const { acks, duringAcks, code } = await writeThroughShutdown(child, url, (ok, message) => assert.ok(ok, message));
    assert.equal(code, 0, output.text);
    assert.match(output.text, /SIGTERM: finishing requests in flight/);
    const latest = latestByKey(acks);
    const rows = await sql.unsafe(`select key, value, version::text as version, deleted from "${table}"`);
    const byKey = new Map(rows.map((r) => [r.key as string, r]));
    for (const a of latest.values()) {
      const row = byKey.get(a.key);
      assert.ok(row !== undefined, `acknowledged write of ${a.key} (version ${a.version}) is missing`);
      assert.equal(Number(row.version), a.version, a.key);
      assert.equal(row.value, a.value, a.key);
      assert.equal(row.deleted, false);
    }
    assert.ok(duringAcks >= 1, 'some writes were acknowledged around the signal');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await sql.unsafe(`drop table if exists "${table}"`);
    await sql.end();
    rmSync(journal, { recursive: true, force: true });
  }
});
