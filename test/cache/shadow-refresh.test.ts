import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { PredictionBudget, resolvePredictionBudget } from '../../src/cache/prediction-budget.ts';
import { VirtualClock } from '../../src/clock.ts';
import type { ReadContext } from '../../src/context.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { Access, Prediction, Predictor } from '../../src/predict/predictor.ts';

/** Predicts, after a context's last key, the keys its script names. */
class Scripted implements Predictor {
  readonly name = 'scripted';
  readonly #last = new Map<string, string>();
  readonly script: Record<string, Array<[string, number]>>;
  constructor(script: Record<string, Array<[string, number]>>) {
    this.script = script;
  }
  observe(a: Access): void {
    this.#last.set(a.ctx.session ?? a.ctx.user ?? '', a.key);
  }
  predict(ctx: ReadContext, limit: number): Prediction[] {
    const last = this.#last.get(ctx.session ?? ctx.user ?? '');
    return last === undefined ? [] : (this.script[last] ?? []).map(([key, probability]) => ({ key, probability, source: 'scripted' })).slice(0, limit);
  }
}

function rig(script: Record<string, Array<[string, number]>>, extra: Record<string, unknown> = {}) {
  const clock = new VirtualClock();
  const origin = new MapOrigin<string>(Array.from({ length: 40 }, (_, i) => [`k${i}`, `v${i}`]));
  const cache = new Cache<string>({ origin, clock, predictor: new Scripted(script), prefetch: { minProbability: 0.01 }, ...extra });
  return { clock, origin, cache };
}

const u1 = { session: 's1', user: 'u1' };

/** k1 prefetched into u1's catalog, then written by the app, then pushed out of the memory tier by other reads. */
async function catalogOnly(write: (cache: Cache<string>, origin: MapOrigin<string>) => Promise<void>) {
  const r = rig({ k0: [['k1', 0.9]] }, { maxBytes: 10, sizeOf: () => 1, ttlMs: 60_000, staleAfterMs: 1000, shadow: { maxBytesOutsideTier: 100 } });
  await r.cache.get('k0', u1);
  await r.clock.advanceAsync(1);
  await write(r.cache, r.origin);
  for (let i = 2; i < 30; i++) {
    await r.cache.get(`k${i}`);
    await r.cache.get(`k${i}`);
  }
  await r.clock.advanceAsync(1);
  assert.equal(r.cache.peek('k1'), undefined, 'the memory tier evicted k1');
  assert.ok(r.cache.shadow('u1').some((i) => i.key === 'k1'), "u1's catalog kept it");
  return r;
}

describe('shadow catalogs: an entry only a catalog keeps', () => {
  test('a refresh through the catalog keeps its tags and TTL: invalidate({ tag }) still finds it', async () => {
    const r = await catalogOnly(async (cache, origin) => {
      origin.records.set('k1', { key: 'k1', value: 'price=10', version: 2 });
      await cache.set('k1', 'price=10', { tags: ['product:1'], ttlMs: 5000 });
    });
    r.clock.advance(1500); // past staleAfterMs: the catalog refreshes before it serves
    assert.equal((await r.cache.get('k1', u1)).value, 'price=10');
    await r.clock.advanceAsync(1);
    const refreshed = r.cache.peek('k1')!;
    assert.deepEqual(refreshed.tags, ['product:1']);
    assert.equal(refreshed.expiresAt - refreshed.createdAt, 5000);
    r.origin.records.set('k1', { key: 'k1', value: 'price=99', version: 3 });
    assert.equal(await r.cache.invalidate({ tag: 'product:1' }), 1);
    assert.equal((await r.cache.get('k1', u1)).value, 'price=99');
    await r.cache.close();
  });

  test('a newer version the catalog keeps than the origin has is renewed once, not fetched on every read', async () => {
    const r = await catalogOnly(async (cache) => void (await cache.set('k1', 'local-write')));
    r.clock.advance(1500);
    const before = r.origin.calls;
    for (let i = 0; i < 4; i++) {
      const read = await r.cache.get('k1', u1);
      assert.equal(read.value, 'local-write');
      r.clock.advance(10);
    }
    assert.equal(r.origin.calls - before, 1, 'one refresh, then the renewed entry serves');
    await r.cache.close();
  });
});

describe('prediction loop faults and counts', () => {
  test('a predictor whose isBehind throws fails no read: the fault is counted and told', async () => {
    const faults: string[] = [];
    const predictor = Object.assign(new Scripted({}), { isBehind: (): boolean => { throw new Error('model queue broken'); } });
    const cache = new Cache<string>({ origin: new MapOrigin<string>([['k0', 'v0']]), clock: new VirtualClock(), predictor, onFault: (f) => void faults.push(f.kind) });
    assert.equal((await cache.get('k0', { user: 'u' })).status, 'miss');
    assert.equal((cache.read('k0') as { status: string }).status, 'hit');
    assert.ok(cache.stats().modelErrors >= 2);
    assert.ok(faults.length >= 2 && faults.every((k) => k === 'model'));
    await cache.close();
  });

  test('a prefetch the memory tier evicted and a catalog then served is counted used, not wasted too', async () => {
    const others: Array<[string, number]> = Array.from({ length: 8 }, (_, i) => [`k${21 + i}`, 0.95]);
    const r = rig({ k0: [['k1', 0.9]], k20: others }, { maxBytes: 10, sizeOf: () => 1, memory: { prefetchFraction: 0.5, adaptive: false } });
    const events: string[] = [];
    r.cache.on('prefetch:used', (e) => void events.push(`used ${e.key}`));
    r.cache.on('prefetch:wasted', (e) => void events.push(`wasted ${e.key}`));
    await r.cache.get('k0', u1);
    await r.clock.advanceAsync(1);
    await r.cache.get('k20', { session: 's2' });
    await r.clock.advanceAsync(1);
    assert.equal(r.cache.peek('k1'), undefined, 'the prefetch region evicted k1');
    assert.equal((r.cache.read('k1', u1) as { servedFrom: string }).servedFrom, 'shadow');
    assert.deepEqual(events.filter((e) => e.endsWith(' k1')), ['used k1']);
    await r.cache.close();
  });

  test("a catalog read of an entry no prediction brought in is a hit, not 'prefetched'", async () => {
    const r = rig({ k0: [['k2', 0.9]] });
    await r.cache.get('k2'); // loaded on demand
    for (let u = 0; u < 3; u++) {
      await r.cache.get('k0', { session: `s${u}`, user: `u${u}` });
      await r.clock.advanceAsync(1);
    }
    for (let u = 0; u < 3; u++) assert.equal((r.cache.read('k2', { session: `s${u}`, user: `u${u}` }) as { status: string }).status, 'hit');
    assert.equal(r.cache.stats().reads.prefetched, 0);
    await r.cache.close();
  });

  test('a budget whose time source steps back waits one window at most, not the size of the step', () => {
    let t = 1_000_000;
    const budget = new PredictionBudget(resolvePredictionBudget('budget', { maxShare: 0.25, windowMs: 100, now: () => t })!);
    budget.charge(t, t + 30); // more than the window's 25 ms
    t += 30;
    assert.equal(budget.waitMs(t), 100);
    t -= 60_000;
    assert.ok(budget.waitMs(t) <= 100, `waits ${budget.waitMs(t)} ms`);
  });
});
