/**
 * Graceful shutdown of a real `prescient serve` process on its embedded store (PGlite) with a data folder: writes
 * acknowledged before and during SIGTERM survive a restart on the same folder (the flush interval is a minute, so
 * only the shutdown flush, or the journal's replay at start, can carry them), and the process exits 0 both times.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { latestByKey, startServe, waitForExit, waitForUrl, writeThroughShutdown } from '../doubles/serve-child.ts';

test('SIGTERM on the embedded store: every acknowledged write is there after a restart on the same data folder', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'prescient-serve-embedded-'));
  const env = { PRESCIENT_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  const output = { text: '' };
  const first = startServe(['--config', 'test/fixtures/server-valid.json'], env, output);
  let second: ReturnType<typeof startServe> | undefined;
  try {
    const url = await waitForUrl(first, output);
    const { acks, duringAcks, code } = await writeThroughShutdown(first, url, (ok, message) => assert.ok(ok, message));
    assert.equal(code, 0, output.text);
    assert.ok(duringAcks >= 1, 'some writes were acknowledged around the signal');

    const again = { text: '' };
    second = startServe(['--config', 'test/fixtures/server-valid.json'], env, again);
    const url2 = await waitForUrl(second, again);
    for (const a of latestByKey(acks).values()) {
      const res = await fetch(`${url2}/v1/items/${a.key}`);
      assert.equal(res.status, 200, `acknowledged write of ${a.key} (version ${a.version}) is missing`);
      const body = (await res.json()) as { value: unknown; version: number };
      assert.equal(body.value, a.value, a.key);
      assert.equal(body.version, a.version, a.key);
    }
    second.kill('SIGTERM');
    assert.equal(await waitForExit(second), 0, again.text);
  } finally {
    if (first.exitCode === null) first.kill('SIGKILL');
    if (second !== undefined && second.exitCode === null) second.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
