/**
 * The memory tier keeps plain entries (createEntry / restoreEntry, no tags, no prediction) as columns and rebuilds an
 * Entry when it hands one out (node-table.ts), and finds keys through its own hash index (key-index.ts). These tests
 * check the index against a Map, and a tier fed plain entries against one fed the same entries as object literals,
 * which it keeps whole: every answer, removal and counter must agree.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEntry, entryFields, isSameEntry, restoreEntry, type Entry, type RemovalCause } from '../../src/cache/entry.ts';
import { KeyIndex } from '../../src/cache/key-index.ts';
import { LifetimeTable, MAX_LIFETIMES } from '../../src/cache/lifetime-table.ts';
import { MemoryTier } from '../../src/cache/memory-tier.ts';
import { VirtualClock } from '../../src/clock.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

describe('KeyIndex', () => {
  test('finds, inserts and removes as a Map does, through growth, wrap-around runs and tag collisions', () => {
    for (const seed of [1, 2, 3]) {
      const rand = seededRandom(seed);
      const keys: string[] = [];
      const hashes: number[] = [];
      const index = new KeyIndex({ key: (slot) => keys[slot], indexHash: (slot) => hashes[slot] }, seed);
      const model = new Map<string, number>();
      const free: number[] = [];
      for (let op = 0; op < 40_000; op++) {
        // A small key space (many removals and re-insertions) that grows and shrinks through the table's sizes.
        const space = op < 20_000 ? 50 + Math.floor(op / 10) : 2_050 - Math.floor((op - 20_000) / 10);
        const key = `k:${Math.floor(rand() * space)}`;
        const slot = index.find(key, index.hash(key));
        assert.equal(slot, model.get(key) ?? -1, `seed ${seed} op ${op}: find ${key}`);
        if (slot < 0 && rand() < 0.6) {
          const fresh = free.pop() ?? keys.length + 4;
          keys[fresh] = key;
          hashes[fresh] = index.hash(key);
          index.insert(fresh);
          model.set(key, fresh);
        } else if (slot >= 0 && rand() < 0.5) {
          index.remove(slot);
          model.delete(key);
          free.push(slot);
        }
        assert.equal(index.size, model.size);
      }
      for (const [key, slot] of model) assert.equal(index.find(key, index.hash(key)), slot, `seed ${seed}: ${key} at the end`);
    }
  });

  test('one long run: same home cell, tags that agree and tags that differ; removals anywhere in it', () => {
    const keys: string[] = [];
    const hashes: number[] = [];
    const index = new KeyIndex({ key: (slot) => keys[slot], indexHash: (slot) => hashes[slot] }, 7);
    // Every hash lands on cell 5 of the table (low bits), half with one tag (top bits), half with others.
    const hashOf = (i: number): number => (i % 2 === 0 ? 0x7f000005 : ((i % 7) << 24) | 5) | 0;
    const held = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      keys[i + 4] = `same-${i}`;
      hashes[i + 4] = hashOf(i);
      index.insert(i + 4);
      held.set(`same-${i}`, i + 4);
    }
    for (const i of [0, 13, 39, 20, 1]) {
      index.remove(i + 4);
      held.delete(`same-${i}`);
    }
    for (let i = 0; i < 41; i++) assert.equal(index.find(`same-${i}`, hashOf(i)), held.get(`same-${i}`) ?? -1, `same-${i}`);
    assert.equal(index.size, held.size);
  });
});

/** The entry as an object literal: the tier keeps such entries whole. */
function literal<V>(entry: Entry<V>): Entry<V> {
  return { ...entryFields(entry) };
}

describe('MemoryTier columns against whole entries', () => {
  test('a tier fed plain entries answers as one fed the same entries as objects, over seeded random operations', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = seededRandom(seed);
      const clock = new VirtualClock(1_000);
      const logs: Array<Array<[string, RemovalCause, number, number]>> = [[], []];
      const tiers = logs.map((log) => new MemoryTier<object>({ maxBytes: 60, clock, seed, onRemoval: (e, cause) => log.push([e.key, cause, e.hits, e.version]) }));
      const values = Array.from({ length: 30 }, (_, i) => ({ i }));
      const ttls = [Infinity, 20, 60];
      const answer = (key: string, value: object, version: number) => [key, value, version];
      const ops: string[] = [];
      for (let op = 0; op < 400; op++) {
        const k = Math.floor(rand() * 30);
        const key = `key-${k}`;
        const roll = rand();
        let made: Entry<object> | undefined;
        if (roll < 0.35) {
          // Fractional sizes too, some a float32 cannot hold (0.1 + n).
          const sizeBytes = rand() < 0.1 ? 0.5 + Math.floor(rand() * 4) : rand() < 0.05 ? 0.1 + Math.floor(rand() * 4) : 1 + Math.floor(rand() * 6);
          const ttlMs = ttls[Math.floor(rand() * ttls.length)];
          const version = 1 + Math.floor(rand() * 4);
          const kind = rand();
          const fields = { key, value: values[k], version, sizeBytes, now: clock.now(), ttlMs, staleAfterMs: ttlMs / 2 };
          if (kind < 0.6) made = createEntry(fields);
          else if (kind < 0.75) made = createEntry({ ...fields, prediction: { probability: rand(), source: 'm', ctx: { session: 's' } } });
          else if (kind < 0.85) made = createEntry({ ...fields, tags: rand() < 0.5 ? ['t'] : ['u', 't'] });
          else {
            // Read back from a shared tier: times that may not be offsets of createdAt exactly.
            // Some with a stale time no offset from createdAt gives exactly (1e-20 beside ~1000: the entry keeps its own).
            const createdAt = clock.now() - Math.floor(rand() * 10) + (rand() < 0.3 ? 0.1 : 0);
            const staleAt = rand() < 0.3 ? 1e-20 : createdAt + 0.3 * ttlMs;
            made = restoreEntry({ key, value: values[k], version, sizeBytes, createdAt, staleAt, expiresAt: createdAt + ttlMs, tags: [], prediction: undefined, hits: Math.floor(rand() * 2) });
          }
          ops.push(`set ${key} v${version} ${sizeBytes}B ttl ${ttlMs}`);
        } else ops.push(`op ${roll.toFixed(2)} ${key}`);
        const includeExpired = rand() < 0.5;
        const results = tiers.map((tier, t) => {
          if (made !== undefined) return tier.set(t === 0 ? made : literal(made));
          if (roll < 0.6) return entryFields(tier.get(key, includeExpired) ?? ({} as Entry<object>));
          if (roll < 0.75) return tier.hit(key, answer);
          if (roll < 0.8) return entryFields(tier.peek(key) ?? ({} as Entry<object>));
          if (roll < 0.85) return tier.delete(key);
          if (roll < 0.9) return tier.touchIfFresh(key, clock.now());
          return [tier.frequency(key), [...tier.matching(`key-${k % 5}`, 't')].sort((a, b) => a.key.localeCompare(b.key))];
        });
        if (rand() < 0.3) clock.advance(1 + Math.floor(rand() * 5)); // small steps: reads land on stale and expiry times
        const where = `seed ${seed}, op ${op} (${ops.slice(-4).join('; ')})`;
        assert.deepEqual(results[0], results[1], where);
        assert.deepEqual(logs[0], logs[1], where);
        assert.deepEqual(tiers[0].stats(), tiers[1].stats(), where);
      }
      const held = tiers.map((tier) => [...tier.entries()].map((e) => entryFields(e)).sort((a, b) => a.key.localeCompare(b.key)));
      assert.deepEqual(held[0], held[1], `seed ${seed}: entries held at the end`);
      assert.deepEqual([...tiers[0].keys()].sort(), held[0].map((e) => e.key));
    }
  });

  test('a plain entry handed out is a copy equal to the one stored; isSameEntry and holds know it', () => {
    const tier = new MemoryTier<object>({ maxBytes: 10, clock: new VirtualClock(5) });
    const value = { v: 1 };
    const stored = createEntry({ key: 'a', value, version: 2, sizeBytes: 1, now: 5.25, ttlMs: 100, staleAfterMs: 10 });
    tier.set(stored);
    const out = tier.peek('a') as Entry<object>;
    assert.notEqual(out, stored);
    assert.deepEqual(entryFields(out), entryFields(stored));
    assert.ok(isSameEntry(out, stored) && tier.holds(stored) && tier.holds(out));
    const renewed = restoreEntry({ ...entryFields(stored), staleAt: stored.staleAt + 1, prediction: undefined });
    assert.ok(!isSameEntry(renewed, stored), 'other times: another entry');
    assert.ok(!tier.holds(renewed));
    const emptyTags = createEntry({ key: 'e', value, version: 1, sizeBytes: 1, now: 5, ttlMs: 100, staleAfterMs: 10, tags: [] });
    tier.set(emptyTags);
    assert.ok(tier.holds(emptyTags) && isSameEntry(tier.peek('e'), emptyTags), 'an empty tags array of its own is no tags');
    tier.delete('e');
    const tagged = createEntry({ key: 'b', value, version: 1, sizeBytes: 1, now: 5, ttlMs: 100, staleAfterMs: 10, tags: ['t'] });
    tier.set(tagged);
    assert.notEqual(tier.peek('b'), tagged, 'an entry with tags is a copy too');
    assert.equal(tier.peek('b')?.tags, tagged.tags, 'its tags the same array');
    assert.ok(tier.holds(tagged));
    assert.ok(!tier.holds(createEntry({ key: 'b', value, version: 1, sizeBytes: 1, now: 5, ttlMs: 100, staleAfterMs: 10, tags: ['t'] })), 'other tags: another entry');
    const predicted = createEntry({ key: 'c', value, version: 1, sizeBytes: 1, now: 5, ttlMs: 100, staleAfterMs: 10, prediction: { probability: 0.5, source: 'm', ctx: {} } });
    tier.set(predicted);
    assert.equal(tier.peek('c'), predicted, 'a prefetched entry is kept whole: the object itself');
    assert.ok(tier.holds(predicted) && !tier.holds(literal(predicted)), 'and only that object is held');
    assert.deepEqual([...tier.matching('a', 't')].map((m) => [m.key, m.byPrefix]).sort(), [['a', true], ['b', false]]);
  });

  test('an entry kept whole takes the hits the hit path counted when it leaves, with no listener to hand it to', () => {
    const tier = new MemoryTier<string>({ maxBytes: 10, clock: new VirtualClock(0) });
    const answer = (key: string) => key;
    const whole = (key: string, version = 1): Entry<string> => ({ ...entryFields(createEntry({ key, value: key, version, sizeBytes: 1, now: 0, ttlMs: Infinity, staleAfterMs: Infinity })) });
    const [a, b, c] = [whole('a'), whole('b'), whole('c')];
    for (const e of [a, b, c]) tier.set(e);
    for (const key of ['a', 'a', 'b', 'b', 'b', 'c']) tier.hit(key, answer);
    tier.set(whole('a', 2));
    tier.delete('b');
    tier.clear();
    assert.deepEqual([a.hits, b.hits, c.hits], [2, 3, 1], 'replaced, deleted, cleared');
  });

  test('lifetime numbers are freed with their last entry; past the table, entries keep their offsets themselves', () => {
    const table = new LifetimeTable();
    const numbers = Array.from({ length: MAX_LIFETIMES }, (_, i) => table.acquire(i, 10 * i));
    assert.equal(table.acquire(-1, 5), -1, 'full');
    assert.equal(table.acquire(3, 30), numbers[3], 'a pair alive: its number');
    table.release(numbers[3]);
    table.release(numbers[3]);
    assert.equal(table.size, MAX_LIFETIMES - 1);
    assert.equal(table.acquire(-1, 5), numbers[3], 'the freed number serves another pair');
    assert.equal(table.acquire(-0, -0), numbers[0], '-0 is 0');

    const clock = new VirtualClock(1_000.25);
    const tier = new MemoryTier<number>({ maxBytes: 20_000, clock });
    const made = Array.from({ length: 2 * MAX_LIFETIMES }, (_, i) => createEntry({ key: `k${i}`, value: i, version: 1, sizeBytes: 1, now: clock.now(), ttlMs: 60_000 + i + 0.5, staleAfterMs: 30_000 + i }));
    for (const e of made) tier.set(e);
    for (const e of made) {
      const out = tier.peek(e.key) as Entry<number>;
      assert.notEqual(out, e, `${e.key}: a copy from the columns, not kept whole`);
      assert.deepEqual([out.staleAt, out.expiresAt], [e.staleAt, e.expiresAt], e.key);
      assert.ok(tier.holds(e), e.key);
    }
    clock.advance(30_000 + MAX_LIFETIMES);
    assert.equal(tier.hit('k0', (k) => k), undefined, 'stale by its own offsets');
    assert.equal(tier.hit(`k${2 * MAX_LIFETIMES - 1}`, (k) => k), `k${2 * MAX_LIFETIMES - 1}`, 'fresh by its own offsets');
  });

  test('a NaN time is never fresh on the hit path; a NaN value or a -0 offset is still the same entry', () => {
    const clock = new VirtualClock(100);
    const tier = new MemoryTier<number>({ maxBytes: 10, clock });
    const odd = restoreEntry({ key: 'n', value: 1, version: 1, sizeBytes: 1, createdAt: 50, staleAt: 60, expiresAt: Number.NaN, tags: [], prediction: undefined });
    tier.set(odd);
    assert.equal(tier.hit('n', (k) => k), undefined, 'left to get');
    assert.equal(tier.get('n')?.key, 'n', 'get answers as the times say (NaN never expires)');
    const nan = createEntry({ key: 'v', value: Number.NaN, version: 1, sizeBytes: 1, now: 100, ttlMs: 10, staleAfterMs: 10 });
    tier.set(nan);
    assert.ok(tier.holds(nan) && isSameEntry(tier.peek('v'), nan));
    tier.set(createEntry({ key: 'z', value: 0, version: 1, sizeBytes: 1, now: 100, ttlMs: 10, staleAfterMs: 0 }));
    const negative = createEntry({ key: 'w', value: 0, version: 1, sizeBytes: 1, now: 100, ttlMs: 10, staleAfterMs: -0 });
    tier.set(negative);
    assert.ok(tier.holds(negative) && isSameEntry(tier.peek('w'), negative), 'a -0 stale offset stored after a 0 one');
  });
});
