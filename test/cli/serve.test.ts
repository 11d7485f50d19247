import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServe } from '../../src/cli/serve.ts';
import { run } from './run-cli.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

test('serve: an invalid config file exits 2 naming the bad field', async () => {
  const r = await run(['serve', '--config', fixture('server-bad.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ERR_INVALID_CONFIG/);
  assert.match(r.stderr, /port: /);
});

test('serve: a config file that is not JSON, or missing, exits 2 with ERR_INVALID_CONFIG', async () => {
  const bad = await run(['serve', '--config', fixture('server-not-json.json')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /ERR_INVALID_CONFIG: .*server-not-json\.json: not valid JSON/);
  const missing = await run(['serve', '--config', fixture('no-such-config.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /ERR_INVALID_CONFIG: .*cannot read/);
});

test('serve: refuses to bind beyond loopback without tokens', async () => {
  const r = await run(['serve', '--host', '0.0.0.0', '--config', fixture('server-valid.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /refusing to bind "0\.0\.0\.0" with no tokens/);
});

test('serve: a bad port exits 2', async () => {
  for (const port of ['http', '-1', '70000', '1.5']) {
    const r = await run(['serve', '--port', port]);
    assert.equal(r.code, 2, port);
    assert.match(r.stderr, /expected a port from 0 to 65535/);
  }
});

test('startServe: binds, prints the address, answers, and closes', async () => {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } };
  const journal = mkdtempSync(join(tmpdir(), 'prescient-serve-test-'));
  const env = { PRESCIENT_PORT: '0', PRESCIENT_JOURNAL_DIR: journal, LOG_LEVEL: 'silent' };
  const server = await startServe({ config: fixture('server-valid.json') }, io, env);
  try {
    const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
    assert.ok(url !== undefined, stdout);
    assert.match(stderr, /dashboard at /);
    const health = await fetch(`${url}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const put = await fetch(`${url}/v1/items/serve-test`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'v' }) });
    assert.equal(put.status, 200);
    const get = await fetch(`${url}/v1/items/serve-test`);
    assert.equal(((await get.json()) as { value: unknown }).value, 'v');
  } finally {
    await server.close();
    rmSync(journal, { recursive: true, force: true });
  }
});
