import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';
import { writeReplayReport } from '../../src/sim/report.ts';
import { toReplayDocument } from '../../src/sim/replay-document.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';
import { policyNames } from '../../src/sim/sim-result.ts';
import { simulate, type SimulationRun } from '../../src/sim/simulator.ts';
import type { Workload } from '../../src/sim/workload.ts';

/** A small seeded workload of 400 requests over 40 keys in 10 sessions, named `trace`. */
function smallWorkload(trace: string): Workload {
  const random = seededRandom(11);
  const n = 400;
  const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
  return {
    trace,
    requests: n,
    keys,
    sessions: Array.from({ length: 10 }, (_, i) => `s${i}`),
    users: [],
    keyIds: Int32Array.from({ length: n }, () => Math.floor(random() * keys.length)),
    sessionIds: Int32Array.from({ length: n }, (_, i) => i % 10),
    userIds: new Int32Array(n).fill(-1),
    arrivalMs: Float64Array.from({ length: n }, (_, i) => i * 25),
    timing: 'test timing',
    timingKind: 'interleaved',
  };
}

async function reportFor(trace: string, capacities: readonly number[]): Promise<{ html: string; runs: SimulationRun[] }> {
  const workload = smallWorkload(trace);
  const runs = await simulate(workload, {
    capacities,
    policies: policyNames,
    originLatencyMs: 20,
    predictor: () => new EnsemblePredictor(),
    seed: 1,
  });
  const doc = toReplayDocument(workload, runs, { originLatencyMs: 20, originConcurrency: Infinity, malformedLines: 0, prefetchBudget: 0.3 });
  return { html: writeReplayReport(doc, runs), runs };
}

const count = (html: string, needle: string): number => html.split(needle).length - 1;

describe('writeReplayReport', () => {
  test('draws one chart for hit ratio, one for origin load and one latency CDF per capacity', async () => {
    const { html } = await reportFor('small.txt', [4, 8, 16]);
    assert.equal(count(html, '<svg'), 2 + 3);
    assert.equal(count(html, '</svg>'), 2 + 3);
    assert.match(html, /Hit ratio against capacity/);
    assert.match(html, /Origin load against hit ratio/);
    for (const capacity of [4, 8, 16]) assert.match(html, new RegExp(`Latency distribution at ${capacity} entries`));
  });

  test('names every policy and has no script', async () => {
    const { html } = await reportFor('small.txt', [8]);
    assert.equal(count(html, '<svg'), 3);
    for (const policy of policyNames) assert.ok(html.includes(`<td>${policy}</td>`), `${policy} in the results table`);
    assert.doesNotMatch(html, /<script/i);
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<\/html>\s*$/);
  });

  test('places every chart point at a finite coordinate', async () => {
    for (const capacities of [[8], [4, 8, 16]]) {
      const { html } = await reportFor('small.txt', capacities);
      assert.doesNotMatch(html, /NaN|Infinity/);
    }
  });

  test('holds one table row per policy and capacity', async () => {
    const { html, runs } = await reportFor('small.txt', [4, 8]);
    const rows = count(html, '<tr><td>');
    assert.equal(rows, runs.length * policyNames.length);
  });

  test('escapes the trace name, so a hostile file name cannot inject markup', async () => {
    const { html } = await reportFor('<script>alert(1)</script>&.txt', [8]);
    assert.doesNotMatch(html, /<script/i);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&amp;.txt'));
  });
});
