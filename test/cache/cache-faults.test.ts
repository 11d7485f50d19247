import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { ShadowCatalogs } from '../../src/cache/shadow-catalog.ts';
import { VirtualClock, flushMicrotasks } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import type { OriginRecord } from '../../src/origin/origin.ts';
import type { Predictor } from '../../src/predict/predictor.ts';

/** An origin whose getMany calls wait until the test answers them from `data`. */
function manualOrigin() {
  const calls: Array<{ keys: string[]; resolve: (v: Array<OriginRecord<string> | undefined>) => void }> = [];
  const data = new Map<string, OriginRecord<string>>();
  const origin = new FunctionOrigin<string>({ getMany: (keys) => new Promise((resolve) => calls.push({ keys: [...keys], resolve })) });
  const answer = (i = calls.length - 1): void => calls[i].resolve(calls[i].keys.map((k) => data.get(k)));
  return { origin, calls, data, answer, put: (key: string, value: string, version = 1) => data.set(key, { key, value, version }) };
}

describe('Cache: faults of the caller\'s code stay the caller\'s', () => {
  for (const where of ['observe', 'predict'] as const) {
    test(`a predictor that throws in ${where} fails no read and is counted in modelErrors`, async () => {
      const clock = new VirtualClock(0);
      const predictor: Predictor = {
        name: 'faulty',
        observe() {
          if (where === 'observe') throw new Error('observe failed');
        },
        predict() {
          if (where === 'predict') throw new Error('predict failed');
          return [];
        },
      };
      const cache = new Cache<string>({ origin: new MapOrigin([['a', 'A'], ['b', 'B']]), clock, predictor });
      assert.equal((await cache.get('a', { session: 's' })).value, 'A');
      clock.advance(1); // the drain runs here: it used to throw out of the timer (an uncaught exception in a server)
      assert.equal((await cache.get('b', { session: 's' })).value, 'B');
      clock.advance(1);
      assert.ok(cache.stats().modelErrors >= 1, `modelErrors ${cache.stats().modelErrors}`);
      await cache.close();
    });
  }

  test('a listener that throws fails neither a read nor the other keys of its origin batch', async () => {
    const clock = new VirtualClock(0);
    const failing = new FunctionOrigin<string>({
      getMany: async (keys) => keys.map((key) => ({ key, value: key.toUpperCase(), version: 1 })),
    });
    const cache = new Cache<string>({ origin: failing, clock, predictor: { name: 'p', observe() {}, predict: () => [{ key: 'c', probability: 0.9 }] } });
    for (const event of ['prefetch:issued', 'prefetch:used', 'prefetch:wasted', 'origin:failed'] as const) {
      cache.on(event, () => {
        throw new Error(`listener of ${event}`);
      });
    }
    const reads = await Promise.all(['a', 'b'].map((k) => cache.get(k, { session: 's' })));
    assert.deepEqual(reads.map((r) => r.value), ['A', 'B']);
    clock.advance(1);
    await flushMicrotasks();
    assert.equal((await cache.get('c', { session: 's' })).status, 'prefetched', 'the prefetch went out despite its listener');
    assert.ok(cache.stats().listenerErrors >= 2, `listenerErrors ${cache.stats().listenerErrors}`);
    await cache.close();
  });

  test('a sizeOf that throws for one key: that value is served, not cached; the batch\'s other keys are stored', async () => {
    const clock = new VirtualClock(0);
    const cache = new Cache<string>({
      origin: new MapOrigin([['good1', 'g1'], ['bad', 'x'], ['good2', 'g2']]),
      clock,
      sizeOf: (value) => {
        if (value === 'x') throw new Error('cannot size');
        return value.length;
      },
    });
    const reads = await Promise.all(['good1', 'bad', 'good2'].map((k) => cache.get(k)));
    assert.deepEqual(reads.map((r) => r.value), ['g1', 'x', 'g2']);
    assert.equal(cache.peek('good2')?.value, 'g2');
    assert.equal(cache.peek('bad'), undefined);
    assert.equal(cache.stats().storeFailures, 1);
    await assert.rejects(cache.set('bad', 'x'), (e: unknown) => isPrescientError(e, 'ERR_INVALID_VALUE') && /cannot size/.test((e as Error).message));
    await cache.close();
  });

  test('a sizeOf that answers NaN or a negative size is refused: set throws ERR_INVALID_VALUE', async () => {
    const cache = new Cache<string>({ origin: new MapOrigin<string>([]), clock: new VirtualClock(0), sizeOf: (v) => (v === 'nan' ? Number.NaN : -5) });
    for (const v of ['nan', 'neg']) await assert.rejects(cache.set('k', v), (e: unknown) => isPrescientError(e, 'ERR_INVALID_VALUE'));
    await cache.close();
  });

  test('a fractional sizeOf is charged in whole bytes, so the tier\'s byte counts stay exact', async () => {
    const cache = new Cache<string>({ origin: new MapOrigin<string>([]), clock: new VirtualClock(0), maxBytes: 100, sizeOf: (v) => v.length + 0.02 });
    await cache.set('a', 'xyz');
    await cache.set('b', 'x');
    assert.equal(cache.peek('a')?.sizeBytes, 4);
    assert.equal(cache.peek('b')?.sizeBytes, 2);
    await cache.delete('a');
    await cache.delete('b');
    assert.equal(cache.stats().memory.bytes, 0);
    await cache.close();
  });

  test('set() refuses a ttlMs or version that is not a number >= 0 (ttlMs > 0), naming it', async () => {
    const cache = new Cache<string>({ origin: new MapOrigin<string>([]), clock: new VirtualClock(0) });
    for (const [options, name] of [[{ ttlMs: Number.NaN }, 'ttlMs'], [{ ttlMs: -5 }, 'ttlMs'], [{ ttlMs: 0 }, 'ttlMs'], [{ version: Number.NaN }, 'version'], [{ version: -1 }, 'version']] as const) {
      await assert.rejects(cache.set('k', 'v', options), (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as Error).message.includes(name), JSON.stringify(options));
    }
    assert.equal((await cache.set('k', 'v', { ttlMs: Infinity, version: 7 })).version, 7);
    await cache.close();
  });
});

describe('Cache: loads in flight and invalidation', () => {
  test('a read started after delete() fetches afresh instead of joining the load from before it', async () => {
    const m = manualOrigin();
    m.put('k', 'OLD');
    const cache = new Cache<string>({ origin: m.origin, clock: new VirtualClock(0) });
    const first = cache.get('k');
    await flushMicrotasks();
    await cache.delete('k');
    m.put('k', 'NEW', 2);
    const second = cache.get('k');
    await flushMicrotasks();
    assert.equal(m.calls.length, 2, 'the read after the delete went to the origin');
    m.answer(1);
    m.calls[0].resolve([{ key: 'k', value: 'OLD', version: 1 }]); // the load from before the delete answers late
    assert.equal((await second).value, 'NEW');
    assert.equal((await first).value, 'OLD');
    assert.equal(cache.peek('k')?.value, 'NEW', 'the late answer from before the delete is not stored');
    await cache.close();
  });

  test('invalidate({ prefix }) discards a first load in flight: its late answer is not stored', async () => {
    const m = manualOrigin();
    m.put('user:1', 'OLD');
    const cache = new Cache<string>({ origin: m.origin, clock: new VirtualClock(0) });
    const pending = cache.get('user:1');
    await flushMicrotasks();
    await cache.invalidate({ prefix: 'user:' });
    m.answer(0);
    assert.equal((await pending).value, 'OLD', 'the read that was waiting gets its answer');
    assert.equal(cache.peek('user:1'), undefined, 'but it is not cached');
    await cache.close();
  });
});

describe('Cache: a held version newer than the origin\'s', () => {
  test('once expired, the origin\'s record replaces it: one load re-caches the key', async () => {
    const clock = new VirtualClock(0);
    let calls = 0;
    const origin = new FunctionOrigin<string>({ getMany: async (keys) => (calls++, keys.map((key) => ({ key, value: 'origin-v1', version: 1 }))) });
    const cache = new Cache<string>({ origin, clock, ttlMs: 1000 });
    await cache.set('k', 'local', { version: 5 }); // newer than the origin's 1
    clock.advance(2000);
    for (let i = 0; i < 5; i++) assert.equal((await cache.get('k')).value, 'origin-v1');
    assert.equal(calls, 1);
    await cache.close();
  });

  test('while stale, a refresh that finds an older version keeps the held one and counts as refreshed (one load)', async () => {
    const clock = new VirtualClock(0);
    let calls = 0;
    const origin = new FunctionOrigin<string>({ getMany: async (keys) => (calls++, keys.map((key) => ({ key, value: 'origin-v1', version: 1 }))) });
    const cache = new Cache<string>({ origin, clock, ttlMs: 10_000, staleAfterMs: 1000 });
    await cache.set('k', 'local', { version: 5 });
    clock.advance(2000);
    for (let i = 0; i < 3; i++) {
      assert.equal((await cache.get('k')).value, 'local');
      await flushMicrotasks();
    }
    assert.equal(calls, 1, 'one refresh, not one per stale read');
    clock.advance(9000); // past its ttlMs: the renewal never moves the expiry, so the origin's record comes in
    assert.equal((await cache.get('k')).value, 'origin-v1');
    await cache.close();
  });
});

test('set() with an older version than held answers the entry the cache keeps (the newer), not the one it refused', async () => {
  const cache = new Cache<string>({ origin: new MapOrigin<string>([]), clock: new VirtualClock(0) });
  await cache.set('k', 'v5', { version: 5 });
  const answer = await cache.set('k', 'v3', { version: 3 });
  assert.deepEqual([answer.value, answer.version], ['v5', 5]);
  assert.equal((await cache.set('k', 'v6', { version: 6 })).value, 'v6');
  await cache.close();
});

test('predict() refuses a limit that is not a positive integer, naming it', async () => {
  const cache = new Cache<string>({ origin: new MapOrigin<string>([]), clock: new VirtualClock(0), predictor: { name: 'p', observe() {}, predict: () => [] } });
  for (const limit of [0, -1, 2.5, Number.NaN]) assert.throws(() => cache.predict({ session: 's' }, limit), (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION') && /`limit`/.test((e as Error).message));
  assert.deepEqual(cache.predict({ session: 's' }, 3), []);
  await cache.close();
});

test('close() waits for a fetch that delete() discarded, as for any fetch in flight', async () => {
  const m = manualOrigin();
  m.put('k', 'OLD');
  const cache = new Cache<string>({ origin: m.origin, clock: new VirtualClock(0) });
  void cache.get('k').catch(() => {});
  await flushMicrotasks();
  await cache.delete('k');
  let isClosed = false;
  const closing = cache.close().then(() => (isClosed = true));
  await flushMicrotasks();
  assert.equal(isClosed, false, 'the discarded fetch is still out');
  assert.equal(cache.pendingFetches, 1, 'and counted: the origin is still working on it');
  m.answer(0);
  await closing;
  assert.equal(isClosed, true);
  assert.equal(cache.pendingFetches, 0);
});

test('a predictor whose feedback throws fails no read that uses a prefetched entry', async () => {
  const clock = new VirtualClock(0);
  const predictor: Predictor = {
    name: 'p',
    observe() {},
    predict: () => [{ key: 'next', probability: 0.9 }],
    feedback() {
      throw new Error('feedback failed');
    },
  };
  const cache = new Cache<string>({ origin: new MapOrigin([['a', 'A'], ['next', 'N']]), clock, predictor });
  await cache.get('a', { session: 's', user: 'u' });
  clock.advance(1);
  await flushMicrotasks();
  const read = await cache.get('next', { session: 's', user: 'u' });
  assert.equal(read.value, 'N');
  assert.equal(read.status, 'prefetched');
  assert.ok(cache.stats().modelErrors >= 1);
  await cache.close();
});

test('onFault hears each contained fault with its cause; an onFault that throws is ignored', async () => {
  const clock = new VirtualClock(0);
  const faults: Array<[string, string]> = [];
  const cache = new Cache<string>({
    origin: new MapOrigin([['a', 'A'], ['bad', 'x']]),
    clock,
    predictor: { name: 'p', observe() { throw new Error('observe broke'); }, predict: () => [] },
    sizeOf: (value) => {
      if (value === 'x') throw new Error('cannot size');
      return 1;
    },
    onFault: (fault) => {
      // A sizeOf that threw arrives as ERR_INVALID_VALUE naming the key, its own error as the cause.
      const error = fault.error as Error;
      faults.push([fault.kind, error.cause instanceof Error ? `${(error as { code?: string }).code}: ${error.cause.message}` : error.message]);
      throw new Error('the handler broke too');
    },
  });
  cache.on('origin:failed', () => {});
  cache.on('prefetch:issued', () => {});
  await cache.get('a', { session: 's' });
  clock.advance(1);
  await cache.get('bad');
  assert.deepEqual(faults, [['model', 'observe broke'], ['store', 'ERR_INVALID_VALUE: cannot size']]);
  assert.throws(() => new Cache<string>({ origin: new MapOrigin<string>([]), onFault: 'log' as never }), (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  await cache.close();
});

test('onFault hears a listener that threw', async () => {
  const faults: string[] = [];
  const cache = new Cache<string>({ origin: new MapOrigin([['a', 'A']]), clock: new VirtualClock(0), onFault: (f) => faults.push(`${f.kind}:${(f.error as Error).message}`) });
  cache.on('prefetch:issued', () => {
    throw new Error('listener broke');
  });
  cache.prefetch(['a']);
  assert.deepEqual(faults, ['listener:listener broke']);
  await cache.close();
});

test('a failure of the cache\'s own work on fresh predictions is an internal fault, told apart from a model\'s', async () => {
  const clock = new VirtualClock(0);
  const faults: string[] = [];
  const predictor: Predictor = { name: 'p', observe() {}, predict: () => [{ key: 'b', probability: 0.9 }] };
  const cache = new Cache<string>({ origin: new MapOrigin([['a', 'A'], ['b', 'B']]), clock, predictor, onFault: (fault) => faults.push(fault.kind) });
  const original = ShadowCatalogs.prototype.predicted;
  ShadowCatalogs.prototype.predicted = () => {
    throw new Error('a bug of ours'); // stands in for a defect in the catalogs, which no input can reach on purpose
  };
  try {
    const read = await cache.get('a', { session: 's', user: 'u' });
    cache.flush();
    assert.equal(read.value, 'A');
    assert.deepEqual(faults, ['internal']);
    assert.deepEqual([cache.stats().internalErrors, cache.stats().modelErrors], [1, 0]);
  } finally {
    ShadowCatalogs.prototype.predicted = original;
  }
  const broken = new Cache<string>({ origin: new MapOrigin([['a', 'A']]), clock, predictor: { name: 'q', observe() {}, predict: () => null as never } });
  await broken.get('a', { session: 's' });
  broken.flush();
  assert.deepEqual([broken.stats().modelErrors, broken.stats().internalErrors], [1, 0], 'a predictor answering no array is the model\'s fault');
  await Promise.all([cache.close(), broken.close()]);
});

test('a model that throws slowly is held to the prediction budget\'s slices like one that answers', async () => {
  const slices: number[] = [];
  for (const throws of [false, true]) {
    let t = 0;
    const clock = new VirtualClock(0);
    const predictor: Predictor = { name: 'slow', observe() {}, predict: () => { t += 10; if (throws) throw new Error('model down'); return []; } };
    const origin = new MapOrigin(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'] as [string, string]));
    const cache = new Cache<string>({ origin, clock, predictor, prefetch: { budget: { now: () => t, maxSliceMs: 4, maxShare: 1, windowMs: 100_000 } }, onFault: () => {} });
    for (let i = 0; i < 20; i++) await cache.get(`k${i}`, { session: `s${i}` });
    await clock.advanceAsync(0);
    slices.push(cache.stats().budget?.slices ?? 0);
    await cache.close();
  }
  assert.equal(slices[0], 20, 'each 10 ms prediction ends its 4 ms slice');
  assert.equal(slices[1], 20, 'the same when every prediction throws (it used to run all 20 in one slice)');
});

test('a model answering an array with a null item is the model\'s fault, not an internal one', async () => {
  const clock = new VirtualClock(0);
  const cache = new Cache<string>({ origin: new MapOrigin([['a', 'A']]), clock, predictor: { name: 'q', observe() {}, predict: () => [null] as never } });
  await cache.get('a', { session: 's' });
  cache.flush();
  assert.deepEqual([cache.stats().modelErrors, cache.stats().internalErrors], [1, 0]);
  await cache.close();
});

test('a read, a delete and a read of one key in one turn: one origin fetch, counted once in pendingFetches', async () => {
  const m = manualOrigin();
  m.put('k', 'v');
  const cache = new Cache<string>({ origin: m.origin, clock: new VirtualClock(0) });
  const first = cache.get('k');
  void cache.delete('k');
  const second = cache.get('k');
  await flushMicrotasks();
  assert.equal(cache.pendingFetches, 1);
  m.answer(0);
  assert.equal((await first).value, 'v');
  assert.equal((await second).value, 'v');
  assert.equal(cache.pendingFetches, 0);
  await cache.close();
});

test('read, delete, read, delete of one key in one turn: the batch names it once, pendingFetches counts it once', async () => {
  const m = manualOrigin();
  m.put('k', 'v');
  const cache = new Cache<string>({ origin: m.origin, clock: new VirtualClock(0) });
  const first = cache.get('k');
  void cache.delete('k');
  const second = cache.get('k');
  void cache.delete('k');
  await flushMicrotasks();
  assert.deepEqual(m.calls.map((c) => c.keys), [['k']]);
  assert.equal(cache.pendingFetches, 1);
  m.answer(0);
  assert.equal((await first).value, 'v');
  assert.equal((await second).value, 'v');
  assert.equal(cache.pendingFetches, 0);
  assert.equal(cache.peek('k'), undefined, 'a discarded answer is not stored');
  await cache.close();
});
