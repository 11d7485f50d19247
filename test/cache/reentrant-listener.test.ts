import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { createEntry, type Entry, type RemovalCause } from '../../src/cache/entry.ts';
import { MemoryTier } from '../../src/cache/memory-tier.ts';
import { VirtualClock } from '../../src/clock.ts';
import { FunctionOrigin } from '../../src/origin/function-origin.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

/** Bytes and entries the tier reports against what it holds, key by key. */
function checkBounds(tier: MemoryTier<string>, keys: readonly string[], where: string): void {
  let sum = 0;
  let count = 0;
  for (const key of keys) {
    const e = tier.peek(key);
    if (e === undefined) continue;
    assert.equal(e.key, key, `${where}: the entry held under ${key} is ${e.key}'s`);
    sum += e.sizeBytes;
    count++;
  }
  assert.ok(tier.bytes <= tier.maxBytes, `${where}: ${tier.bytes} bytes held, maxBytes ${tier.maxBytes}`);
  assert.equal(tier.bytes, sum, `${where}: bytes counted ${tier.bytes}, held ${sum}`);
  assert.equal(tier.size, count, `${where}: size ${tier.size}, held ${count}`);
}

describe('MemoryTier: an onRemoval listener that calls back into the tier', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`finds the tier consistent, and the byte bound holds (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      const pick = (): string => keys[Math.floor(random() * keys.length)];
      const entry = (key: string, prefetch: boolean): Entry<string> =>
        createEntry({
          key, value: 'v', version: 1, sizeBytes: 10 + Math.floor(random() * 90), now: 0, ttlMs: Infinity, staleAfterMs: Infinity,
          prediction: prefetch ? { probability: random(), source: 'test', ctx: {} } : undefined,
        });
      const heard: RemovalCause[] = [];
      let nested = 0;
      const tier: MemoryTier<string> = new MemoryTier<string>({
        maxBytes: 1500,
        prefetchFraction: 0.3,
        onRemoval: (_entry, cause) => {
          heard.push(cause);
          // Every call lands in the middle of another operation's eviction when the tier calls at once.
          checkBounds(tier, keys, 'inside the listener');
          if (nested++ > 20_000) return;
          const r = random();
          if (r < 0.4) tier.get(pick());
          else if (r < 0.6) tier.delete(pick());
          else tier.set(entry(pick(), r < 0.8));
        },
      });
      for (let step = 0; step < 3000; step++) {
        const r = random();
        if (r < 0.4) tier.set(entry(pick(), true));
        else if (r < 0.7) tier.get(pick());
        else tier.set(entry(pick(), false));
        checkBounds(tier, keys, `step ${step}`);
      }
      assert.ok(heard.includes('evicted') && nested > 1000, `${nested} listener calls, causes ${[...new Set(heard)].join(', ')}`);
    });
  }

  test('an exception from the listener reaches the operation once the tier is consistent', () => {
    const tier: MemoryTier<string> = new MemoryTier<string>({
      maxBytes: 2,
      onRemoval: () => {
        throw new Error('listener failed');
      },
    });
    const make = (key: string) => createEntry({ key, value: key, version: 1, sizeBytes: 1, now: 0, ttlMs: Infinity, staleAfterMs: Infinity });
    tier.set(make('a'));
    tier.set(make('b'));
    assert.throws(() => tier.set(make('c')), /listener failed/);
    assert.equal(tier.size, 2);
    assert.equal(tier.bytes, 2);
    assert.ok(tier.peek('c') !== undefined || tier.peek('b') !== undefined);
  });
});

describe('Cache: an event listener that reads the cache', () => {
  test('a prefetch:wasted listener reading the key being stored breaks neither the byte bound nor later reads', async () => {
    const clock = new VirtualClock(0);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const value = 'x'.repeat(100); // about 280 bytes by the default estimate: three fit, one prefetch in the share
    const origin = new FunctionOrigin<string>({
      getMany: (asked) => new Promise((resolve) => clock.setTimer(1, () => resolve(asked.map((key) => ({ key, value, version: 1 }))))),
    });
    const cache = new Cache<string>({ origin, clock, maxBytes: 1000, memory: { prefetchFraction: 0.5 } });
    const check = (where: string): void => {
      let sum = 0;
      for (const key of keys) sum += cache.peek(key)?.sizeBytes ?? 0;
      const memory = cache.stats().memory;
      assert.ok(memory.bytes <= 1000 && memory.bytes === sum, `${where}: ${memory.bytes} bytes counted, ${sum} held`);
    };
    const wasted: string[] = [];
    cache.on('prefetch:wasted', (event) => {
      wasted.push(event.key);
      cache.getIfPresent('b'); // the key whose arrival evicted the wasted one, not in any region yet when told at once
    });
    const read = async (key: string): Promise<void> => {
      const pending = cache.get(key);
      await clock.advanceAsync(1);
      assert.equal((await pending).value, value, `read of ${key}`);
    };
    cache.prefetch(['a']);
    await clock.advanceAsync(1);
    cache.prefetch(['b']);
    await clock.advanceAsync(1);
    assert.deepEqual(wasted, ['a']);
    check('after the prefetch of b');
    for (const key of ['c', 'd', 'e', 'f', 'b']) {
      await read(key);
      check(`after reading ${key}`);
    }
    for (let round = 0; round < 3; round++) {
      for (const key of keys) {
        cache.prefetch([key]);
        await clock.advanceAsync(1);
        await read(key);
        check(`round ${round}, key ${key}`);
      }
    }
    await cache.close();
  });
});
