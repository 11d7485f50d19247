/**
 * Graceful shutdown of a real `prescient serve` process on its embedded store (PGlite) with a data folder: writes
 * acknowledged before and during SIGTERM survive a restart on the same folder (the flush interval is a minute, so
 * only the shutdown flush, or the journal's replay at start, can carry them), and the process exits 0 both times.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
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

test('SIGTERM while the embedded store is still opening: the server shuts down once up, exit 0, no private copy left', async () => {
  const output = { text: '' };
  const child = startServe([], { LOG_LEVEL: 'warn' }, output);
  try {
    // The journal warning is logged on stdout while the service starts, before the server binds.
    const sawWarning = await new Promise<boolean>((resolve) => {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('write-back journal in the temporary folder')) resolve(!seen.includes('listening on'));
      });
      child.on('exit', () => resolve(false));
    });
    assert.ok(sawWarning, `the startup warning comes before the listening line:\n${output.text}`);
    child.kill('SIGTERM');
    assert.equal(await waitForExit(child), 0, output.text);
    assert.match(output.text, /SIGTERM while starting: stopping once started/);
    assert.match(output.text, /prescient: stopped/);
    const copies = readdirSync(tmpdir()).filter((name) => name.includes(`.open-${child.pid}-`));
    assert.deepEqual(copies, [], 'the private copy of the sample store is removed');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
