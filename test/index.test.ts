import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as prescient from '../src/index.ts';

test('the public entry point exports the engine, the predictors and the simulator by name', async () => {
  for (const name of ['Cache', 'MemoryTier', 'FrequencySketch', 'VirtualClock', 'systemClock', 'FunctionOrigin', 'MarkovPredictor', 'DeltaPredictor', 'PopularityPredictor', 'EnsemblePredictor', 'SessionKnnPredictor', 'PrefetchScheduler', 'Feedback', 'PrescientError', 'openTrace', 'simulate']) {
    assert.ok(name in prescient, `${name} is exported`);
  }
  const cache = new prescient.Cache({ origin: new prescient.MapOrigin([['a', 1]]), clock: new prescient.VirtualClock(), predictor: new prescient.EnsemblePredictor() });
  assert.equal((await cache.get('a', { session: 's' })).value, 1);
  await cache.close();
});
