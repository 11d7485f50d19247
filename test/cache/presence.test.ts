import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import type { Entry } from '../../src/cache/entry.ts';
import { MemoryTier } from '../../src/cache/memory-tier.ts';
import { Presence } from '../../src/cache/presence.ts';
import { AbsentKeys } from '../../src/cache/absent-keys.ts';
import { Feedback } from '../../src/prefetch/feedback.ts';
import { PrefetchScheduler, type PrefetchRequest } from '../../src/prefetch/prefetch-scheduler.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

function entry(key: string, staleAt = Infinity): Entry<string> {
  return { key, value: key, version: 1, sizeBytes: 1, createdAt: 0, staleAt, expiresAt: Infinity, source: 'demand', probability: 1, tags: [], hits: 0 };
}

/** Keys held after a seeded run of sets, reads and `act` on every fifth step: what the touches did to eviction. */
function run(seed: number, act: (tier: MemoryTier<string>, key: string, now: number) => void): string[] {
  const tier = new MemoryTier<string>({ maxBytes: 40, seed: 1 });
  const random = seededRandom(seed);
  for (let i = 0; i < 3000; i++) {
    const key = `k${Math.floor(random() * 120)}`;
    // Keys ending in 7 are stored stale at 1000: touchIfFresh must leave those alone after then.
    if (i % 5 === 0) act(tier, key, i);
    else if (tier.get(key) === undefined) tier.set(entry(key, key.endsWith('7') ? 1000 : Infinity));
  }
  return [...tier.keys()].sort();
}

describe('MemoryTier.touchIfFresh', () => {
  test('touches exactly as touch does a fresh entry, and leaves a stale one as it is', () => {
    for (const seed of [1, 2, 3]) {
      const viaTouch = run(seed, (tier, key, now) => {
        if (tier.peek(key) !== undefined && now < tier.peek(key)!.staleAt) tier.touch(key);
      });
      const viaTouchIfFresh = run(seed, (tier, key, now) => {
        tier.touchIfFresh(key, now);
      });
      const untouched = run(seed, () => {});
      assert.deepEqual(viaTouchIfFresh, viaTouch);
      assert.notDeepEqual(viaTouch, untouched, 'the touches changed what was evicted');
    }
  });

  test('answers true (fresh), false (held, stale) and undefined (not held)', () => {
    const tier = new MemoryTier<string>({ maxBytes: 10 });
    tier.set(entry('fresh'));
    tier.set(entry('stale', 5));
    assert.equal(tier.touchIfFresh('fresh', 10), true);
    assert.equal(tier.touchIfFresh('stale', 10), false);
    assert.equal(tier.touchIfFresh('stale', 4), true);
    assert.equal(tier.touchIfFresh('missing', 10), undefined);
  });
});

describe('Presence', () => {
  test('touchIfPresent answers what isPresent answers: fresh, in flight, known absent', () => {
    const clock = new VirtualClock(0);
    const tier = new MemoryTier<string>({ maxBytes: 10 });
    tier.set(entry('fresh'));
    tier.set(entry('stale', 5));
    const flying = new Set(['flying', 'stale']);
    const absent = new AbsentKeys(1000, 100);
    absent.add('gone', 0);
    const presence = new Presence({ flight: (key) => (flying.has(key) ? {} : undefined) }, tier, absent, clock);
    clock.advanceTo(10);
    for (const key of ['fresh', 'stale', 'flying', 'gone', 'missing']) {
      assert.equal(presence.touchIfPresent(key), presence.isPresent(key), key);
    }
    assert.deepEqual(['fresh', 'stale', 'flying', 'gone', 'missing'].map((k) => presence.isPresent(k)), [true, true, true, true, false]);
  });
});

describe('PrefetchScheduler with touchIfPresent', () => {
  test('looks each predicted key up once, and touches the present ones', () => {
    const present = new Set(['a', 'c']);
    const lookups: string[] = [];
    const touched: string[] = [];
    const sent: string[] = [];
    const target = {
      isPresent: (key: string) => (lookups.push(key), present.has(key)),
      touch: (key: string) => void touched.push(key),
      touchIfPresent: (key: string) => {
        lookups.push(key);
        if (present.has(key)) touched.push(key);
        return present.has(key);
      },
      fetch: (batch: readonly PrefetchRequest[]) => (sent.push(...batch.map((r) => r.key)), Promise.resolve({ failed: [] })),
    };
    const scheduler = new PrefetchScheduler({ target, clock: new VirtualClock(0), feedback: new Feedback(), targetPrecision: 0, minProbability: 0.1 });
    scheduler.offer({ session: 's' }, ['a', 'b', 'c', 'd'].map((key, i) => ({ key, probability: i === 3 ? 0.01 : 0.9 })));
    // Once each while offered (it was twice for 'b', present-for-touch then present-to-skip), and once more for 'b'
    // when the pump sends it (time may have passed since the offer).
    assert.deepEqual(lookups, ['a', 'b', 'c', 'd', 'b']);
    assert.deepEqual(touched, ['a', 'c']);
    assert.deepEqual(sent, ['b']);
  });
});
