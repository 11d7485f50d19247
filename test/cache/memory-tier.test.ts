import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEntry, type Entry, type RemovalCause } from '../../src/cache/entry.ts';
import { MemoryTier, type MemoryTierOptions } from '../../src/cache/memory-tier.ts';
import { entry, extra, prefetch } from '../doubles/tier-entries.ts';
import { seededRandom as random } from '../../src/sim/seeded-random.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { tierContract } from '../contracts/tier.contract.ts';

tierContract('MemoryTier', ({ maxBytes }) => new MemoryTier({ maxBytes, clock: new VirtualClock(0) }));


describe('MemoryTier', () => {
  test('answers synchronously, never with a promise', () => {
    const tier = new MemoryTier<string>({ maxBytes: 100 });
    for (const result of [tier.set(entry('a')), tier.get('a'), tier.getMany(['a']), tier.stats(), tier.delete('a'), tier.clear()]) {
      assert.ok(!(result instanceof Promise));
    }
  });

  test('holds at most maxBytes through a churn of a million distinct keys with random sizes', () => {
    const maxBytes = 50_000;
    const tier = new MemoryTier<string>({ maxBytes, seed: 3 });
    const rand = random(1);
    for (let i = 0; i < 1_000_000; i++) {
      const key = `k${i}`;
      const sizeBytes = 1 + Math.floor(rand() * 2_000);
      if (rand() < 0.2) tier.set(prefetch(key, { sizeBytes, probability: rand() }));
      else tier.set(entry(key, { sizeBytes }));
      if (rand() < 0.3) tier.get(`k${Math.floor(rand() * (i + 1))}`);
      if (tier.bytes > maxBytes) assert.fail(`bytes ${tier.bytes} over ${maxBytes} after key ${i}`);
    }
    let sum = 0;
    for (const e of tier.entries()) sum += e.sizeBytes;
    assert.equal(sum, tier.bytes, 'byte count matches the entries held');
    assert.equal([...tier.keys()].length, tier.size);
    assert.ok(tier.size > 0);
  });

  test('hits on a key whose sketch counters saturated count again once the sketch halved them', () => {
    const tier = new MemoryTier<string>({ maxBytes: 64, adaptive: false });
    tier.set(entry('hot'));
    for (let i = 0; i < 40; i++) tier.get('hot');
    assert.equal(tier.frequency('hot'), 15);
    // Misses on keys never stored count in the sketch until it halves (1,800 additions: the floor of a small tier).
    let i = 0;
    while (tier.frequency('hot') === 15) tier.get(`absent${i++}`);
    const halved = tier.frequency('hot');
    assert.ok(halved <= 8, `estimate ${halved} after the halving`);
    tier.get('hot');
    tier.get('hot');
    assert.equal(tier.frequency('hot'), halved + 2);
  });

  test('a small tier keeps its frequency counts over at least 1,800 accesses (not 10 x its capacity)', () => {
    // At 10 x 29 = 290 accesses a period, counts rarely reached 2 and the window climbed on noise (yoochoose at 1%).
    const tier = new MemoryTier<string>({ maxBytes: 29, adaptive: false });
    tier.set(entry('hot'));
    for (let i = 0; i < 40; i++) tier.get('hot');
    assert.equal(tier.frequency('hot'), 15);
    for (let i = 0; i < 1_700; i++) tier.get(`absent${i}`);
    assert.equal(tier.frequency('hot'), 15, 'not halved after 1,700 accesses');
    for (let i = 1_700; i < 1_900; i++) tier.get(`absent${i}`);
    assert.ok(tier.frequency('hot') <= 8, 'halved by 1,900 accesses');
  });

  test('a key stored in the slot of a saturated key that left counts its own hits', () => {
    const tier = new MemoryTier<string>({ maxBytes: 64, adaptive: false });
    tier.set(entry('old'));
    for (let i = 0; i < 40; i++) tier.get('old');
    tier.delete('old');
    tier.set(entry('new'));
    const before = tier.frequency('new');
    for (let i = 0; i < 3; i++) tier.get('new');
    assert.equal(tier.frequency('new'), before + 3);
  });

  test('a demand-only workload uses the whole capacity (the prefetch share is lent, not wasted)', () => {
    const tier = new MemoryTier<string>({ maxBytes: 100, prefetchFraction: 0.2 });
    for (let i = 0; i < 100; i++) tier.set(entry(`d${i}`));
    assert.equal(tier.size, 100);
    assert.equal(tier.bytes, 100);
  });

  test('prefetches wait in the prefetch region and never evict demand entries held within the demand share', () => {
    const removed: Array<[string, RemovalCause]> = [];
    const tier = new MemoryTier<string>({ maxBytes: 1_000, prefetchFraction: 0.1, onRemoval: (e, cause) => removed.push([e.key, cause]) });
    for (let i = 0; i < 90; i++) tier.set(entry(`demand${i}`, { sizeBytes: 10 }));
    for (let i = 0; i < 500; i++) tier.set(prefetch(`pf${i}`, { sizeBytes: 10 }));
    for (let i = 0; i < 90; i++) assert.ok(tier.has(`demand${i}`), `demand${i} was evicted`);
    assert.ok(extra(tier, 'prefetchBytes') <= 100);
    assert.ok(tier.bytes <= 1_000);
    assert.ok(removed.every(([key]) => key.startsWith('pf')));
  });

  test('arriving prefetches take back at most their share from demand entries that borrowed it', () => {
    const tier = new MemoryTier<string>({ maxBytes: 1_000, prefetchFraction: 0.1 });
    for (let i = 0; i < 100; i++) tier.set(entry(`demand${i}`, { sizeBytes: 10 }));
    for (let i = 0; i < 500; i++) tier.set(prefetch(`pf${i}`, { sizeBytes: 10 }));
    let demandBytes = 0;
    for (const e of tier.entries()) if (e.source === 'demand') demandBytes += e.sizeBytes;
    assert.equal(demandBytes, 900);
    assert.equal(extra(tier, 'prefetchBytes'), 100);
  });

  test('a first hit moves a prefetched entry to main and frees room in the prefetch region', () => {
    const removed: Array<[string, RemovalCause]> = [];
    const tier = new MemoryTier<string>({ maxBytes: 1_000, prefetchFraction: 0.1, onRemoval: (e, cause) => removed.push([e.key, cause]) });
    for (let i = 0; i < 10; i++) tier.set(prefetch(`pf${i}`, { sizeBytes: 10 }));
    assert.equal(extra(tier, 'prefetchBytes'), 100);
    const used = tier.get('pf3');
    assert.equal(used?.hits, 1);
    assert.equal(extra(tier, 'prefetchBytes'), 90);
    assert.equal(extra(tier, 'prefetchHits'), 1);
    assert.equal(extra(tier, 'windowBytes') + extra(tier, 'probationBytes') + extra(tier, 'protectedBytes'), 10);
    assert.equal(tier.set(prefetch('pf10', { sizeBytes: 10 })), true);
    assert.deepEqual(removed, [], 'the new prefetch fit without evicting another');
    assert.ok(tier.has('pf3'));
  });

  test('onDisplacedMiss tells a miss on a key the demand regions evicted recently while prefetches held room, not one never held nor a wasted prefetch', () => {
    let displaced = 0;
    const evicted: string[] = [];
    const tier = new MemoryTier<string>({
      maxBytes: 100,
      prefetchFraction: 0.1,
      onRemoval: (e, cause) => cause === 'evicted' && evicted.push(e.key),
      onDisplacedMiss: () => displaced++,
    });
    for (let i = 0; i < 5; i++) tier.set(prefetch(`held${i}`)); // unused prefetches hold room while demand evicts
    for (let i = 0; i < 200; i++) tier.set(entry(`d${i}`));
    assert.equal(tier.has('held0'), true);
    const demandVictim = evicted.filter((k) => k.startsWith('d')).at(-1)!;
    assert.equal(tier.get('never-held'), undefined);
    assert.equal(displaced, 0);
    assert.equal(tier.get(demandVictim), undefined);
    assert.equal(displaced, 1, `${demandVictim} left the demand regions moments ago`);
    assert.equal(tier.get(demandVictim), undefined);
    assert.equal(displaced, 1, 'counted once');
    for (let i = 0; i < 40; i++) tier.set(prefetch(`pf${i}`));
    const prefetchVictim = evicted.filter((k) => k.startsWith('pf')).at(-1)!;
    assert.equal(tier.get(prefetchVictim), undefined);
    assert.equal(displaced, 1, 'a wasted prefetch is no demand entry displaced');
  });

  test('onRemoval reports unused prefetches evicted from the prefetch region', () => {
    const removed: Array<[Entry<string>, RemovalCause]> = [];
    const tier = new MemoryTier<string>({ maxBytes: 1_000, prefetchFraction: 0.1, onRemoval: (e, cause) => removed.push([e, cause]) });
    for (let i = 0; i < 15; i++) tier.set(prefetch(`pf${i}`, { sizeBytes: 10 }));
    assert.equal(removed.length, 5);
    for (const [e, cause] of removed) {
      assert.equal(cause, 'evicted');
      assert.equal(e.source, 'prefetch');
      assert.equal(e.hits, 0);
    }
    assert.equal(extra(tier, 'prefetchEvictedUnused'), 5);
  });

  test('the prefetch region evicts the least probable of its oldest entries first', () => {
    const removed: string[] = [];
    const tier = new MemoryTier<string>({ maxBytes: 100, prefetchFraction: 0.04, onRemoval: (e) => removed.push(e.key) });
    tier.set(prefetch('old-likely', { probability: 0.9 }));
    tier.set(prefetch('unlikely', { probability: 0.1 }));
    tier.set(prefetch('likely', { probability: 0.8 }));
    tier.set(prefetch('fair', { probability: 0.7 }));
    tier.set(prefetch('new', { probability: 0.5 }));
    assert.deepEqual(removed, ['unlikely']);
    tier.set(prefetch('newer', { probability: 0.5 }));
    assert.deepEqual(removed, ['unlikely', 'old-likely'], 'the oldest is spared only once');
  });

  test('the window grows after a recency-heavy stream', () => {
    const tier = new MemoryTier<string>({ maxBytes: 200, seed: 5, initialWindowFraction: 0.01 });
    assert.equal(extra(tier, 'windowFraction'), 0.01);
    const rand = random(9);
    let next = 0;
    for (let i = 0; i < 200_000; i++) {
      // Mostly re-reads of the last ~150 distinct keys, most recent first; a fifth are new keys.
      const key = rand() < 0.2 || next < 150 ? next++ : next - 1 - Math.floor(150 * rand() * rand());
      if (tier.get(`r${key}`) === undefined) tier.set(entry(`r${key}`));
    }
    assert.ok(extra(tier, 'windowFraction') > 0.2, `window fraction ${extra(tier, 'windowFraction')}`);
  });

  test('the window stays fixed when adaptive is off', () => {
    const tier = new MemoryTier<string>({ maxBytes: 200, adaptive: false, initialWindowFraction: 0.01 });
    for (let i = 0; i < 20_000; i++) if (tier.get(`k${i % 300}`) === undefined) tier.set(entry(`k${i % 300}`));
    assert.equal(extra(tier, 'windowFraction'), 0.01);
  });

  test('frequent keys survive a scan of one-hit keys (TinyLFU admission)', () => {
    const tier = new MemoryTier<string>({ maxBytes: 100, adaptive: false, initialWindowFraction: 0.01 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 50; i++) if (tier.get(`hot${i}`) === undefined) tier.set(entry(`hot${i}`));
    }
    for (let i = 0; i < 10_000; i++) if (tier.get(`scan${i}`) === undefined) tier.set(entry(`scan${i}`));
    let kept = 0;
    for (let i = 0; i < 50; i++) if (tier.has(`hot${i}`)) kept++;
    assert.ok(kept >= 45, `only ${kept} of 50 hot keys kept`);
  });

  test('expired entries are not returned by get but are by get(key, true), and are kept', () => {
    const clock = new VirtualClock(0);
    const tier = new MemoryTier<string>({ maxBytes: 100, clock });
    tier.set(entry('e', { staleAt: 50, expiresAt: 100 }));
    assert.equal(tier.get('e')?.key, 'e');
    clock.advance(100);
    assert.equal(tier.get('e'), undefined);
    assert.equal(tier.get('e', true)?.key, 'e');
    assert.ok(tier.has('e'));
  });

  test('hit answers fresh entries from the columns, counted into entry.hits; stale entries and first uses go to get', () => {
    const answer = (key: string, value: string, version: number) => ({ key, value, version });
    for (const [name, a] of [['plain', createEntry({ key: 'a', value: 'A', version: 3, sizeBytes: 1, now: 0, ttlMs: 100, staleAfterMs: 50 })], ['kept whole', entry('a', { value: 'A', version: 3, staleAt: 50, expiresAt: 100 })]] as const) {
      const clock = new VirtualClock(0);
      const removed: Array<[string, number]> = [];
      const tier = new MemoryTier<string>({ maxBytes: 100, clock, onRemoval: (e) => removed.push([e.key, e.hits]) });
      tier.set(a);
      assert.equal(tier.hit('b', answer), undefined, `${name}: not held`);
      for (let i = 0; i < 5; i++) assert.deepEqual(tier.hit('a', answer), { key: 'a', value: 'A', version: 3 }, name);
      assert.equal(tier.stats().hits, 5, `${name}: each hit counted`);
      assert.equal(tier.peek('a')?.hits, 5, `${name}: peek shows the hits`);
      assert.equal(tier.get('a')?.hits, 6, name);
      clock.advance(50);
      assert.equal(tier.hit('a', answer), undefined, `${name}: stale, left to get`);
      assert.equal(tier.peek('a')?.hits, 6, `${name}: and not counted`);
      clock.advance(-50);
      tier.set(entry('a', { value: 'B', version: 4 }));
      assert.deepEqual(tier.hit('a', answer), { key: 'a', value: 'B', version: 4 }, `${name}: the new version answers`);
      tier.delete('a');
      assert.deepEqual(removed, [['a', 6], ['a', 1]], `${name}: entries leave with their hits counted`);
    }
    const tier = new MemoryTier<string>({ maxBytes: 100, clock: new VirtualClock(0) });
    for (const p of [prefetch('p'), createEntry({ key: 'p', value: 'P', version: 1, sizeBytes: 1, now: 0, ttlMs: 100, staleAfterMs: 100, prediction: { probability: 0.5, source: 'm', ctx: {} } })]) {
      tier.set(p);
      assert.equal(tier.hit('p', answer), undefined, 'an unused prefetch: its first use goes through get');
      assert.equal(tier.get('p')?.hits, 1);
      assert.equal(tier.hit('p', answer)?.key, 'p', 'used: plain hits from then on');
      tier.delete('p');
    }
  });

  test('an expired entry leaving the tier is reported as expired', () => {
    const clock = new VirtualClock(0);
    const causes: RemovalCause[] = [];
    const tier = new MemoryTier<string>({ maxBytes: 2, clock, onRemoval: (_e, cause) => causes.push(cause) });
    tier.set(entry('a', { expiresAt: 10 }));
    clock.advance(20);
    for (const key of ['b', 'c']) {
      assert.equal(tier.get(key), undefined);
      tier.set(entry(key));
    }
    assert.deepEqual(causes, ['expired']);
    assert.equal(tier.has('a'), false);
  });

  test('onRemoval reports replacements, rejections and deletes', () => {
    const events: Array<[string, RemovalCause]> = [];
    const tier = new MemoryTier<string>({ maxBytes: 100, onRemoval: (e, cause) => events.push([`${e.key}@${e.version}`, cause]) });
    tier.set(entry('a', { version: 2 }));
    tier.set(entry('a', { version: 1 }));
    tier.set(entry('a', { version: 3 }));
    tier.set(entry('huge', { sizeBytes: 101 }));
    tier.delete('a');
    assert.deepEqual(events, [['a@1', 'rejected'], ['a@2', 'replaced'], ['huge@1', 'rejected'], ['a@3', 'deleted']]);
  });

  test('a prefetch of a key held as a demand entry refreshes it in place', () => {
    const tier = new MemoryTier<string>({ maxBytes: 100 });
    tier.set(entry('a', { value: 'v1' }));
    tier.set(prefetch('a', { value: 'v2', version: 2 }));
    assert.equal(tier.peek('a')?.value, 'v2');
    assert.equal(extra(tier, 'prefetchBytes'), 0);
  });

  test('a prefetch larger than the prefetch share is rejected', () => {
    const tier = new MemoryTier<string>({ maxBytes: 100, prefetchFraction: 0.1 });
    assert.equal(tier.set(prefetch('big', { sizeBytes: 11 })), false);
    assert.equal(tier.set(entry('big', { sizeBytes: 11 })), true, 'as a demand entry it fits');
  });

  test('prefetchFraction 0 refuses prefetches', () => {
    const tier = new MemoryTier<string>({ maxBytes: 100, prefetchFraction: 0 });
    assert.equal(tier.set(prefetch('p')), false);
    assert.equal(tier.has('p'), false);
  });

  test('peek, has, keys, entries and frequency have no side effects', () => {
    const tier = new MemoryTier<string>({ maxBytes: 100 });
    tier.set(entry('a'));
    const before = tier.stats();
    assert.equal(tier.peek('a')?.hits, 0);
    assert.equal(tier.has('a'), true);
    assert.deepEqual([...tier.keys()], ['a']);
    assert.deepEqual([...tier.entries()].map((e) => e.key), ['a']);
    tier.frequency('a');
    assert.deepEqual(tier.stats(), before);
    assert.equal(tier.peek('a')?.hits, 0);
  });

  test('frequency rises with gets', () => {
    const tier = new MemoryTier<string>({ maxBytes: 100 });
    tier.set(entry('a'));
    const start = tier.frequency('a');
    tier.get('a');
    tier.get('a');
    assert.equal(tier.frequency('a'), start + 2);
    tier.get('missing');
    assert.equal(tier.frequency('missing'), 1, 'misses count too');
  });

  test('an onRemoval that throws leaves the tier consistent and the error surfaces', () => {
    const tier = new MemoryTier<string>({ maxBytes: 2, onRemoval: () => { throw new Error('listener broke'); } });
    tier.set(entry('a'));
    tier.set(entry('b'));
    assert.throws(() => tier.set(entry('c')), /listener broke/);
    assert.ok(tier.bytes <= 2);
    assert.equal(tier.size, 2);
  });

  test('bad options throw ERR_INVALID_OPTION naming the option', () => {
    const cases: Array<[Partial<MemoryTierOptions<string>>, string]> = [
      [{}, 'maxBytes'],
      [{ maxBytes: 0 }, 'maxBytes'],
      [{ maxBytes: -1 }, 'maxBytes'],
      [{ maxBytes: 1.5 }, 'maxBytes'],
      [{ maxBytes: 10, prefetchFraction: 0.9 }, 'prefetchFraction'],
      [{ maxBytes: 10, prefetchFraction: -0.1 }, 'prefetchFraction'],
      [{ maxBytes: 10, initialWindowFraction: 2 }, 'initialWindowFraction'],
      [{ maxBytes: 10, adaptive: 'yes' as unknown as boolean }, 'adaptive'],
      [{ maxBytes: 10, seed: 0.5 }, 'seed'],
      [{ maxBytes: 10, clock: {} as VirtualClock }, 'clock'],
      [{ maxBytes: 10, onRemoval: 5 as unknown as () => void }, 'onRemoval'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => new MemoryTier(options as MemoryTierOptions<string>),
        (error: unknown) => isPrescientError(error, 'ERR_INVALID_OPTION') && (error as { option?: string }).option === option,
        `expected ${option} to be named for ${JSON.stringify(options)}`,
      );
    }
  });
});

describe('MemoryTier prefetch share (ghost balancing)', () => {
  test('grows when prefetches evicted unused are read soon after, and shrinks when evicted demand entries are', () => {
    const tier = new MemoryTier<string>({ maxBytes: 1_000, prefetchFraction: 0.05, initialWindowFraction: 0.99 });
    const share = (): number => tier.stats().extra?.prefetchMaxBytes as number;
    assert.equal(share(), 50);
    // Each prefetch is read 60 prefetches later: a region of 50 has just pushed it out.
    for (let i = 0; i < 400; i++) {
      tier.set(prefetch(`p${i}`));
      if (i >= 60) tier.get(`p${i - 60}`);
    }
    const grown = share();
    assert.ok(grown > 50, `share ${grown} grew from 50`);
    // Demand entries are re-read just after eviction: the share gives room back to demand.
    for (let i = 0; i < 5000; i++) {
      tier.set(entry(`d${i}`));
      if (i >= 1000) tier.get(`d${i - 1000}`);
    }
    assert.ok(share() < grown, `share ${share()} shrank from ${grown}`);
    assert.ok(tier.bytes <= 1_000);
  });

  test('an unused prefetch that outlived its prediction (demand stored eight times the capacity since) gives its room back', () => {
    const removed: Array<[string, RemovalCause]> = [];
    const tier = new MemoryTier<string>({ maxBytes: 100, prefetchFraction: 0.1, onRemoval: (e, cause) => removed.push([e.key, cause]) });
    tier.set(prefetch('early'));
    tier.set(prefetch('touched'));
    for (let i = 0; i < 600; i++) tier.set(entry(`d${i}`));
    assert.ok(tier.has('early') && tier.has('touched'), 'within eight turnovers both wait, the region unpressed');
    assert.equal(tier.touch('touched'), true);
    for (let i = 600; i < 800; i++) tier.set(entry(`d${i}`));
    assert.equal(tier.has('early'), false);
    assert.ok(tier.has('touched'), 'predicted again at 600, its age started over');
    assert.deepEqual(removed.filter(([key]) => !key.startsWith('d')), [['early', 'evicted']]);
    assert.equal(extra(tier, 'prefetchEvictedUnused'), 1);
    const share = extra(tier, 'prefetchMaxBytes');
    assert.equal(tier.get('early'), undefined);
    assert.equal(extra(tier, 'prefetchMaxBytes'), share, 'an aged-out prefetch leaves no ghost to grow the region');
    for (let i = 800; i < 1399; i++) tier.set(entry(`d${i}`));
    assert.ok(tier.has('touched'));
    tier.set(entry('d1399'));
    assert.equal(tier.has('touched'), false);
    assert.ok(tier.bytes <= 100);
  });

  test('touch refreshes recency without counting a read, so a predicted entry outlives older ones', () => {
    const tier = new MemoryTier<string>({ maxBytes: 10, initialWindowFraction: 0.99, adaptive: false, prefetchFraction: 0 });
    for (let i = 0; i < 10; i++) tier.set(entry(`k${i}`));
    assert.equal(tier.touch('k0'), true);
    assert.equal(tier.touch('absent'), false);
    assert.equal(tier.peek('k0')?.hits, 0, 'a touch is not a read');
    tier.set(entry('k10'));
    assert.ok(tier.has('k0'), 'the touched entry stayed');
    assert.equal(tier.has('k1'), false, 'the least recent untouched entry went');
  });
});

test('the window starts at half the capacity by default', () => {
  const tier = new MemoryTier<string>({ maxBytes: 200 });
  assert.equal(tier.stats().extra?.windowFraction, 0.5);
});
