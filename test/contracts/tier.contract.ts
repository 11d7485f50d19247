/**
 * The Tier contract: behaviour every tier (MemoryTier, RedisTier, test doubles) must show. A tier's test file
 * calls `tierContract(name, makeTier, cleanup)`; every test builds its own tier and uses its own key prefix.
 * Methods may answer synchronously or with a promise; the suite awaits either.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Entry } from '../../src/cache/entry.ts';
import type { Tier } from '../../src/cache/tier.ts';
import { seededRandom as random } from '../../src/sim/seeded-random.ts';

/** Builds a tier of the given capacity for one test. */
export type TierFactory = (opts: { maxBytes: number }) => Tier<unknown> | Promise<Tier<unknown>>;

/** Far enough in the future for any clock, and representable in JSON (unlike Infinity). */
const NEVER = Number.MAX_SAFE_INTEGER;

let prefixCounter = 0;

function makeEntry(key: string, overrides: Partial<Entry<unknown>> = {}): Entry<unknown> {
  return {
    key,
    value: { name: key },
    version: 1,
    sizeBytes: 10,
    createdAt: 0,
    staleAt: NEVER,
    expiresAt: NEVER,
    source: 'demand',
    probability: 1,
    tags: [],
    hits: 0,
    ...overrides,
  };
}


/** Registers the Tier contract tests for one implementation. */
export function tierContract(name: string, makeTier: TierFactory, cleanup?: () => Promise<void>): void {
  describe(`Tier contract: ${name}`, () => {
    if (cleanup !== undefined) after(cleanup);
    const prefix = (): string => `contract:${name}:${++prefixCounter}:`;

    test('get of an absent key answers undefined and counts a miss', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const before = await tier.stats();
      assert.equal(await tier.get(`${prefix()}absent`), undefined);
      const stats = await tier.stats();
      assert.equal(stats.misses, before.misses + 1);
      assert.equal(stats.hits, before.hits);
    });

    test('set then get returns the stored key, value and version and counts a hit', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const key = `${prefix()}a`;
      assert.equal(await tier.set(makeEntry(key, { value: { n: 1 }, version: 7 })), true);
      const got = await tier.get(key);
      assert.ok(got);
      assert.equal(got.key, key);
      assert.deepEqual(got.value, { n: 1 });
      assert.equal(got.version, 7);
      assert.equal((await tier.stats()).hits, 1);
    });

    test('get increments the entry hit count', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const key = `${prefix()}h`;
      await tier.set(makeEntry(key));
      const first = (await tier.get(key))?.hits;
      const second = (await tier.get(key))?.hits;
      assert.ok(first !== undefined && second !== undefined);
      assert.ok(first >= 1);
      assert.equal(second, first + 1);
    });

    test('getMany answers entries aligned with the keys, undefined for absent ones', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const p = prefix();
      await tier.set(makeEntry(`${p}x`));
      await tier.set(makeEntry(`${p}z`));
      const got = await tier.getMany([`${p}x`, `${p}y`, `${p}z`]);
      assert.equal(got.length, 3);
      assert.equal(got[0]?.key, `${p}x`);
      assert.equal(got[1], undefined);
      assert.equal(got[2]?.key, `${p}z`);
    });

    test('a set with an older version than the held one is declined and the held one kept', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const key = `${prefix()}v`;
      assert.equal(await tier.set(makeEntry(key, { version: 5, value: 'five' })), true);
      assert.equal(await tier.set(makeEntry(key, { version: 4, value: 'four' })), false);
      assert.equal((await tier.get(key))?.value, 'five');
    });

    test('a set with a newer or equal version replaces the held entry', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const key = `${prefix()}r`;
      await tier.set(makeEntry(key, { version: 5, value: 'five' }));
      assert.equal(await tier.set(makeEntry(key, { version: 6, value: 'six' })), true);
      assert.equal((await tier.get(key))?.value, 'six');
      assert.equal(await tier.set(makeEntry(key, { version: 6, value: 'six again' })), true);
      assert.equal((await tier.get(key))?.value, 'six again');
      assert.equal((await tier.stats()).entries, 1);
    });

    test('delete removes the entry and answers whether something was removed', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const key = `${prefix()}d`;
      await tier.set(makeEntry(key));
      assert.equal(await tier.delete(key), true);
      assert.equal(await tier.get(key), undefined);
      assert.equal(await tier.delete(key), false);
    });

    test('clear removes every entry and zeroes the byte count', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const p = prefix();
      for (let i = 0; i < 5; i++) await tier.set(makeEntry(`${p}${i}`));
      await tier.clear();
      const stats = await tier.stats();
      assert.equal(stats.entries, 0);
      assert.equal(stats.bytes, 0);
      for (let i = 0; i < 5; i++) assert.equal(await tier.get(`${p}${i}`), undefined);
    });

    test('stats report entries, bytes as the sum of sizes, maxBytes and a name', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const p = prefix();
      await tier.set(makeEntry(`${p}1`, { sizeBytes: 100 }));
      await tier.set(makeEntry(`${p}2`, { sizeBytes: 250 }));
      const stats = await tier.stats();
      assert.equal(stats.entries, 2);
      assert.equal(stats.bytes, 350);
      assert.equal(stats.maxBytes, 10_000);
      assert.equal(typeof stats.name, 'string');
      assert.ok(stats.name.length > 0);
    });

    test('an expired entry is not returned by get but is by get with includeExpired', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const key = `${prefix()}e`;
      await tier.set(makeEntry(key, { staleAt: 0, expiresAt: 0, value: 'old' }));
      assert.equal(await tier.get(key), undefined);
      assert.equal((await tier.get(key, true))?.value, 'old');
      assert.equal((await tier.get(key, true))?.value, 'old', 'includeExpired reads do not remove the entry');
    });

    test('a stale but unexpired entry is still returned by get', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const key = `${prefix()}s`;
      await tier.set(makeEntry(key, { staleAt: 0, expiresAt: NEVER, value: 'stale' }));
      assert.equal((await tier.get(key))?.value, 'stale');
    });

    test('an entry larger than maxBytes is declined', async () => {
      const tier = await makeTier({ maxBytes: 1_000 });
      const key = `${prefix()}big`;
      assert.equal(await tier.set(makeEntry(key, { sizeBytes: 1_001 })), false);
      assert.equal(await tier.get(key), undefined);
      assert.equal((await tier.stats()).bytes, 0);
    });

    test('bytes held never exceed maxBytes under a churn of random sizes', async () => {
      const tier = await makeTier({ maxBytes: 2_000 });
      const p = prefix();
      const rand = random(42);
      for (let i = 0; i < 600; i++) {
        const key = `${p}${Math.floor(rand() * 300)}`;
        if (rand() < 0.5) await tier.get(key);
        else await tier.set(makeEntry(key, { sizeBytes: 1 + Math.floor(rand() * 200), version: i }));
        const stats = await tier.stats();
        assert.ok(stats.bytes <= 2_000, `bytes ${stats.bytes} over 2000 after operation ${i}`);
      }
      assert.ok((await tier.stats()).entries > 0);
    });

    test('a prefetched entry is stored, served, and counted as used on its first get', async () => {
      const tier = await makeTier({ maxBytes: 10_000 });
      const key = `${prefix()}pf`;
      assert.equal(await tier.set(makeEntry(key, { source: 'prefetch', probability: 0.6, sizeBytes: 10 })), true);
      const got = await tier.get(key);
      assert.equal(got?.source, 'prefetch');
      assert.ok(got !== undefined && got.hits >= 1);
    });
  });
}
