/**
 * A demand entry bigger than the room prefetches leave costs prefetches only when TinyLFU admits it: the tier asks
 * admission before it evicts them (memory-tier.ts `#evict`, window-tiny-lfu.ts `wouldEvict`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Entry, RemovalCause } from '../../src/cache/entry.ts';
import { MemoryTier } from '../../src/cache/memory-tier.ts';
import { NodeTable } from '../../src/cache/node-table.ts';
import { PrefetchRegion } from '../../src/cache/prefetch-region.ts';
import { WindowTinyLfu } from '../../src/cache/window-tiny-lfu.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';
import { entry, extra, prefetch } from '../doubles/tier-entries.ts';

type Removal = { key: string; source: string; hits: number; cause: RemovalCause };

/**
 * A tier of 1,000 bytes: 80 demand entries of 10 bytes, each read `reads` times (the sketch counts them, probation
 * hits promote), then 10 prefetches of 10 bytes (the whole 10% share). Removals are recorded from then on.
 */
function fullTier(reads: number): { tier: MemoryTier<string>; removals: Removal[] } {
  const removals: Removal[] = [];
  let isRecording = false;
  const onRemoval = (e: Entry<string>, cause: RemovalCause): void => {
    if (isRecording) removals.push({ key: e.key, source: e.source, hits: e.hits, cause });
  };
  const tier = new MemoryTier<string>({ maxBytes: 1000, prefetchFraction: 0.1, onRemoval });
  for (let i = 0; i < 80; i++) tier.set(entry(`d${i}`, { sizeBytes: 10 }));
  for (let round = 0; round < reads; round++) for (let i = 0; i < 80; i++) tier.get(`d${i}`);
  for (let i = 0; i < 10; i++) tier.set(prefetch(`p${i}`, { sizeBytes: 10 }));
  assert.equal(tier.size, 90);
  assert.equal(extra(tier, 'prefetchBytes'), 100);
  isRecording = true;
  return { tier, removals };
}

const prefetchKeys = (tier: MemoryTier<string>): string[] => [...tier.keys()].filter((k) => k.startsWith('p')).sort();

describe('MemoryTier admission before prefetches make room', () => {
  test('a big demand entry the sketch refuses costs no prefetch and no other entry', () => {
    const { tier, removals } = fullTier(3);
    const before = prefetchKeys(tier);
    assert.ok(tier.frequency('big') < tier.frequency('d0'), 'the sketch ranks the newcomer below every held entry');
    assert.equal(tier.set(entry('big', { sizeBytes: 950 })), false, 'TinyLFU refuses it');
    assert.equal(tier.has('big'), false);
    assert.deepEqual(prefetchKeys(tier), before, 'every prefetch is still held');
    assert.equal(extra(tier, 'prefetchBytes'), 100);
    assert.equal(tier.size, 90, 'and every demand entry');
    assert.deepEqual(removals, [{ key: 'big', source: 'demand', hits: 0, cause: 'evicted' }]);
    assert.equal(extra(tier, 'prefetchEvictedUnused'), 0);
    assert.ok(tier.bytes <= 1000);
  });

  test('a refused demand entry replacing a held one in place costs no prefetch', () => {
    const { tier, removals } = fullTier(3);
    // Grown to 950 bytes, d0 leaves protected for probation, where it is the first victim once the window is gone.
    assert.equal(tier.set(entry('d0', { version: 2, sizeBytes: 950 })), false);
    assert.equal(tier.has('d0'), false);
    assert.equal(extra(tier, 'prefetchBytes'), 100, 'the prefetches stay');
    assert.equal(tier.size, 89, 'and the other demand entries');
    assert.deepEqual(
      removals.map((r) => `${r.key} ${r.cause}`),
      ['d0 replaced', 'd0 evicted'],
    );
    assert.ok(tier.bytes <= 1000);
  });

  test('a big demand entry the sketch admits still evicts prefetches, in victim order, until it fits', () => {
    // Unread demand entries (none protected): once admitted, the entry outlives the probation victims it needs gone.
    const { tier } = fullTier(0);
    for (let i = 0; i < 3; i++) tier.get('big'); // misses count in the sketch
    assert.ok(tier.frequency('big') > tier.frequency('d0'));
    assert.equal(tier.set(entry('big', { sizeBytes: 950 })), true);
    assert.ok(tier.has('big'));
    assert.equal(extra(tier, 'prefetchBytes'), 50, 'prefetches went only until the entry fit');
    assert.ok(tier.bytes <= 1000);
  });

  test('over random workloads, a demand set that is refused never evicts a prefetch', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      const removals: Removal[] = [];
      const tier = new MemoryTier<string>({ maxBytes: 1000, prefetchFraction: 0.2, seed, onRemoval: (e, cause) => removals.push({ key: e.key, source: e.source, hits: e.hits, cause }) });
      let refused = 0;
      // Demand stored stays under the 8 capacities after which an unused prefetch may leave for any demand entry.
      let demandBytes = 0;
      while (demandBytes < 7000) {
        const r = random();
        const key = `k${Math.floor(random() * 60)}`;
        if (r < 0.35) tier.get(key);
        else if (r < 0.65) tier.set(prefetch(`p${Math.floor(random() * 200)}`, { sizeBytes: 1 + Math.floor(random() * 30), probability: random() }));
        else {
          const sizeBytes = random() < 0.15 ? 700 + Math.floor(random() * 290) : 1 + Math.floor(random() * 40);
          demandBytes += sizeBytes;
          removals.length = 0;
          const held = tier.set(entry(key, { sizeBytes, version: demandBytes }));
          if (!held) {
            refused++;
            const lost = removals.filter((x) => x.source === 'prefetch' && x.hits === 0);
            assert.deepEqual(lost, [], `seed ${seed}: refused ${key} (${sizeBytes} bytes) cost prefetches`);
          }
        }
        assert.ok(tier.bytes <= 1000, `seed ${seed}: ${tier.bytes} bytes held`);
      }
      assert.ok(refused > 0, `seed ${seed}: the workload refused some demand entry`);
    }
  });

  test('the prefetch plan and the admission trial foresee exactly what evicting then does', () => {
    let refusals = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const random = seededRandom(seed);
      const table = new NodeTable<string>();
      const region = new PrefetchRegion<string>({ table, capacityBytes: 1000, fraction: 0.5, adaptive: false });
      const evicted: number[] = [];
      const main = new WindowTinyLfu<string>({ table, maxBytes: 1000, initialWindowFraction: random(), adaptive: true, seed, onEvict: (slot) => evicted.push(slot) });
      const size = (): number => (seed % 2 === 0 ? 1 + random() * 40 : 1 + Math.floor(random() * 40));
      const slots: number[] = [];
      for (let i = 0; i < 60; i++) {
        const slot = table.allocate(entry(`d${i}`, { sizeBytes: size() }), Math.floor(random() * 2 ** 31));
        for (let n = Math.floor(random() * 4); n > 0; n--) main.recordMiss(table.hash(slot));
        main.add(slot);
        slots.push(slot);
        if (random() < 0.3) main.recordHit(slots[Math.floor(random() * slots.length)]);
        main.evict(700);
      }
      for (let i = 0; i < 25; i++) region.add(table.allocate(prefetch(`p${i}`, { sizeBytes: size(), probability: random() }), 0));
      for (let i = 0; i < 5; i++) region.victim(); // may leave the oldest spared

      const demandBytes = 500 + random() * 400;
      const planned = region.bytesAfterRoomFor(demandBytes, 1000);
      while (demandBytes > 1000 - region.bytes && region.length > 0) region.remove(region.victim());
      assert.equal(region.bytes, planned, `seed ${seed}: the plan left the bytes the victims left`);

      const newcomer = table.allocate(entry('new', { sizeBytes: demandBytes }), Math.floor(random() * 2 ** 31));
      for (let n = Math.floor(random() * 6); n > 0; n--) main.recordMiss(table.hash(newcomer));
      main.add(newcomer);
      const candidate = main.overflowWindow();
      evicted.length = 0;
      const bytes = main.bytes;
      const isForeseen = main.wouldEvict(newcomer, candidate, 1000 - planned);
      assert.deepEqual([evicted.length, main.bytes], [0, bytes], 'the trial evicted nothing');
      main.evict(1000 - planned, candidate);
      assert.equal(evicted.includes(newcomer), isForeseen, `seed ${seed}`);
      if (isForeseen) refusals++;
    }
    assert.ok(refusals > 0 && refusals < 200, `${refusals} of 200 refused: both answers were checked`);
  });
});
