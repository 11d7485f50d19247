import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createClient } from 'redis';
import { entryFields, type Entry } from '../../src/cache/entry.ts';
import { RedisTier, redisTierTypeMapping, type RedisTierOptions } from '../../src/cache/redis-tier.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { tierContract } from '../contracts/tier.contract.ts';
import { waitFor } from '../doubles/redis-server.ts';

const url = 'redis://127.0.0.1:6379';
const run = `t${randomUUID().slice(0, 8)}`;
const opened: RedisTier[] = [];
let nsCounter = 0;

async function tier(options: Partial<RedisTierOptions> = {}): Promise<RedisTier> {
  const t = await RedisTier.connect({ url, maxBytes: 10_000, namespace: `${run}-${++nsCounter}`, ...options });
  opened.push(t);
  return t;
}

async function cleanup(): Promise<void> {
  for (const t of opened.splice(0)) {
    await t.clear();
    await t.close();
  }
}

// The contract's times are on a clock starting at 0 (as for MemoryTier). Redis drops a key at expiresAt +
// expiryGraceMs on that clock, so the contract's "expired but kept" entry needs a grace.
tierContract('RedisTier (127.0.0.1:6379)', ({ maxBytes }) => tier({ maxBytes, clock: new VirtualClock(0), expiryGraceMs: 60_000 }), cleanup);

const NEVER = Number.MAX_SAFE_INTEGER;
function entry(key: string, overrides: Partial<Entry<unknown>> = {}): Entry<unknown> {
  return { key, value: { key }, version: 1, sizeBytes: 10, createdAt: 0, staleAt: NEVER, expiresAt: NEVER, source: 'demand', probability: 1, tags: [], hits: 0, ...overrides };
}

describe('RedisTier', () => {
  after(cleanup);

  test('another client’s write invalidates the locally cached copy: the next read sees the new version', async () => {
    const namespace = `${run}-shared`;
    const a = await tier({ namespace });
    const b = await tier({ namespace });
    assert.equal(await a.set(entry('k', { version: 1, value: 'one' })), true);
    assert.equal((await a.get('k'))?.value, 'one');
    const before = (await a.stats()).extra?.cscHits as number;
    assert.equal((await a.get('k'))?.value, 'one');
    assert.equal((await a.stats()).extra?.cscHits, before + 1, 'the second read is served by the client-side cache');
    assert.equal(await b.set(entry('k', { version: 2, value: 'two' })), true);
    await waitFor(async () => (await a.get('k'))?.value === 'two', 'A to see B’s write', 2_000);
    assert.equal((await a.get('k'))?.version, 2);
  });

  test('a write on the same tier is seen by its next read at once', async () => {
    const t = await tier();
    await t.set(entry('k', { version: 1, value: 'one' }));
    await t.get('k');
    await t.set(entry('k', { version: 2, value: 'two' }));
    assert.equal((await t.get('k'))?.value, 'two');
  });

  test('keeps every entry field through Redis', async () => {
    const t = await tier();
    const e = entry('full', {
      value: { nested: [1, 'two', { three: 3 }], when: new Date(5) },
      version: 1_763_700_000_123,
      sizeBytes: 77,
      createdAt: 1.5,
      staleAt: 1_000.25,
      expiresAt: NEVER,
      source: 'prefetch',
      probability: 0.42,
      tags: ['a', 'b'],
      predictedFor: { session: 's1', user: 'u1' },
      predictedBy: 'markov',
    });
    await t.set(e);
    assert.deepEqual(entryFields((await t.get('full'))!), { ...e, hits: 1 });
  });

  test('sets the Redis TTL from expiresAt plus expiryGraceMs, and no TTL for an infinite expiry', async () => {
    const t = await tier({ expiryGraceMs: 5_000 });
    const now = Date.now();
    await t.set(entry('ttl', { expiresAt: now + 10_000 }));
    await t.set(entry('forever', { expiresAt: Infinity }));
    const raw = createClient({ url });
    await raw.connect();
    try {
      const ns = (await t.stats()).extra?.namespace as string;
      const pttl = await raw.pTTL(`${ns}:ttl`);
      assert.ok(pttl > 13_000 && pttl <= 15_000, `pttl ${pttl}`);
      assert.equal(await raw.pTTL(`${ns}:forever`), -1);
    } finally {
      raw.destroy();
    }
    assert.equal((await t.get('forever'))?.expiresAt, Infinity);
  });

  test('declines an entry already past expiresAt plus grace', async () => {
    const t = await tier();
    assert.equal(await t.set(entry('old', { expiresAt: Date.now() - 1 })), false);
    assert.equal(await t.get('old', true), undefined);
  });

  test('delete with a version keeps a newer entry and removes an older or equal one', async () => {
    const t = await tier();
    await t.set(entry('d', { version: 5 }));
    assert.equal(await t.delete('d', 4), false);
    assert.equal((await t.get('d'))?.version, 5);
    assert.equal(await t.delete('d', 5), true);
    assert.equal(await t.get('d'), undefined);
    assert.equal((await t.stats()).entries, 0);
  });

  test('setNewest stores a write above the version held, atomically, so concurrent writers get distinct versions', async () => {
    const namespace = `${run}-newest`;
    const a = await tier({ namespace });
    const b = await tier({ namespace });
    assert.equal(await a.setNewest(entry('k', { version: 3, value: 'first' })), 3, 'nothing held: its own version');
    assert.equal(await b.setNewest(entry('k', { version: 1, value: 'lower' })), 4, 'one above the copy held');
    const read = await a.get('k');
    assert.deepEqual([read?.value, read?.version], ['lower', 4], 'the copy read back carries the version stored');
    assert.equal(await a.setNewest(entry('k', { version: 4, value: 'same' })), 5, 'the same version held: one above');
    assert.equal(await a.setNewest(entry('k', { version: 9, value: 'higher' })), 9, 'below its own: its own');
    const versions = await Promise.all([a, b, a, b].map((t, i) => t.setNewest(entry('k', { version: 1, value: `race ${i}` }))));
    assert.deepEqual([...versions].sort(), [10, 11, 12, 13], 'four writers at once, four versions');
    const last = versions.indexOf(13);
    assert.equal((await b.get('k'))?.value, `race ${last}`, 'the highest version is the write Redis took last');
    assert.equal(await a.set(entry('k', { version: 12, value: 'older' })), false, 'a plain set below is still declined');
    assert.equal(await a.setNewest(entry('big', { sizeBytes: 20_000 })), undefined, 'declined: larger than the budget');
    await a.set(entry('huge', { version: 2 ** 60, value: 'first' }));
    assert.equal(await b.setNewest(entry('huge', { version: 1, value: 'second' })), 2 ** 60, 'past 2^53, the held version itself');
    assert.equal((await b.get('huge'))?.value, 'second');
  });

  test('over the budget, evicts the entries nearest their expiry first and counts them', async () => {
    const t = await tier({ maxBytes: 100 });
    const now = Date.now();
    await t.set(entry('soon', { sizeBytes: 40, expiresAt: now + 10_000 }));
    await t.set(entry('late', { sizeBytes: 40, expiresAt: now + 60_000 }));
    assert.equal(await t.set(entry('new', { sizeBytes: 40, expiresAt: now + 30_000 })), true);
    assert.equal(await t.get('soon'), undefined);
    assert.ok(await t.get('late'));
    const stats = await t.stats();
    assert.equal(stats.bytes, 80);
    assert.equal(stats.evictions, 1);
  });

  test('keysWithPrefix lists the namespace\'s keys that start with the prefix, glob characters taken literally', async () => {
    const mine = await tier();
    const other = await tier();
    for (const key of ['user:1', 'user:2', 'users', 'item:1', 'a*b', 'a?c', 'a[1]']) await mine.set(entry(key));
    await other.set(entry('user:9'));
    assert.deepEqual((await mine.keysWithPrefix('user:')).sort(), ['user:1', 'user:2']);
    assert.deepEqual(await mine.keysWithPrefix('a*'), ['a*b']);
    assert.deepEqual(await mine.keysWithPrefix('a['), ['a[1]']);
    assert.deepEqual(await mine.keysWithPrefix('zzz'), []);
    assert.equal((await mine.keysWithPrefix('')).length, 7);
  });

  test('keysWithTag lists the keys written with a tag that Redis still holds; the index lives as long as its entries and goes with clear', async () => {
    const namespace = `${run}-tags-${++nsCounter}`;
    const t = await tier({ namespace });
    const admin = createClient({ url });
    await admin.connect();
    try {
      const now = Date.now();
      await t.set(entry('a', { tags: ['red', 'big'], expiresAt: now + 60_000 }));
      await t.set(entry('b', { tags: ['red'], expiresAt: now + 120_000 }));
      await t.set(entry('c', { tags: ['blue'], expiresAt: Infinity }));
      assert.deepEqual((await t.keysWithTag('red')).sort(), ['a', 'b']);
      assert.deepEqual(await t.keysWithTag('big'), ['a']);
      assert.deepEqual(await t.keysWithTag('none'), []);
      const ttl = await admin.pTTL(`{${namespace}}#tag:red`);
      assert.ok(ttl > 60_000 && ttl <= 120_000, `the red index lives as long as b: ${ttl} ms`);
      assert.equal(await admin.pTTL(`{${namespace}}#tag:blue`), -1, 'an entry without expiry keeps its index');
      await t.delete('a');
      assert.deepEqual(await t.keysWithTag('red'), ['b']);
      assert.deepEqual(await admin.sMembers(`{${namespace}}#tag:red`), [`{${namespace}}:b`], 'the gone member was pruned as it was read');
      await t.clear();
      assert.equal(await admin.exists([`{${namespace}}#tag:red`, `{${namespace}}#tag:blue`]), 0);
    } finally {
      await admin.close();
    }
  });

  test('keysWithTag lists a tag of thousands of entries in short steps, every live one', async () => {
    const t = await tier({ maxBytes: 1e7 });
    const keys = Array.from({ length: 3_000 }, (_, i) => `k${i}`);
    for (let i = 0; i < keys.length; i += 100) {
      assert.ok((await Promise.all(keys.slice(i, i + 100).map((key) => t.set(entry(key, { tags: ['many'] }))))).every(Boolean));
    }
    for (let i = 0; i < 1_000; i += 100) await Promise.all(keys.slice(i, i + 100).map((key) => t.delete(key)));
    assert.deepEqual((await t.keysWithTag('many')).sort(), keys.slice(1_000).sort());
  });

  test('clear removes only its own namespace', async () => {
    const mine = await tier();
    const other = await tier();
    await mine.set(entry('x'));
    await other.set(entry('x'));
    await mine.clear();
    assert.equal(await mine.get('x'), undefined);
    assert.ok(await other.get('x'));
    assert.equal((await other.stats()).entries, 1);
  });

  test('uses a client passed in, with client-side caching when it maps strings to Buffers, and leaves it open', async () => {
    const client = createClient({ url, RESP: 3, clientSideCache: { maxEntries: 100 }, commandOptions: { typeMapping: redisTierTypeMapping } });
    await client.connect();
    const t = new RedisTier({ client, maxBytes: 1_000, namespace: `${run}-given` });
    await t.set(entry('g'));
    await t.get('g');
    await t.get('g');
    const extra = (await t.stats()).extra;
    assert.equal(extra?.clientSideCache, 'on');
    assert.equal(extra?.cscHits, 1);
    await t.clear();
    await t.close();
    assert.equal(client.isReady, true);
    client.destroy();
  });

  test('a client without the Buffer type mapping still works, bypassing its client-side cache', async () => {
    const client = createClient({ url, RESP: 3, clientSideCache: { maxEntries: 100 } });
    await client.connect();
    await using t = new RedisTier({ client, maxBytes: 1_000, namespace: `${run}-bypass` });
    await t.set(entry('b', { value: 'bee' }));
    assert.equal((await t.get('b'))?.value, 'bee');
    assert.equal((await t.stats()).extra?.clientSideCache, 'bypassed');
    await t.clear();
    client.destroy();
  });

  test('rejects bad options with coded errors naming the option', () => {
    const bad: Array<[Partial<RedisTierOptions>, string]> = [
      [{ url, maxBytes: 0 }, 'maxBytes'],
      [{ url, maxBytes: 1, namespace: 'a}b' }, 'namespace'],
      [{ url, maxBytes: 1, namespace: '' }, 'namespace'],
      [{ maxBytes: 1 }, 'client'],
      [{ url, rootNodes: [url], maxBytes: 1 }, 'rootNodes'],
      [{ url: 'http://x', maxBytes: 1 }, 'url'],
      [{ rootNodes: [], maxBytes: 1 }, 'rootNodes'],
      [{ url, maxBytes: 1, commandTimeoutMs: -5 }, 'commandTimeoutMs'],
      [{ url, maxBytes: 1, expiryGraceMs: -1 }, 'expiryGraceMs'],
      [{ url, maxBytes: 1, reconnect: { minDelayMs: 100, maxDelayMs: 10 } }, 'reconnect.maxDelayMs'],
      [{ url, maxBytes: 1, clientSideCache: { maxEntries: 0 } }, 'clientSideCache.maxEntries'],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => new RedisTier(options as RedisTierOptions),
        (error: unknown) => isPrescientError(error, 'ERR_INVALID_OPTION') && (error as { option?: string }).option === option,
        option,
      );
    }
  });

  test('throws ERR_CLOSED after close', async () => {
    const t = await tier();
    await t.close();
    await assert.rejects(t.get('x'), (error: unknown) => isPrescientError(error, 'ERR_CLOSED'));
    await assert.rejects(t.set(entry('x')), (error: unknown) => isPrescientError(error, 'ERR_CLOSED'));
    opened.splice(opened.indexOf(t), 1);
  });
});
