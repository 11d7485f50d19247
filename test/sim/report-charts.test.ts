import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';
import { writeReplayReport } from '../../src/sim/report.ts';
import { toReplayDocument } from '../../src/sim/replay-document.ts';
import { latencyFromSpec, seededRandom } from '../../src/sim/seeded-random.ts';
import type { PolicyName } from '../../src/sim/sim-result.ts';
import { simulate, type SimulationRun } from '../../src/sim/simulator.ts';
import type { Workload } from '../../src/sim/workload.ts';

/** 2,000 seeded requests over 1,500 keys (skewed), so capacities from 10 to 1,137 give distinct hit ratios. */
function workload(): Workload {
  const random = seededRandom(7);
  const n = 2000;
  const keys = Array.from({ length: 1500 }, (_, i) => `k${i}`);
  return {
    trace: 'skewed.txt',
    requests: n,
    keys,
    sessions: [],
    users: [],
    keyIds: Int32Array.from({ length: n }, () => Math.floor(keys.length * random() ** 3)),
    sessionIds: new Int32Array(n).fill(-1),
    userIds: new Int32Array(n).fill(-1),
    arrivalMs: Float64Array.from({ length: n }, (_, i) => i * 25),
    timing: 'test timing',
    timingKind: 'sequential',
  };
}

async function report(capacities: readonly number[], options: { policies?: readonly PolicyName[]; latency?: string } = {}): Promise<{ html: string; runs: SimulationRun[] }> {
  const w = workload();
  const latency = latencyFromSpec(options.latency ?? '20');
  assert.ok(latency !== undefined);
  const runs = await simulate(w, {
    capacities,
    policies: options.policies ?? ['lru'],
    originLatencyMs: latency,
    predictor: () => new EnsemblePredictor(),
    seed: 1,
  });
  const doc = toReplayDocument(w, runs, { originLatencyMs: options.latency ?? 20, originConcurrency: Infinity, malformedLines: 0, prefetchBudget: 0.3 });
  return { html: writeReplayReport(doc, runs), runs };
}

/** The SVG charts of a report, in order. */
const charts = (html: string): string[] => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

/** The x-axis tick labels of a chart (the texts on the line below the plot), with their x in px. */
function xTicks(svg: string): Array<{ x: number; label: string }> {
  return [...svg.matchAll(/<text x="([\d.]+)" y="292" text-anchor="middle">([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), label: m[2] }));
}

/** The x coordinates of a chart's first polyline. */
function lineXs(svg: string): number[] {
  const points = /<polyline[^>]* points="([^"]*)"/.exec(svg)?.[1] ?? '';
  return points.split(' ').map((p) => Number(p.split(',')[0]));
}

const axisTitle = (svg: string): string => /<text x="[\d.]+" y="314" text-anchor="middle">([^<]*)<\/text>/.exec(svg)?.[1] ?? '';

describe('report charts', () => {
  test('the hit ratio line runs left to right by capacity whatever order the runs come in', async () => {
    const { runs } = await report([10, 100, 1000, 1137]);
    const shuffled = [runs[2], runs[0], runs[3], runs[1]];
    const w = workload();
    const doc = toReplayDocument(w, shuffled, { originLatencyMs: 20, originConcurrency: Infinity, malformedLines: 0, prefetchBudget: 0.3 });
    const html = writeReplayReport(doc, shuffled);
    const xs = lineXs(charts(html)[0]);
    assert.equal(xs.length, 4);
    assert.deepEqual(xs, [...xs].sort((a, b) => a - b), 'x grows along the line');
    const latencyTitles = [...html.matchAll(/Latency distribution at (\d+) entries/g)].map((m) => Number(m[1]));
    assert.deepEqual(latencyTitles, [10, 100, 1000, 1137]);
    const tableCapacities = [...html.matchAll(/<tr><td>(\d+)<\/td>/g)].map((m) => Number(m[1]));
    assert.deepEqual(tableCapacities, [10, 100, 1000, 1137]);
  });

  test('capacity ticks print exact capacities and skip one too close to the previous', async () => {
    const { html } = await report([10, 100, 1000, 1137]);
    const hit = charts(html)[0];
    assert.match(axisTitle(hit), /log scale/);
    const ticks = xTicks(hit);
    for (const t of ticks) assert.ok(['10', '100', '1000', '1137'].includes(t.label), `exact capacity, got ${t.label}`);
    assert.deepEqual(ticks.map((t) => t.label).slice(0, 3), ['10', '100', '1000']);
    for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i].x - ticks[i - 1].x >= 30, `${ticks[i - 1].label} and ${ticks[i].label} are ${ticks[i].x - ticks[i - 1].x} px apart`);
  });

  test('one capacity: a linear axis titled without "log scale", ticked at 0, the capacity and twice it', async () => {
    const { html } = await report([137]);
    const hit = charts(html)[0];
    assert.equal(axisTitle(hit), 'capacity (entries)');
    assert.deepEqual(xTicks(hit).map((t) => t.label), ['0', '137', '274']);
    const [x] = lineXs(hit);
    assert.equal(x, xTicks(hit)[1].x, 'the point sits on its tick');
  });

  test('a heavy-tailed latency CDF goes on a log axis with 0 ms (hits) at the left edge, and says so', async () => {
    const { html } = await report([100], { latency: 'lognormal:20:3', policies: ['none', 'lru'] });
    const cdf = charts(html)[2];
    assert.match(cdf, /Latency distribution at 100 entries/);
    assert.equal(axisTitle(cdf), 'latency ms (log scale; 0 ms at the left edge)');
    const ticks = xTicks(cdf);
    assert.equal(ticks[0].label, '0');
    const decades = ticks.slice(1).map((t) => t.label.replace('≤', ''));
    for (const d of decades) assert.match(d, /^(1e\d+|10*|0\.0*1)$/, `a power of ten, got ${d}`);
    assert.ok(decades.length >= 4, decades.join(' '));
    assert.ok(ticks.some((t) => t.label === '10' || t.label === '100'), 'the typical miss (about 20 ms) sits between ticks a reader can see');
    assert.doesNotMatch(html, /NaN|Infinity/);
    // The median latency of `lru` lands near the middle of the plot, not squeezed into its first pixels.
    for (const x of lineXs(cdf)) assert.ok(x >= 56 && x <= 440, `inside the plot: ${x}`);
  });

  test('a fixed origin latency keeps a linear latency axis', async () => {
    const { html } = await report([100]);
    const cdf = charts(html)[2];
    assert.equal(axisTitle(cdf), 'latency ms');
    assert.deepEqual(xTicks(cdf).map((t) => t.label), ['0', '5', '10', '15', '20']);
  });

  test('the HTML table has the p95 column and shows "-" for the prefetch ratios of a policy that issued none', async () => {
    const { html, runs } = await report([100], { policies: ['lru', 'prescient'] });
    assert.match(html, /<th>p50 ms<\/th><th>p95 ms<\/th><th>p99 ms<\/th>/);
    const lru = runs[0].results.find((r) => r.policy === 'lru');
    assert.ok(lru !== undefined);
    const row = /<tr><td>100<\/td><td>lru<\/td>(.*)<\/tr>/.exec(html)?.[1] ?? '';
    const cells = [...row.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    assert.equal(cells.length, 10, row);
    assert.equal(cells[4], lru.p95LatencyMs.toFixed(1));
    assert.deepEqual(cells.slice(-3), ['0', '-', '-']);
    const prescient = /<tr><td>100<\/td><td>prescient<\/td>(.*)<\/tr>/.exec(html)?.[1] ?? '';
    assert.doesNotMatch(prescient, /<td>-<\/td>/, 'a policy that prefetched shows its ratios');
  });
});
