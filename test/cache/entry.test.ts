import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { checkKey, createEntry, entryFields, restoreEntry } from '../../src/cache/entry.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';

const made = (now: number, ttlMs: number, staleAfterMs: number) =>
  createEntry({ key: 'k', value: { v: 1 }, version: 2, sizeBytes: 3, now, ttlMs, staleAfterMs });

describe('entries', () => {
  test('a fresh entry is stale after min(staleAfterMs, ttlMs) and expires after ttlMs, to the bit', () => {
    const now = 1_763_700_000_000.123;
    const e = made(now, 60_000, 5_000);
    assert.equal(e.createdAt, now);
    assert.equal(e.staleAt, now + 5_000);
    assert.equal(e.expiresAt, now + 60_000);
    assert.equal(made(now, 1_000, 5_000).staleAt, now + 1_000);
    assert.equal(made(now, Infinity, Infinity).expiresAt, Infinity);
  });

  test('demand and prefetched entries say where they came from', () => {
    const demand = made(1, 10, 10);
    assert.deepEqual([demand.source, demand.probability, demand.predictedBy, demand.predictedFor], ['demand', 1, undefined, undefined]);
    const ctx = { session: 's' };
    const p = createEntry({ key: 'p', value: 1, version: 1, sizeBytes: 1, now: 1, ttlMs: 10, staleAfterMs: 10, prediction: { probability: 0.4, source: 'markov', ctx } });
    assert.deepEqual([p.source, p.probability, p.predictedBy, p.predictedFor], ['prefetch', 0.4, 'markov', ctx]);
  });

  test('serialises and copies as the plain Entry fields', () => {
    const e = made(100, 50, 20);
    e.hits = 2;
    const plain = { key: 'k', value: { v: 1 }, version: 2, sizeBytes: 3, createdAt: 100, staleAt: 120, expiresAt: 150, source: 'demand', probability: 1, tags: [], hits: 2 };
    assert.deepEqual(entryFields(e), plain);
    assert.deepEqual(JSON.parse(JSON.stringify(e)), plain);
  });

  test('restores absolute times exactly, including ones no offset from createdAt can give', () => {
    for (const [createdAt, staleAt, expiresAt] of [
      [1_763_700_000_000.25, 1_763_700_030_000.25, Infinity],
      [1.5, 1_000.25, Number.MAX_SAFE_INTEGER],
      [0.1, 0.30000000000000004, 1e300],
    ]) {
      const e = restoreEntry({ key: 'k', value: 0, version: 1, sizeBytes: 1, createdAt, staleAt, expiresAt, tags: [], prediction: undefined, hits: 5 });
      assert.deepEqual([e.createdAt, e.staleAt, e.expiresAt, e.hits], [createdAt, staleAt, expiresAt, 5]);
    }
  });

  test('entries stored with the same TTL settings share their lifetime record (the memory saving)', () => {
    const a = made(1, 60_000, 5_000) as unknown as { lifetime: object };
    const b = made(2, 60_000, 5_000) as unknown as { lifetime: object };
    assert.equal(a.lifetime, b.lifetime);
  });
});

describe('the key check', () => {
  const invalidKey = (error: unknown) => isPrescientError(error, 'ERR_INVALID_KEY');

  test('refuses a key with a lone UTF-16 surrogate (it has no UTF-8 form: two such keys would be one), naming where', () => {
    for (const key of ['\ud800', 'user:\ud800', 'user:\udc00', 'a\udc00\ud800b', '\ude00x']) {
      assert.throws(() => checkKey(key, 1024), (e: unknown) => invalidKey(e) && /lone surrogate \(U\+D[89A-F][0-9A-F]{2}\) at index \d+/.test((e as Error).message), JSON.stringify(key));
    }
    for (const key of ['user:\ud83d\ude00', 'é✓', '\ufffd']) checkKey(key, 1024);
  });

  test('a Cache refuses such a key everywhere a key comes in, reads that load included', async () => {
    const cache = new Cache<string>({ origin: new MapOrigin<string>([['user:\udc00', 'b']]) });
    try {
      await assert.rejects(cache.get('user:\udc00'), invalidKey);
      await assert.rejects(cache.load('user:\udc00'), invalidKey);
      await assert.rejects(cache.set('user:\ud800', 'a'), invalidKey);
      await assert.rejects(cache.delete('user:\ud800'), invalidKey);
      await assert.rejects(cache.invalidate({ keys: ['user:\ud800'] }), invalidKey);
      assert.throws(() => cache.prefetch(['user:\ud800']), invalidKey);
      assert.equal((await cache.get('user:\ud83d\ude00')).isFound, false, 'a surrogate pair is a key like any other');
    } finally {
      await cache.close();
    }
  });
});
