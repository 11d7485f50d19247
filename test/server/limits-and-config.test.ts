import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServe } from '../../src/cli/serve.ts';
import { isPrescientError } from '../../src/errors.ts';
import { maxTimerMs, receiveSlackMs, resolveConfig } from '../../src/server/config.ts';
import { configMessage } from './server-rig.ts';

const token = { token: 'a-long-enough-secret', scopes: ['read'] };

const message = configMessage;

const silentIo = { stdout: { write: () => true }, stderr: { write: () => true } };

test('every millisecond field is capped at what a Node timer holds, less the slack the server adds', () => {
  assert.equal(maxTimerMs, 2 ** 31 - 1);
  const requestTimeoutMs = maxTimerMs - receiveSlackMs;
  assert.equal(resolveConfig({ limits: { requestTimeoutMs } }, {}).limits.requestTimeoutMs, requestTimeoutMs);
  assert.match(message(() => resolveConfig({ limits: { requestTimeoutMs: requestTimeoutMs + 1 } }, {})), /limits\.requestTimeoutMs: expected at most 2147478647 ms/);
  assert.match(message(() => resolveConfig({ limits: { requestTimeoutMs: 3e9 } }, {})), /limits\.requestTimeoutMs: /);
  assert.equal(resolveConfig({ writeBack: { flushIntervalMs: maxTimerMs } }, {}).writeBack.flushIntervalMs, maxTimerMs);
  assert.match(message(() => resolveConfig({ writeBack: { flushIntervalMs: 3e9 } }, {})), /writeBack\.flushIntervalMs: expected at most 2147483647 ms/);
  assert.equal(resolveConfig({ cache: { ttlMs: 30 * 86_400_000 } }, {}).cache.ttlMs, 30 * 86_400_000, 'a TTL is never a timer: 30 days is fine');
  assert.match(message(() => resolveConfig({ writeBack: { groupCommitMs: 3e9 } }, {})), /writeBack\.groupCommitMs: /);
});

test('database and Redis URLs are checked on start, naming the field and the variable it came from', () => {
  assert.match(message(() => resolveConfig({ database: { url: 'not a url' } }, {})), /database\.url: expected a URL starting postgres:\/\/ or postgresql:\/\//);
  assert.match(message(() => resolveConfig({}, { DATABASE_URL: 'postgres//oops' })), /database\.url \(from DATABASE_URL\): /);
  assert.match(message(() => resolveConfig({}, { DATABASE_URL: 'mysql://db/app' })), /database\.url \(from DATABASE_URL\): /);
  assert.match(message(() => resolveConfig({ redis: { url: 'not a url' } }, {})), /redis\.url: expected a URL starting redis:\/\/ or rediss:\/\//);
  assert.match(message(() => resolveConfig({}, { REDIS_URL: 'http://cache:6379' })), /redis\.url \(from REDIS_URL\): /);
  const secret = message(() => resolveConfig({}, { DATABASE_URL: 'postgres//user:hunter2@db' }));
  assert.doesNotMatch(secret, /hunter2/, 'the message never echoes the URL');
  const ok = resolveConfig({}, { DATABASE_URL: 'postgresql://u:p@db:5432/app', REDIS_URL: 'rediss://cache:6380' });
  assert.equal(ok.database?.url, 'postgresql://u:p@db:5432/app');
  assert.equal(ok.redis?.url, 'rediss://cache:6380');
});

test('tokens a bearer header cannot carry (spaces, non-ASCII, control characters) are refused, naming the field', () => {
  for (const bad of ['my secret token 0123', 'sécret-token-0123456', 'tab\tseparated-secret']) {
    assert.match(message(() => resolveConfig({ tokens: [token, { token: bad, scopes: ['read'] }] }, {})), /tokens\.1\.token: expected 16 to 512 printable ASCII characters/, bad);
  }
  assert.match(message(() => resolveConfig({}, { PRESCIENT_TOKENS: JSON.stringify([{ token: 'with a space 0123456', scopes: ['read'] }]) })), /tokens\.0\.token \(from PRESCIENT_TOKENS\): /);
  assert.equal(resolveConfig({ tokens: [{ token: '!"#$%&()*+,-./0123~', scopes: ['read'] }] }, {}).tokens.length, 1);
});

test('two tokens may not share a name, as they would share one rate-limit bucket', () => {
  const other = { token: 'another-long-secret', scopes: ['admin'] };
  assert.match(message(() => resolveConfig({ tokens: [{ ...token, name: 'svc' }, { ...other, name: 'svc' }] }, {})), /tokens\.1\.name: the name "svc" is already used by tokens\.0/);
  // An explicit name may not take the default name of another token either.
  assert.match(message(() => resolveConfig({ tokens: [{ ...token, name: 'token-1' }, other] }, {})), /tokens\.1\.name: the name "token-1"/);
  assert.match(message(() => resolveConfig({}, { PRESCIENT_TOKENS: JSON.stringify([{ ...token, name: 'x' }, { ...other, name: 'x' }]) })), /tokens\.1\.name \(from PRESCIENT_TOKENS\): /);
  assert.deepEqual(resolveConfig({ tokens: [{ ...token, name: 'a' }, other] }, {}).tokens.map((t) => t.name), ['a', 'token-1']);
});

test('serve: a bad DATABASE_URL is ERR_INVALID_CONFIG naming the field and variable, before anything starts', async () => {
  await assert.rejects(startServe({}, silentIo, { DATABASE_URL: 'postgres//oops', PRESCIENT_PORT: '0' }), (error: unknown) => {
    assert.ok(isPrescientError(error, 'ERR_INVALID_CONFIG'));
    assert.match(error.message, /database\.url \(from DATABASE_URL\)/);
    return true;
  });
});

test('serve: a port already in use is ERR_LISTEN_FAILED naming host:port, with the socket error as cause', async () => {
  const holder: Server = createNetServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as { port: number }).port;
  const journal = mkdtempSync(join(tmpdir(), 'prescient-listen-test-'));
  try {
    const env = { PRESCIENT_PORT: String(port), PRESCIENT_JOURNAL_DIR: journal, LOG_LEVEL: 'silent' };
    await assert.rejects(startServe({}, silentIo, env), (error: unknown) => {
      assert.ok(isPrescientError(error, 'ERR_LISTEN_FAILED'), String(error));
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}: the port is already in use \\(EADDRINUSE\\)`));
      assert.equal((error.cause as { code?: string }).code, 'EADDRINUSE');
      return true;
    });
  } finally {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    rmSync(journal, { recursive: true, force: true });
  }
});

test('cache.modelKeys bounds the keys the models know by id: 200,000 by default, checked on start', () => {
  assert.equal(resolveConfig({}, {}).cache.modelKeys, 200_000);
  assert.equal(resolveConfig({ cache: { modelKeys: 5000 } }, {}).cache.modelKeys, 5000);
  assert.match(message(() => resolveConfig({ cache: { modelKeys: 10 } }, {})), /cache\.modelKeys/);
});

test('serve: a wildcard bind says where the socket is (0.0.0.0), not the first interface Fastify names', async () => {
  const journal = mkdtempSync(join(tmpdir(), 'prescient-listen-test-'));
  const lines: string[] = [];
  const io = { stdout: { write: (text: string) => lines.push(text) > 0 }, stderr: { write: () => true } };
  const tokens = JSON.stringify([{ name: 'ops', token: 'a-long-enough-secret-token', scopes: ['read'] }]);
  const env = { PRESCIENT_PORT: '0', PRESCIENT_HOST: '0.0.0.0', PRESCIENT_TOKENS: tokens, PRESCIENT_JOURNAL_DIR: journal, LOG_LEVEL: 'silent' };
  const server = await startServe({}, io, env);
  try {
    assert.match(lines.join(''), /prescient: listening on http:\/\/0\.0\.0\.0:\d+\n/);
  } finally {
    await server.close();
    rmSync(journal, { recursive: true, force: true });
  }
});
