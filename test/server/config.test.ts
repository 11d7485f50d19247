import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, parseConfigText, resolveConfig } from '../../src/server/config.ts';
import { configMessage } from './server-rig.ts';

const token = { token: 'a-long-enough-secret', scopes: ['read'] };

const message = configMessage;

test('nothing configured: loopback on 8787, embedded stores, default limits', () => {
  const c = resolveConfig(undefined, {});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8787);
  assert.equal(c.database, undefined);
  assert.equal(c.redis, undefined);
  assert.deepEqual(c.tokens, []);
  assert.equal(c.limits.bodyLimitBytes, 1024 * 1024);
  assert.equal(c.limits.rateLimit.perSecond, 1000);
  assert.equal(c.cache.maxKeyLength, 512);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.limits));
});

test('environment variables override the file, flags override both', () => {
  const c = resolveConfig(
    { port: 9000, host: '127.0.0.2', database: { url: 'postgres://file', table: 'items' } },
    { PRESCIENT_PORT: '9100', DATABASE_URL: 'postgres://env', REDIS_URL: 'redis://r:6379', LOG_LEVEL: 'debug', PRESCIENT_JOURNAL_DIR: '/tmp/j' },
    { host: '::1' },
  );
  assert.equal(c.port, 9100);
  assert.equal(c.host, '::1');
  assert.deepEqual(c.database, { url: 'postgres://env', table: 'items' });
  assert.deepEqual(c.redis, { url: 'redis://r:6379', namespace: 'prescient', maxBytes: 256 * 1024 * 1024, bus: true });
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.journalDir, '/tmp/j');
  const t = resolveConfig({}, { PRESCIENT_TOKENS: JSON.stringify([{ ...token, user: 'alice' }]) });
  assert.deepEqual(t.tokens, [{ ...token, user: 'alice', name: 'token-0' }]);
});

test('messages name the bad field by its path, and the variable it came from', () => {
  assert.match(message(() => resolveConfig({ port: 70000 }, {})), /port: /);
  assert.match(message(() => resolveConfig({ limits: { rateLimit: { perSecond: -1 } } }, {})), /limits\.rateLimit\.perSecond: /);
  // So small a refill rounds to 0 per ms: a client would wait forever, told `Retry-After: Infinity`.
  assert.match(message(() => resolveConfig({ limits: { rateLimit: { perSecond: 1e-321 } } }, {})), /limits\.rateLimit\.perSecond: /);
  assert.match(message(() => resolveConfig({ limits: { maxBatchKeys: 1.5 } }, {})), /limits\.maxBatchKeys: /);
  assert.match(message(() => resolveConfig({ cache: { ttlMs: 'long' } }, {})), /cache\.ttlMs: /);
  assert.match(message(() => resolveConfig({ prot: 1 }, {})), /\(root\): .*prot/);
  assert.match(message(() => resolveConfig({ redis: { url: 'redis://r:6379', namespace: 'n'.repeat(65) } }, {})), /redis\.namespace: expected at most 64/);
  assert.match(message(() => resolveConfig({ tokens: [{ token: 'short', scopes: ['read'] }] }, {})), /tokens\.0\.token: /);
  assert.match(message(() => resolveConfig({ tokens: [{ ...token, scopes: ['root'] }] }, {})), /tokens\.0\.scopes\.0: /);
  assert.match(message(() => resolveConfig({ tokens: [token, token] }, {})), /tokens: the same token/);
  assert.match(message(() => resolveConfig({ database: { url: 'x', table: 'Robert"); drop table' } }, {})), /database\.table: /);
  assert.match(message(() => resolveConfig({}, { PRESCIENT_PORT: '80a' })), /port \(from PRESCIENT_PORT\)/);
  assert.match(message(() => resolveConfig({}, { PRESCIENT_PORT: '99999' })), /port \(from PRESCIENT_PORT\): /);
  assert.match(message(() => resolveConfig({}, { LOG_LEVEL: 'loud' })), /logLevel \(from LOG_LEVEL\): /);
  assert.match(message(() => resolveConfig({}, { PRESCIENT_TOKENS: '[{' })), /tokens \(from PRESCIENT_TOKENS\)/);
  assert.match(message(() => resolveConfig({}, { PRESCIENT_TABLE: 'items' })), /database\.url \(needed with PRESCIENT_TABLE\): /);
  assert.match(message(() => resolveConfig([1], {})), /\(root\): expected a JSON object/);
  assert.match(message(() => parseConfigText('{"port": 1,}', 'prescient.config.json')), /prescient\.config\.json: not valid JSON/);
});

test('refuses to bind beyond loopback without tokens', () => {
  assert.match(message(() => resolveConfig({ host: '0.0.0.0' }, {})), /host: refusing to bind "0\.0\.0\.0" with no tokens/);
  assert.match(message(() => resolveConfig({}, { PRESCIENT_HOST: '10.0.0.5' })), /refusing to bind/);
  assert.equal(resolveConfig({ host: '0.0.0.0', tokens: [token] }, {}).host, '0.0.0.0');
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopback(host), host);
  for (const host of ['0.0.0.0', '::', '192.168.1.1', 'example.com', '::ffff:10.0.0.1']) assert.ok(!isLoopback(host), host);
});
