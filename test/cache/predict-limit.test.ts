import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { ScriptedPredictor } from '../doubles/scripted-predictor.ts';

/** After k0 the script names k1..k25, all equally likely; the budget lets every one of them be fetched. */
async function prefetchedAfterK0(prefetch: Record<string, unknown>): Promise<string[]> {
  const clock = new VirtualClock();
  const origin = new MapOrigin(Array.from({ length: 30 }, (_, i): [string, string] => [`k${i}`, `v${i}`]));
  const next = Array.from({ length: 25 }, (_, i): [string, number] => [`k${i + 1}`, 0.9]);
  const cache = new Cache<string>({
    origin,
    clock,
    predictor: new ScriptedPredictor({ k0: next }),
    prefetch: { minProbability: 0.01, maxExtraLoad: 100, maxBurst: 100, maxBatch: 100, paceOffers: false, ...prefetch },
  });
  await cache.get('k0', { session: 's' });
  await clock.advanceAsync(5);
  const held = next.map(([key]) => key).filter((key) => cache.peek(key) !== undefined);
  await cache.close();
  return held;
}

describe('Cache predictLimit', () => {
  test('asks the models for 20 predictions per context by default, and for predictLimit when given', async () => {
    const byDefault = await prefetchedAfterK0({});
    assert.equal(byDefault.length, 20);
    assert.deepEqual(byDefault, Array.from({ length: 20 }, (_, i) => `k${i + 1}`), 'the first 20 in the models’ order');
    const eight = await prefetchedAfterK0({ predictLimit: 8 });
    assert.deepEqual(eight, Array.from({ length: 8 }, (_, i) => `k${i + 1}`));
  });
});
