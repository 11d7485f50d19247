import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxLatencySample, summarizeLatency } from '../../src/sim/sim-result.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

/** Nearest-rank percentile of an ascending array, computed here independently of the code under test. */
const nearestRank = (sorted: readonly number[], q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];

test('the CDF sample ends at the slowest latency and holds each (i + 1) / size nearest-rank quantile', () => {
  const n = 100_000;
  const s = summarizeLatency(Float64Array.from({ length: n }, (_, i) => n - i));
  assert.equal(s.sample.length, maxLatencySample);
  assert.equal(s.sample.at(-1), n, 'the last point is the maximum');
  assert.equal(s.sample[0], n / maxLatencySample, 'the first point is the 1/2000 quantile');
  for (let i = 0; i < s.sample.length; i++) assert.equal(s.sample[i], Math.ceil(((i + 1) * n) / maxLatencySample));
});

test('a single slow request among 2,001 shows at the top of the sample', () => {
  const latencies = Float64Array.from({ length: 2001 }, (_, i) => (i < 2000 ? 20 : 3_600_000));
  assert.equal(summarizeLatency(latencies).sample.at(-1), 3_600_000);
});

test('below 2,000 latencies the sample is all of them, sorted', () => {
  const s = summarizeLatency(Float64Array.from([30, 0, 20, 10]));
  assert.deepEqual(s.sample, [0, 10, 20, 30]);
});

test('the reported mean and percentiles stay the nearest-rank figures of every latency, not of the sample', () => {
  const random = seededRandom(3);
  for (const n of [1, 7, 1999, 2000, 2001, 123_457]) {
    const values = Array.from({ length: n }, () => (random() < 0.4 ? 0 : Math.round(20 * Math.exp(3 * (random() - 0.5)) * 1000) / 1000));
    const sorted = [...values].sort((a, b) => a - b);
    const s = summarizeLatency(Float64Array.from(values));
    assert.equal(s.mean, values.reduce((a, b) => a + b, 0) / n);
    assert.deepEqual([s.p50, s.p95, s.p99], [nearestRank(sorted, 0.5), nearestRank(sorted, 0.95), nearestRank(sorted, 0.99)]);
    assert.equal(s.sample.at(-1), sorted.at(-1));
  }
});
