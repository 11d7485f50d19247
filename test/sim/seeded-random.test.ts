import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { latencyFromSpec, lognormalLatency, maxLatencyMs, seededRandom } from '../../src/sim/seeded-random.ts';

describe('lognormalLatency', () => {
  test('draws are capped at the one-hour limit a latency spec promises, even with the widest sigma allowed', () => {
    const random = seededRandom(9);
    for (const sample of [lognormalLatency(maxLatencyMs, 10), latencyFromSpec(`lognormal:${maxLatencyMs}:10`)]) {
      assert.equal(typeof sample, 'function');
      const draws = Array.from({ length: 2000 }, () => (sample as (r: () => number) => number)(random));
      assert.ok(draws.every((ms) => ms >= 0 && ms <= maxLatencyMs), `largest draw ${Math.max(...draws)} ms`);
      assert.ok(draws.some((ms) => ms === maxLatencyMs), 'the tail reaches the cap');
      assert.ok(draws.some((ms) => ms < 1000), 'the body is still spread out');
    }
  });
});
