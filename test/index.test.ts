import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as prescient from '../src/index.ts';

test('the public entry point exports the engine, the predictors and the simulator by name', async () => {
  for (const name of ['Cache', 'isSameEntry', 'MemoryTier', 'FrequencySketch', 'VirtualClock', 'systemClock', 'FunctionOrigin', 'MarkovPredictor', 'DeltaPredictor', 'PopularityPredictor', 'EnsemblePredictor', 'SessionKnnPredictor', 'PrefetchScheduler', 'Feedback', 'PrescientError', 'openTrace', 'simulate']) {
    assert.ok(name in prescient, `${name} is exported`);
  }
  const cache = new prescient.Cache({ origin: new prescient.MapOrigin([['a', 1]]), clock: new prescient.VirtualClock(), predictor: new prescient.EnsemblePredictor() });
  assert.equal((await cache.get('a', { session: 's' })).value, 1);
  await cache.close();
});

test('the prescient/server entry point exports the service and the dashboard for library use', async () => {
  const server = await import('../src/server.ts');
  for (const name of ['createServer', 'resolveConfig', 'Service', 'registerDashboard', 'DashboardFeed', 'toHttpError']) assert.ok(name in server, `${name} is exported`);
});
