/**
 * The service with the shared Redis tier: what one node loaded is served to another node from Redis, without the
 * origin, and the tier's size shows in the metrics.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { createServer, type PrescientServer } from '../../src/server/app.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { waitFor } from '../doubles/net-wait.ts';

const boundedWaitMs = 10_000;

test('two nodes share the Redis tier: the second reads from it, not from its origin', async () => {
  const namespace = `srvtest${process.pid}`;
  const dirs = [mkdtempSync(join(tmpdir(), 'prescient-server-redis-')), mkdtempSync(join(tmpdir(), 'prescient-server-redis-'))];
  const origins = [new MapOrigin<unknown>([['shared', { n: 1 }]]), new MapOrigin<unknown>([['shared', { n: 1 }]])];
  const servers: PrescientServer[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const config = resolveConfig({ logLevel: 'silent', journalDir: dirs[i] }, { REDIS_URL: 'redis://127.0.0.1:6379' });
      servers.push(await createServer({ ...config, redis: { ...config.redis!, namespace } }, { origin: origins[i] }));
    }
    const first = await servers[0].app.inject({ url: '/v1/items/shared' });
    assert.equal(first.json().from, 'origin');
    const deadline = Date.now() + boundedWaitMs;
    let scrape = '';
    while (!/^prescient_tier_entries\{tier="redis"\} [1-9]/m.test(scrape)) {
      assert.ok(Date.now() < deadline, `the entry never reached Redis:\n${scrape}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      scrape = (await servers[0].app.inject({ url: '/metrics' })).body;
    }
    const second = await servers[1].app.inject({ url: '/v1/items/shared' });
    assert.equal(second.statusCode, 200);
    assert.deepEqual(second.json().value, { n: 1 });
    assert.equal(second.json().from, 'l2');
    assert.equal(origins[1].calls, 0);
    assert.equal((await servers[1].app.inject({ url: '/readyz' })).statusCode, 200);
  } finally {
    await servers[0]?.service.l2?.clear();
    for (const s of servers) await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test("a write on one node reaches the other node's memory tier through the write bus: its next read is the new value", async () => {
  const namespace = `srvbus${process.pid}`;
  const dirs = [mkdtempSync(join(tmpdir(), 'prescient-server-bus-')), mkdtempSync(join(tmpdir(), 'prescient-server-bus-'))];
  const servers: PrescientServer[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const config = resolveConfig({ logLevel: 'silent', journalDir: dirs[i] }, { REDIS_URL: 'redis://127.0.0.1:6379' });
      servers.push(await createServer({ ...config, redis: { ...config.redis!, namespace } }, { origin: new MapOrigin<unknown>([['item', 'old']]) }));
      await servers[i].service.cache.whenSubscribed();
    }
    assert.equal((await servers[1].app.inject({ url: '/v1/items/item' })).json().value, 'old'); // held in node 1's memory tier
    const put = await servers[0].app.inject({ method: 'PUT', url: '/v1/items/item', payload: { value: 'new' } });
    assert.equal(put.statusCode, 200);
    await waitFor(() => servers[1].service.cache.peek('item') === undefined, "node 1 dropped its copy");
    const read = (await servers[1].app.inject({ url: '/v1/items/item' })).json();
    assert.deepEqual([read.value, read.version, read.from], ['new', put.json().version, 'l2']);
    const scrape = (await servers[0].app.inject({ url: '/metrics' })).body;
    assert.match(scrape, /^prescient_write_bus_published_total 1$/m);
    assert.match((await servers[1].app.inject({ url: '/metrics' })).body, /^prescient_write_bus_removed_total 1$/m);
  } finally {
    await servers[0]?.service.l2?.clear();
    for (const s of servers) await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test('redis.bus false leaves the write bus out: the server keeps to the shared tier', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prescient-server-nobus-'));
  const config = resolveConfig({ logLevel: 'silent', journalDir: dir, redis: { url: 'redis://127.0.0.1:6379', namespace: `srvnobus${process.pid}`, bus: false } }, {});
  const server = await createServer(config, { origin: new MapOrigin<unknown>([['k', 1]]) });
  try {
    assert.equal(server.service.cache.stats().writeBus, undefined);
    assert.equal((await server.app.inject({ url: '/v1/items/k' })).json().value, 1);
  } finally {
    await server.service.l2?.clear();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
