import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEntry, type Entry } from '../../src/cache/entry.ts';
import { MemoryTier } from '../../src/cache/memory-tier.ts';
import { resolveShadowOptions, type ShadowOptions } from '../../src/cache/cache-options.ts';
import { ShadowCatalogs } from '../../src/cache/shadow-catalog.ts';
import { listShadow } from '../../src/cache/shadow-listing.ts';
import { VirtualClock } from '../../src/clock.ts';
import type { ReadContext } from '../../src/context.ts';

type Recorded = { key: string; ctx: ReadContext; status: string };

function setup(options: ShadowOptions = {}) {
  const clock = new VirtualClock();
  const tier = new MemoryTier<string>({ maxBytes: 1000, clock });
  const recorded: Recorded[] = [];
  const used: string[] = [];
  const reads = { hit: 0, prefetched: 0 };
  const loop = {
    used: (entry: Entry<string>) => void used.push(entry.key),
    removed: () => {},
    shouldRecord: () => true,
    record: (key: string, ctx: ReadContext, _now: number, status: string) => void recorded.push({ key, ctx, status }),
  };
  const catalogs = new ShadowCatalogs<string>({ ...(resolveShadowOptions(options) as Exclude<ReturnType<typeof resolveShadowOptions>, false>), clock, tier, loop, reads });
  const entry = (key: string, version = 1, staleAfterMs = 1000, prefetched = true): Entry<string> =>
    createEntry({
      key,
      value: `${key}@${version}`,
      version,
      sizeBytes: 1,
      now: clock.now(),
      ttlMs: 10_000,
      staleAfterMs,
      prediction: prefetched ? { probability: 0.5, source: 'test', ctx: {} } : undefined,
    });
  return { clock, tier, catalogs, entry, recorded, used, reads };
}

describe('ShadowCatalogs', () => {
  test('an item referenced by many users is stored once: every catalog points to the same entry object', () => {
    const { catalogs, entry } = setup();
    const shared = entry('item');
    for (let u = 0; u < 100; u++) catalogs.reference({ user: `u${u}` }, shared, 0.5, 'test');
    for (let u = 0; u < 100; u++) assert.equal(catalogs.peek('item', { user: `u${u}` }), shared);
    const stats = catalogs.stats();
    assert.equal(stats.heldKeys, 1);
    assert.equal(stats.references, 100);
    assert.equal(stats.userCatalogs, 100);
  });

  test('a demand entry the tier keeps as columns: the catalogs see it as held, and take its hits when the tier lets it go', () => {
    const { catalogs, entry, tier } = setup();
    const e = entry('d', 1, 1000, false);
    tier.set(e);
    catalogs.reference({ user: 'u' }, e, 0.7, 'test');
    for (let i = 0; i < 3; i++) {
      const read = catalogs.serve('d', { user: 'u' });
      assert.ok(read !== undefined && read !== 'stale' && read.status === 'hit');
    }
    assert.equal(catalogs.stats().bytesOutsideTier, 0, 'held by the tier (a copy of it: the same entry)');
    const copy = tier.peek('d') as Entry<string>;
    assert.notEqual(copy, e);
    assert.equal(copy.hits, 3, 'the tier counted the hits');
    assert.equal(catalogs.leftTier(copy, 'evicted'), true);
    assert.equal(e.hits, 3, 'the catalogs\' object took them');
  });

  test('serves a fresh entry as prefetched on the first read, as a hit after, and records both', () => {
    const { catalogs, entry, tier, recorded, used, reads } = setup();
    const e = entry('a');
    tier.set(e);
    catalogs.reference({ user: 'u' }, e, 0.7, 'test');
    const first = catalogs.serve('a', { user: 'u' });
    assert.deepEqual(first, { key: 'a', value: 'a@1', isFound: true, version: 1, status: 'prefetched', servedFrom: 'shadow', wasInflight: false });
    for (let i = 0; i < 2; i++) {
      const again = catalogs.serve('a', { user: 'u' });
      assert.equal(again !== 'stale' && again?.status, 'hit');
    }
    assert.deepEqual(used, ['a'], 'the prefetch was used once');
    assert.equal(e.hits, 3, 'the tier counted the hits on the shared entry');
    assert.deepEqual(reads, { hit: 2, prefetched: 1 });
    assert.deepEqual(recorded.map((r) => r.status), ['prefetched', 'hit', 'hit']);
    assert.equal(catalogs.serve('a', { user: 'other' }), undefined, 'another user falls through');
    assert.equal(catalogs.serve('b', { user: 'u' }), undefined, 'an unlisted key falls through');
  });

  test('a stale entry is not served: the caller must refresh it first', () => {
    const { catalogs, entry, clock } = setup();
    catalogs.reference({ user: 'u' }, entry('a'), 0.7, 'test');
    clock.advance(1000);
    assert.equal(catalogs.serve('a', { user: 'u' }), 'stale');
    assert.equal(catalogs.stats().refreshedBeforeServe, 1);
    catalogs.stored(entry('a', 2), undefined);
    const fresh = catalogs.serve('a', { user: 'u' });
    assert.equal(fresh !== 'stale' && fresh?.value, 'a@2');
  });

  test('the per-catalog bound holds, evicting the lowest probability × recency first', () => {
    const { catalogs, entry, clock } = setup({ perUserLimit: 3 });
    catalogs.reference({ user: 'u' }, entry('old-strong'), 0.9, 'test');
    clock.advance(600_000);
    catalogs.reference({ user: 'u' }, entry('weak'), 0.2, 'test');
    catalogs.reference({ user: 'u' }, entry('mid'), 0.5, 'test');
    catalogs.reference({ user: 'u' }, entry('new'), 0.3, 'test');
    assert.deepEqual(catalogs.list('user', 'u').map((i) => i.key), ['mid', 'new', 'weak'], 'ten minutes old, 0.9 counts less than 0.2 now');
    for (let i = 0; i < 50; i++) catalogs.reference({ user: 'u' }, entry(`k${i}`), 0.1 + i / 100, 'test');
    const listed = catalogs.list('user', 'u');
    assert.equal(listed.length, 3);
    assert.deepEqual(listed.map((i) => i.key), ['k49', 'k48', 'k47']);
    assert.equal(catalogs.stats().references, 3);
    assert.equal(catalogs.stats().heldKeys, 3, 'evicted references release their shared cells');
    catalogs.reference({ user: 'u' }, entry('weakest'), 0.05, 'test');
    assert.deepEqual(catalogs.list('user', 'u').map((i) => i.key), ['k49', 'k48', 'k47'], 'a weaker newcomer is refused');
    assert.equal(catalogs.stats().heldKeys, 3);
  });

  test('maxCatalogs drops the least recently used catalog and its references', () => {
    const { catalogs, entry, tier } = setup({ maxCatalogs: 2 });
    const a = entry('a');
    tier.set(a);
    catalogs.reference({ user: 'u1' }, a, 0.5, 'test');
    catalogs.reference({ user: 'u2' }, entry('b'), 0.5, 'test');
    catalogs.serve('a', { user: 'u1' });
    catalogs.reference({ user: 'u3' }, entry('c'), 0.5, 'test');
    assert.equal(catalogs.list('user', 'u2').length, 0, 'u2 was the least recently used');
    assert.equal(catalogs.list('user', 'u1').length, 1);
    const stats = catalogs.stats();
    assert.equal(stats.userCatalogs, 2);
    assert.equal(stats.droppedCatalogs, 1);
    assert.equal(stats.heldKeys, 2);
  });

  test('a newer entry supersedes every reference; an older one does not', () => {
    const { catalogs, entry } = setup();
    catalogs.reference({ user: 'u1' }, entry('a', 2), 0.5, 'test');
    catalogs.reference({ user: 'u2' }, entry('a', 2), 0.5, 'test');
    catalogs.stored(entry('a', 1), undefined);
    assert.equal(catalogs.peek('a', { user: 'u1' })?.version, 2);
    const v3 = entry('a', 3);
    catalogs.stored(v3, undefined);
    assert.equal(catalogs.peek('a', { user: 'u1' }), v3);
    assert.equal(catalogs.peek('a', { user: 'u2' }), v3);
  });

  test('a dropped key is served by no catalog, and its references are released when met', () => {
    const { catalogs, entry } = setup();
    for (const user of ['u1', 'u2']) catalogs.reference({ user }, entry('a'), 0.5, 'test');
    catalogs.drop('a');
    assert.equal(catalogs.serve('a', { user: 'u1' }), undefined);
    assert.deepEqual(catalogs.list('user', 'u2'), []);
    assert.equal(catalogs.stats().references, 0);
    catalogs.reference({ user: 'u1' }, entry('a', 5), 0.5, 'test');
    assert.equal(catalogs.peek('a', { user: 'u1' })?.version, 5, 'a later entry is referenced again');
  });

  test('predictions reference cached fresh items at or above minProbability, for the user and the segment', () => {
    const { catalogs, entry, tier, clock } = setup({ minProbability: 0.3 });
    tier.set(entry('cached'));
    tier.set(entry('weak'));
    const ctx = { session: 's', user: 'u', segment: 'eu' };
    catalogs.predicted(ctx, [
      { key: 'cached', probability: 0.6, source: 'm' },
      { key: 'weak', probability: 0.2, source: 'm' },
      { key: 'absent', probability: 0.9, source: 'm' },
    ]);
    assert.deepEqual(catalogs.list('user', 'u').map((i) => [i.key, i.probability, i.source]), [['cached', 0.6, 'm']]);
    assert.deepEqual(catalogs.list('segment', 'eu').map((i) => i.key), ['cached']);
    catalogs.predicted({ session: 's' }, [{ key: 'cached', probability: 1, source: 'm' }]);
    assert.equal(catalogs.stats().references, 2, 'a context without user or segment has no catalog');
    clock.advance(1000);
    catalogs.predicted({ user: 'v' }, [{ key: 'cached', probability: 0.9, source: 'm' }]);
    assert.deepEqual(catalogs.list('user', 'v'), [], 'a stale item is left to the prefetch that refreshes it');
    assert.equal(catalogs.stats().pendingKeys, 2, 'absent and stale items wait to be stored');
    catalogs.stored(entry('absent'), undefined);
    assert.deepEqual(catalogs.list('user', 'u').map((i) => [i.key, i.probability]), [['absent', 0.9], ['cached', 0.6]]);
    assert.deepEqual(catalogs.list('segment', 'eu').map((i) => i.key), ['absent', 'cached']);
    clock.advance(6000);
    catalogs.stored(entry('cached'), undefined);
    assert.deepEqual(catalogs.list('user', 'v'), [], 'a wait older than the prefetch lifetime is dropped');
    assert.equal(catalogs.stats().pendingKeys, 0);
  });

  test('a segment catalog serves reads of that segment when the user catalog does not name the key', () => {
    const { catalogs, entry } = setup();
    catalogs.reference({ segment: 'eu' }, entry('a'), 0.5, 'test');
    const r = catalogs.serve('a', { user: 'u', segment: 'eu' });
    assert.equal(r !== 'stale' && r?.servedFrom, 'shadow');
    assert.equal(catalogs.serve('a', { user: 'u' }), undefined);
  });

  test('lists items with probability, fetch time, staleness, version and source, most probable first', () => {
    const { catalogs, entry, clock } = setup();
    clock.advance(100);
    catalogs.reference({ user: 'u' }, entry('a', 4, 500), 0.4, 'markov');
    catalogs.reference({ user: 'u' }, entry('b', 1, 5000), 0.8, 'delta');
    clock.advance(600);
    assert.deepEqual(catalogs.list('user', 'u'), [
      { key: 'b', probability: 0.8, fetchedAt: 100, staleAt: 5100, isStale: false, version: 1, source: 'delta', uses: 0 },
      { key: 'a', probability: 0.4, fetchedAt: 100, staleAt: 600, isStale: true, version: 4, source: 'markov', uses: 0 },
    ]);
    assert.deepEqual(listShadow(catalogs, 'u', { limit: 1 }).map((i) => i.key), ['b']);
    assert.deepEqual(listShadow(catalogs, 'nobody'), []);
    assert.deepEqual(listShadow(undefined, 'u'), [], 'catalogs off');
  });

  test('keysMatching finds referenced keys by prefix and by tag', () => {
    const { catalogs, entry } = setup();
    catalogs.reference({ user: 'u' }, entry('user:1'), 0.5, 'test');
    catalogs.reference({ user: 'u' }, { ...entry('item:1'), tags: ['hot'] }, 0.5, 'test');
    assert.deepEqual(catalogs.keysMatching('user:', undefined), ['user:1']);
    assert.deepEqual(catalogs.keysMatching(undefined, 'hot'), ['item:1']);
    assert.deepEqual(catalogs.keysMatching('none', 'cold'), []);
  });

  test('rejects bad options and listing arguments with coded errors', () => {
    assert.equal(resolveShadowOptions(false), false);
    assert.deepEqual(resolveShadowOptions(undefined), { perUserLimit: 64, maxCatalogs: 10_000, minProbability: 0.1, maxBytesOutsideTier: 16 * 2 ** 20 });
    assert.equal((resolveShadowOptions({}, 1000) as { maxBytesOutsideTier: number }).maxBytesOutsideTier, 250, 'a quarter of the cache\'s maxBytes');
    assert.throws(() => resolveShadowOptions({ maxBytesOutsideTier: -1 }), { code: 'ERR_INVALID_OPTION', option: 'shadow.maxBytesOutsideTier' });
    assert.throws(() => resolveShadowOptions({ perUserLimit: 0 }), { code: 'ERR_INVALID_OPTION', option: 'shadow.perUserLimit' });
    assert.throws(() => resolveShadowOptions({ maxCatalogs: 1.5 }), { code: 'ERR_INVALID_OPTION', option: 'shadow.maxCatalogs' });
    assert.throws(() => resolveShadowOptions({ minProbability: 2 }), { code: 'ERR_INVALID_OPTION', option: 'shadow.minProbability' });
    assert.throws(() => resolveShadowOptions('yes'), { code: 'ERR_INVALID_OPTION', option: 'shadow' });
    assert.throws(() => listShadow(undefined, ''), { code: 'ERR_INVALID_CONTEXT' });
    assert.throws(() => listShadow(undefined, 'x'.repeat(300), { of: 'segment' }), { code: 'ERR_INVALID_CONTEXT' });
    assert.throws(() => listShadow(undefined, 'u', { limit: 0 }), { code: 'ERR_INVALID_OPTION', option: 'limit' });
    assert.throws(() => listShadow(undefined, 'u', { of: 'team' as 'user' }), { code: 'ERR_INVALID_OPTION', option: 'of' });
  });
});
