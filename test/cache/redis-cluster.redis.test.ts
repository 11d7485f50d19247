import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Entry } from '../../src/cache/entry.ts';
import { RedisTier } from '../../src/cache/redis-tier.ts';
import { VirtualClock } from '../../src/clock.ts';
import { tierContract } from '../contracts/tier.contract.ts';
import { RedisClusterServers, waitFor } from '../doubles/redis-server.ts';

// A 3-master cluster of this test's own, on spare loopback ports; started before the suites run, stopped after.
const cluster = await RedisClusterServers.start(3);
const opened: RedisTier[] = [];
let nsCounter = 0;

async function tier(options: { maxBytes?: number; namespace?: string; clock?: VirtualClock; expiryGraceMs?: number } = {}): Promise<RedisTier> {
  const t = await RedisTier.connect({ rootNodes: cluster.rootNodes, maxBytes: 10_000, namespace: `c${++nsCounter}`, ...options });
  opened.push(t);
  return t;
}

async function closeAll(): Promise<void> {
  for (const t of opened.splice(0)) {
    await t.clear();
    await t.close();
  }
}

let suitesLeft = 2;
async function done(): Promise<void> {
  await closeAll();
  if (--suitesLeft === 0) await cluster.stop();
}

tierContract('RedisTier (3-master cluster)', ({ maxBytes }) => tier({ maxBytes, clock: new VirtualClock(0), expiryGraceMs: 60_000 }), done);

const NEVER = Number.MAX_SAFE_INTEGER;
function entry(key: string, overrides: Partial<Entry<unknown>> = {}): Entry<unknown> {
  return { key, value: key, version: 1, sizeBytes: 10, createdAt: 0, staleAt: NEVER, expiresAt: NEVER, source: 'demand', probability: 1, tags: [], hits: 0, ...overrides };
}

describe('RedisTier on a cluster', () => {
  before(() => assert.equal(cluster.servers.length, 3));
  after(done);

  test('namespaces land on different masters, and clear removes only its own', async () => {
    const tiers = await Promise.all(['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((namespace) => tier({ namespace })));
    for (const t of tiers) for (let i = 0; i < 20; i++) assert.equal(await t.set(entry(`k${i}`, { tags: i % 2 === 0 ? ['even'] : [] })), true);
    for (const t of tiers) assert.equal((await t.keysWithTag('even')).length, 10, 'the tag index lives in its namespace\'s slot');
    const holders = new Set<number>();
    for (const s of cluster.servers) {
      const raw = await fetchDbSize(s.port);
      if (raw > 0) holders.add(s.port);
    }
    assert.ok(holders.size >= 2, `keys on ${holders.size} masters`);
    await tiers[0].clear();
    assert.equal(await tiers[0].get('k1'), undefined);
    assert.equal((await tiers[1].get('k1'))?.value, 'k1');
    assert.equal((await tiers[1].stats()).entries, 20);
  });

  test('another node’s write invalidates the locally cached copy on a cluster too', async () => {
    const a = await tier({ namespace: 'shared' });
    const b = await tier({ namespace: 'shared' });
    await a.set(entry('k', { version: 1, value: 'one' }));
    await a.get('k');
    await a.get('k');
    assert.ok(((await a.stats()).extra?.cscHits as number) >= 1, 'reads served by the client-side cache');
    await b.set(entry('k', { version: 2, value: 'two' }));
    await waitFor(async () => (await a.get('k'))?.value === 'two', 'A to see B’s write', 2_000);
  });
});

async function fetchDbSize(port: number): Promise<number> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) =>
    execFile('/usr/bin/redis-cli', ['-p', String(port), 'DBSIZE'], (error, stdout) => (error ? reject(error) : resolve(Number(stdout.trim())))),
  );
}
