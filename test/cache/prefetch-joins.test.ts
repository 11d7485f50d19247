import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { VirtualClock, flushMicrotasks } from '../../src/clock.ts';
import { SlowOrigin } from '../doubles/origins.ts';

/** An origin over `records`, answering after 20 ms of virtual time (its `failing` refuses a purpose). */
function slowOrigin(clock: VirtualClock, records: ReadonlyArray<[string, string]>) {
  const origin = new SlowOrigin<string>(clock, 20, records);
  return { origin, calls: origin.batches };
}

/** Prescient events of `cache`, as 'used k' / 'wasted k'. */
function listen(cache: Cache<string>): string[] {
  const events: string[] = [];
  cache.on('prefetch:used', (e) => events.push(`used ${e.key}`)).on('prefetch:wasted', (e) => events.push(`wasted ${e.key}`));
  return events;
}

describe('Cache: a read that joins a prefetch in flight', () => {
  test('is served when the prefetch fails: it fetches on demand itself', async () => {
    const clock = new VirtualClock(0);
    const { origin, calls } = slowOrigin(clock, [['a', 'A']]);
    origin.failing = 'prefetch'; // an origin shedding prefetch load
    const cache = new Cache<string>({ origin, clock });
    cache.prefetch(['a']);
    await flushMicrotasks(); // the prefetch batch is sent
    const reads = [cache.get('a'), cache.get('a')];
    await clock.advanceAsync(20);
    await clock.advanceAsync(20);
    for (const read of await Promise.all(reads)) {
      assert.equal(read.value, 'A');
      assert.equal(read.status, 'miss');
    }
    assert.deepEqual(calls.map((c) => c.purpose), ['prefetch', 'demand'], 'one demand fetch for both readers');
    assert.equal(cache.stats().readErrors, 0);
    await cache.close();
  });

  test('keeps a value too big for the prefetch share, and counts the prefetch used once', async () => {
    const clock = new VirtualClock(0);
    const big = 'x'.repeat(200); // about 470 bytes: over the 200-byte prefetch share of 2,000
    const { origin, calls } = slowOrigin(clock, [['big', big]]);
    const cache = new Cache<string>({ origin, clock, maxBytes: 2000 });
    const events = listen(cache);
    cache.prefetch(['big']);
    await flushMicrotasks();
    const reads = [cache.get('big'), cache.get('big')];
    await clock.advanceAsync(20);
    for (const read of await Promise.all(reads)) {
      assert.equal(read.value, big);
      assert.equal(read.wasInflight, true);
    }
    assert.equal(cache.peek('big')?.hits, 1, 'stored as used');
    assert.deepEqual(events, ['used big']);
    const again = await cache.get('big');
    assert.equal(again.status, 'hit');
    assert.equal(calls.length, 1);
    assert.equal(cache.stats().prefetch.used, 1);
    await cache.close();
  });
});

describe('Cache: the first read of a prefetched entry gone stale', () => {
  test('counts the prefetch as used', async () => {
    const clock = new VirtualClock(0);
    const { origin } = slowOrigin(clock, [['k', 'K']]);
    const cache = new Cache<string>({ origin, clock, ttlMs: 1000, staleAfterMs: 100 });
    const events = listen(cache);
    cache.prefetch(['k']);
    await clock.advanceAsync(20);
    clock.advance(200);
    const read = await cache.get('k');
    assert.equal(read.status, 'stale');
    await clock.advanceAsync(20); // the refresh lands: the entry it replaces was used, not wasted
    assert.deepEqual(events, ['used k']);
    assert.equal(cache.stats().prefetch.used, 1);
    await cache.close();
  });
});
