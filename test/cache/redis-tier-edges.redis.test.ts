/**
 * RedisTier at the edges of what it is handed: fractional sizes, lifetimes longer than Redis can hold, keys without a
 * UTF-8 form, version headers it never writes, and expired entries the sweep has not reached yet. Runs on
 * 127.0.0.1:6379, each test in its own namespace, cleared afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { createClient } from 'redis';
import { Cache } from '../../src/cache/cache.ts';
import type { Entry } from '../../src/cache/entry.ts';
import { RedisTier, type RedisTierOptions } from '../../src/cache/redis-tier.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError, type ErrorCode, type PrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { waitFor } from '../doubles/net-wait.ts';

const url = 'redis://127.0.0.1:6379';
const run = `edges-${randomUUID().slice(0, 8)}`;
const opened: Array<RedisTier<string>> = [];
let nsCounter = 0;

async function tier(options: Partial<RedisTierOptions> = {}): Promise<RedisTier<string> & { readonly ns: string }> {
  const namespace = `${run}-${++nsCounter}`;
  const t = await RedisTier.connect<string>({ url, maxBytes: 10_000, namespace, ...options });
  opened.push(t);
  return Object.assign(t, { ns: `{${namespace}}` });
}

/** A raw client for what the tier does not expose (TTLs, values written by someone else). */
type RawClient = ReturnType<typeof createClient<{}, {}, {}, 2>>;

async function raw<T>(use: (client: RawClient) => Promise<T>): Promise<T> {
  const client: RawClient = createClient({ url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

function entry(key: string, overrides: Partial<Entry<string>> = {}): Entry<string> {
  return { key, value: key, version: 1, sizeBytes: 10, createdAt: 0, staleAt: Infinity, expiresAt: Infinity, source: 'demand', probability: 1, tags: [], hits: 0, ...overrides };
}

const coded = (code: ErrorCode) => (error: unknown) => isPrescientError(error, code);

describe('RedisTier edges', () => {
  after(async () => {
    for (const t of opened.splice(0)) {
      await t.clear();
      await t.close();
    }
  });

  test('charges a fractional sizeBytes as whole bytes: deletes succeed and the counts return to zero', async () => {
    const errors: PrescientError[] = [];
    const l2 = await tier({ maxBytes: 100, onError: (e) => errors.push(e) });
    const cache = new Cache<string>({ origin: new MapOrigin<string>([]), l2, ttlMs: 60_000, sizeOf: (v: string) => v.length * 1.5 });
    try {
      for (let i = 0; i < 20; i++) {
        await cache.set(`t${i}`, 'hello'); // sizeOf 7.5, charged 8 (the Cache rounds up; so does RedisTier)
        assert.equal(await cache.delete(`t${i}`), true);
      }
      let stats = await l2.stats();
      assert.deepEqual([stats.entries, stats.bytes, errors.length], [0, 0, 0], errors[0]?.message);
      assert.equal(cache.stats().sharedTier?.suspectKeys, 0, 'no delete was lost');
      for (const key of ['x', 'y', 'z']) await cache.set(key, 'hello');
      stats = await l2.stats();
      assert.deepEqual([stats.entries, stats.bytes, stats.evictions], [3, 24, 0], 'three entries of 8 bytes fit in 100, nothing evicted');
      assert.equal((await l2.get('x'))?.sizeBytes, 8, 'the Cache charges sizeOf in whole bytes');
    } finally {
      await cache.close();
    }
  });

  test('deletes and counts an entry whose size an older version charged as a fraction', async () => {
    const errors: PrescientError[] = [];
    const l2 = await tier({ onError: (e) => errors.push(e) });
    await raw(async (client) => {
      await client.set(`${l2.ns}:old`, 'm1 x');
      await client.hSet(`${l2.ns}#sizes`, `${l2.ns}:old`, '7.5');
      await client.zAdd(`${l2.ns}#expiry`, { score: Infinity, value: `${l2.ns}:old` });
      await client.hSet(`${l2.ns}#meta`, { bytes: '17.5', entries: '2' });
    });
    assert.equal(await l2.delete('old'), true);
    const stats = await l2.stats();
    assert.deepEqual([stats.bytes, stats.entries, errors.length], [10, 1, 0], errors[0]?.message);
  });

  test('keeps an entry whose lifetime is longer than Redis can hold without expiry, as the memory tier would', async () => {
    const errors: PrescientError[] = [];
    const clock = new VirtualClock(0);
    const l2 = await tier({ clock, onError: (e) => errors.push(e) });
    const lifetimes = [Number.MAX_SAFE_INTEGER, 1e19, 1e22, Number.MAX_VALUE];
    for (const [i, ttlMs] of lifetimes.entries()) {
      assert.equal(await l2.setStrict(entry(`k${i}`, { expiresAt: ttlMs })), true, `ttlMs ${ttlMs} stored`);
      assert.equal((await l2.get(`k${i}`))?.expiresAt, ttlMs);
    }
    assert.deepEqual(errors, []);
    const pttls = await raw((client) => Promise.all(lifetimes.map((_, i) => client.pTTL(`${l2.ns}:k${i}`))));
    assert.ok(pttls[0] > 9e15, `the longest TTL Redis is sent still expires: ${pttls[0]}`);
    assert.deepEqual(pttls.slice(1), [-1, -1, -1], 'longer ones never do');
    const cache = new Cache<string>({ origin: new MapOrigin<string>([['x', 'vx']]), l2, clock, ttlMs: Number.MAX_VALUE });
    try {
      await cache.get('x');
      await waitFor(async () => (await l2.get('x'))?.value === 'vx', 'the loaded copy to reach Redis', 2_000);
      assert.equal(cache.stats().sharedTier?.suspectKeys, 0);
    } finally {
      await cache.close();
    }
  });

  test('refuses keys that are not well-formed UTF-16 with ERR_INVALID_KEY (two of them would share one Redis key)', async () => {
    const l2 = await tier();
    await l2.set(entry('user:\ud83d\ude00', { value: 'emoji' }));
    for (const key of ['user:\ud800', 'user:\udc00', 'a\ud800b']) {
      await assert.rejects(l2.get(key), coded('ERR_INVALID_KEY'));
      await assert.rejects(l2.set(entry(key)), coded('ERR_INVALID_KEY'));
      await assert.rejects(l2.setStrict(entry(key)), coded('ERR_INVALID_KEY'));
      await assert.rejects(l2.delete(key), coded('ERR_INVALID_KEY'));
    }
    assert.equal((await l2.get('user:\ud83d\ude00'))?.value, 'emoji', 'a surrogate pair is fine');
    assert.deepEqual(await l2.keysWithPrefix('user:\ud83d'), ['user:\ud83d\ude00'], 'a prefix ending inside a pair finds the keys that start with it');
    assert.deepEqual(await l2.keysWithPrefix('user:\ude00'), [], 'a prefix no well-formed key starts with finds none');
    const cache = new Cache<string>({ origin: new MapOrigin<string>([['user:\udc00', 'B']]), l2, ttlMs: 60_000 });
    try {
      await assert.rejects(cache.get('user:\udc00'), coded('ERR_INVALID_KEY'));
      await assert.rejects(cache.set('user:\ud800', 'A'), coded('ERR_INVALID_KEY'));
    } finally {
      await cache.close();
    }
  });

  test('a version header it never writes is foreign: not read, and replaced by the next write at a readable version', async () => {
    const errors: PrescientError[] = [];
    const l2 = await tier({ onError: (e) => errors.push(e) });
    const fields = ['theirs', 10, 0, Infinity, Infinity, 0, 0, 0, 0, 0];
    for (const [i, head] of ['mInfinity ', 'm0x10 ', 'm1e400 ', 'm1e+400 ', 'm-5 ', 'mNaN ', 'm 1 '].entries()) {
      const key = `c${i}`;
      const foreign = () => raw((client) => client.set(`${l2.ns}:${key}`, Buffer.concat([Buffer.from(head), Buffer.from(encode(fields))])));
      await foreign();
      assert.equal(await l2.get(key), undefined, `${head} is not read`);
      assert.equal(await l2.setNewest(entry(key, { version: 5, value: 'mine' })), 5, `${head}: stored at its own version`);
      const read = await l2.get(key);
      assert.deepEqual([read?.value, read?.version], ['mine', 5]);
      await foreign();
      assert.equal(await l2.delete(key, 0), true, `${head} does not hold a delete off`);
      await foreign();
      assert.equal(await l2.set(entry(key, { version: 1, value: 'low' })), true, `${head} does not hold a plain write off`);
    }
    assert.ok(errors.every((e) => isPrescientError(e, 'ERR_TIER_FAILED') && /not in a format/.test(e.message)), errors.map((e) => e.message).join('; '));
  });

  test('entries that expired and were not swept yet leave the counts as expired, not as lost', async () => {
    const l2 = await tier({ maxBytes: 1e9, clock: new VirtualClock(0), commandTimeoutMs: 10_000 });
    const count = 1_200; // more than one sweep takes (1,000), so the reconcile meets expired members
    const written = await Promise.all(Array.from({ length: count }, (_, i) => l2.set(entry(`k${i}`, { expiresAt: 1_500 }))));
    assert.equal(written.filter(Boolean).length, count);
    await waitFor(async () => (await raw((client) => client.exists(`${l2.ns}:k${count - 1}`))) === 0, 'Redis to expire the entries', 5_000);
    let stats = await l2.stats();
    for (let i = 0; i < 5 && stats.entries > 0; i++) stats = await l2.stats();
    assert.deepEqual([stats.entries, stats.bytes, stats.extra?.lost], [0, 0, 0]);
  });
});
