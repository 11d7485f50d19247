/**
 * Graceful shutdown of a real `prescient serve` process on PostgreSQL: writes acknowledged before and during
 * SIGTERM all reach the table (the flush interval is a minute, so only the shutdown flush can carry them), and
 * the process exits 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const databaseUrl = 'postgres://postgres@127.0.0.1:5432/test';
const root = fileURLToPath(new URL('../../', import.meta.url));
/** Longest wait for the child to bind or to exit, in ms (startup loads TypeScript through tsx). */
const boundedWaitMs = 60_000;

type Ack = { key: string; version: number; value: number };

function waitForUrl(child: ChildProcess, output: { text: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within ${boundedWaitMs} ms:\n${output.text}`)), boundedWaitMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      output.text += chunk.toString();
      const url = /listening on (http:\/\/[^\s"]+)/.exec(output.text)?.[1];
      if (url !== undefined) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before listening:\n${output.text}`)));
  });
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('did not exit after SIGTERM')), boundedWaitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function put(url: string, key: string, value: number): Promise<Ack | undefined> {
  try {
    const res = await fetch(`${url}/v1/items/${key}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) });
    if (res.status !== 200) return undefined;
    const body = (await res.json()) as { key: string; version: number };
    return { key: body.key, version: body.version, value };
  } catch {
    return undefined; // refused or reset while shutting down: not acknowledged
  }
}

test('SIGTERM: requests in flight finish, every acknowledged write reaches PostgreSQL, exit code 0', async () => {
  const table = `serve_shutdown_${process.pid}`;
  const journal = mkdtempSync(join(tmpdir(), 'prescient-serve-pg-'));
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const output = { text: '' };
  const child = spawn(process.execPath, ['bin/prescient.js', 'serve', '--port', '0', '--config', 'test/fixtures/server-valid.json'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, PRESCIENT_TABLE: table, PRESCIENT_JOURNAL_DIR: journal, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  try {
    const url = await waitForUrl(child, output);
    const acks: Ack[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => put(url, `before-${batch * 10 + i}`, batch * 10 + i)));
      for (const a of answers) assert.ok(a !== undefined, 'writes before the signal are all acknowledged');
      acks.push(...(answers as Ack[]));
    }
    // Rewrite some keys so the table must hold the newer version, not the first.
    for (let i = 0; i < 10; i++) acks.push((await put(url, `before-${i}`, 1000 + i)) as Ack);

    let sent = false;
    const during = Array.from({ length: 200 }, (_, i) =>
      put(url, `during-${i}`, i).then((a) => {
        if (!sent && i >= 20) {
          sent = true;
          child.kill('SIGTERM');
        }
        return a;
      }),
    );
    const exited = waitForExit(child);
    const results = await Promise.all(during);
    if (!sent) child.kill('SIGTERM');
    const duringAcks = results.filter((a): a is Ack => a !== undefined);
    acks.push(...duringAcks);
    assert.equal(await exited, 0, output.text);
    assert.match(output.text, /SIGTERM: finishing requests in flight/);

    const latest = new Map<string, Ack>();
    for (const a of acks) if ((latest.get(a.key)?.version ?? -1) < a.version) latest.set(a.key, a);
    const rows = await sql.unsafe(`select key, value, version::text as version, deleted from "${table}"`);
    const byKey = new Map(rows.map((r) => [r.key as string, r]));
    for (const a of latest.values()) {
      const row = byKey.get(a.key);
      assert.ok(row !== undefined, `acknowledged write of ${a.key} (version ${a.version}) is missing`);
      assert.equal(Number(row.version), a.version, a.key);
      assert.equal(row.value, a.value, a.key);
      assert.equal(row.deleted, false);
    }
    assert.ok(duringAcks.length >= 1, 'some writes were acknowledged around the signal');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await sql.unsafe(`drop table if exists "${table}"`);
    await sql.end();
    rmSync(journal, { recursive: true, force: true });
  }
});
