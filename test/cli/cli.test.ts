import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { run } from './run-cli.ts';
import { policyNames } from '../../src/sim/sim-result.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));


const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isRatio = (x: unknown): boolean => typeof x === 'number' && x >= 0 && x <= 1;
const isNonNegative = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const isCount = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0;

/** Checks one replay --json document against the documented shape; returns the list of problems found. */
function replayDocumentProblems(doc: unknown, capacities: readonly number[], policies: readonly string[]): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  if (!isObject(doc)) return ['document is not an object'];
  check(typeof doc.trace === 'string' && doc.trace.length > 0, 'trace is a non-empty string');
  check(Number.isSafeInteger(doc.requests) && (doc.requests as number) > 0, 'requests is a positive integer');
  check(Number.isSafeInteger(doc.distinctKeys) && (doc.distinctKeys as number) > 0, 'distinctKeys is a positive integer');
  check((doc.distinctKeys as number) <= (doc.requests as number), 'distinctKeys <= requests');
  check(typeof doc.timing === 'string' && doc.timing.length > 0, 'timing is a non-empty string');
  check(typeof doc.originLatencyMs === 'number' || typeof doc.originLatencyMs === 'string', 'originLatencyMs is a number or a string');
  check(Array.isArray(doc.runs), 'runs is an array');
  if (!Array.isArray(doc.runs)) return problems;
  check(doc.runs.length === capacities.length, `one run per capacity (${capacities.length})`);
  doc.runs.forEach((run: unknown, i: number) => {
    if (!isObject(run)) return check(false, `runs[${i}] is an object`);
    check(run.capacity === capacities[i], `runs[${i}].capacity is ${capacities[i]}`);
    if (!Array.isArray(run.results)) return check(false, `runs[${i}].results is an array`);
    check(
      JSON.stringify(run.results.map((r: { policy?: unknown }) => r.policy)) === JSON.stringify(policies),
      `runs[${i}] has one result per policy, in order`,
    );
    run.results.forEach((r: unknown, j: number) => {
      const at = `runs[${i}].results[${j}]`;
      if (!isObject(r)) return check(false, `${at} is an object`);
      check(typeof r.policy === 'string' && (policyNames as readonly string[]).includes(r.policy), `${at}.policy is a known policy`);
      check(isRatio(r.hitRatio), `${at}.hitRatio in [0,1]`);
      check(isRatio(r.inflightRatio), `${at}.inflightRatio in [0,1]`);
      check((r.hitRatio as number) + (r.inflightRatio as number) <= 1 + 1e-9, `${at} hits + in flight <= 1`);
      for (const field of ['meanLatencyMs', 'p50LatencyMs', 'p99LatencyMs', 'originFetchesPerRequest']) {
        check(isNonNegative(r[field]), `${at}.${field} is a non-negative number`);
      }
      check((r.p50LatencyMs as number) <= (r.p99LatencyMs as number), `${at} p50 <= p99`);
      const pf = r.prefetch;
      if (!isObject(pf)) return check(false, `${at}.prefetch is an object`);
      check(isCount(pf.issued), `${at}.prefetch.issued is a count`);
      check(isCount(pf.used), `${at}.prefetch.used is a count`);
      check((pf.used as number) <= (pf.issued as number), `${at}.prefetch.used <= issued`);
      check(isRatio(pf.precision), `${at}.prefetch.precision in [0,1]`);
      check(isRatio(pf.coverage), `${at}.prefetch.coverage in [0,1]`);
    });
  });
  return problems;
}

describe('prescient replay', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'prescient-cli-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('--json prints one document of the documented shape: a run per capacity, a result per policy', async () => {
    const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '5,10', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc: unknown = JSON.parse(r.stdout);
    assert.deepEqual(replayDocumentProblems(doc, [5, 10], policyNames), []);
    const d = doc as { requests: number; distinctKeys: number; originLatencyMs: unknown };
    assert.equal(d.requests, 300);
    assert.equal(d.originLatencyMs, 20);
  });

  test('--policies limits the results to the policies named, in that order', async () => {
    const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '10', '--policies', 'belady,lru', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc: unknown = JSON.parse(r.stdout);
    assert.deepEqual(replayDocumentProblems(doc, [10], ['belady', 'lru']), []);
  });

  test('a percentage capacity resolves against the distinct keys', async () => {
    const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '50%', '--policies', 'lru', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { distinctKeys: number; runs: Array<{ capacity: number }> };
    assert.equal(doc.runs[0].capacity, Math.round(doc.distinctKeys / 2));
  });

  test('without --json prints a table naming every policy at every capacity', async () => {
    const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '5,10']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /capacity 5 entries/);
    assert.match(r.stdout, /capacity 10 entries/);
    for (const policy of policyNames) {
      assert.equal(r.stdout.split('\n').filter((line) => line.startsWith(`${policy} `)).length, 2, `${policy} has a row per capacity`);
    }
    assert.match(r.stdout, /requests: 300/);
  });

  test('--report writes an HTML page with charts and says where', async () => {
    const report = join(dir, 'report.html');
    const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '5,10', '--report', report]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(report));
    const html = readFileSync(report, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.ok(html.includes('<svg'));
    assert.match(r.stdout, new RegExp(`report written to ${report.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  test('a malformed line is reported on stderr with its line number and skipped', async () => {
    const r = await run(['replay', fixture('replay-keys-malformed.txt'), '--format', 'keys', '--capacity', '5', '--policies', 'lru', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped 1 malformed line/);
    assert.match(r.stderr, /line 5\b/);
    const doc = JSON.parse(r.stdout) as { requests: number; malformedLines: number };
    assert.equal(doc.requests, 40);
    assert.equal(doc.malformedLines, 1);
  });

  test('with --strict a malformed line is fatal: exit 1, ERR_TRACE_PARSE and the line on stderr', async () => {
    const r = await run(['replay', fixture('replay-keys-malformed.txt'), '--format', 'keys', '--capacity', '5', '--policies', 'lru', '--strict']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_TRACE_PARSE/);
    assert.match(r.stderr, /replay-keys-malformed\.txt:5\b/);
    assert.equal(r.stdout, '');
  });

  test('a missing trace file exits non-zero with ERR_TRACE_NOT_FOUND', async () => {
    const r = await run(['replay', join(dir, 'no-such-trace.txt'), '--capacity', '5']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ERR_TRACE_NOT_FOUND/);
  });

  test('an unknown policy is a usage error: exit 2', async () => {
    const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--policies', 'lru,clairvoyant']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /clairvoyant/);
  });

  test('a bad --capacity is a usage error: exit 2', async () => {
    for (const capacity of ['abc', '0', '-3%']) {
      const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', capacity, '--policies', 'lru']);
      assert.equal(r.code, 2, `--capacity ${capacity}: ${r.stderr}`);
      assert.match(r.stderr, /ERR_INVALID_OPTION|capacity/);
    }
  });

  test('a bad --origin-latency-ms is a usage error: exit 2', async () => {
    for (const latency of ['slow', '1e308', '3600001', 'lognormal:20:50']) {
      const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--origin-latency-ms', latency]);
      assert.equal(r.code, 2, `--origin-latency-ms ${latency}: ${r.stderr}`);
    }
  });

  test('--no-header over a file whose first line looks like one: the note says it is read as data, and which column is the key', async () => {
    const r = await run(['replay', fixture('eval-sessions.csv'), '--no-header', '--capacity', '10', '--policies', 'lru']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /the first line looks like a header, but --no-header reads it as data; no header line: key = column 0/);
  });

  test('a --readahead past 1024 is a usage error (it used to run for minutes and take gigabytes); a policy named twice runs once', async () => {
    const big = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--policies', 'readahead', '--readahead', '10000000']);
    assert.equal(big.code, 2);
    assert.match(big.stderr, /at most 1024/);
    const twice = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '10', '--policies', 'lru,lru', '--json']);
    assert.equal(twice.code, 0, twice.stderr);
    assert.deepEqual(replayDocumentProblems(JSON.parse(twice.stdout), [10], ['lru']), []);
  });
});

describe('prescient evaluate', () => {
  type EvaluationJson = {
    trainRequests: number;
    testRequests: number;
    predictors: Array<{ name: string; recall: Record<string, number>; mrr: Record<string, number> }>;
  };

  function evaluationProblems(doc: unknown, ks: readonly string[]): string[] {
    const problems: string[] = [];
    const check = (ok: boolean, what: string): void => {
      if (!ok) problems.push(what);
    };
    if (!isObject(doc)) return ['document is not an object'];
    check(isCount(doc.trainRequests) && (doc.trainRequests as number) > 0, 'trainRequests is a positive count');
    check(isCount(doc.testRequests) && (doc.testRequests as number) > 0, 'testRequests is a positive count');
    if (!Array.isArray(doc.predictors) || doc.predictors.length === 0) return [...problems, 'predictors is a non-empty array'];
    for (const p of doc.predictors as unknown[]) {
      if (!isObject(p)) {
        check(false, 'predictor is an object');
        continue;
      }
      check(typeof p.name === 'string' && p.name.length > 0, 'predictor has a name');
      for (const metric of ['recall', 'mrr'] as const) {
        const m = p[metric];
        if (!isObject(m)) {
          check(false, `${String(p.name)}.${metric} is an object`);
          continue;
        }
        check(JSON.stringify(Object.keys(m).sort()) === JSON.stringify([...ks].sort()), `${String(p.name)}.${metric} has keys ${ks.join(',')}`);
        for (const k of ks) check(isRatio(m[k]), `${String(p.name)}.${metric}[${k}] in [0,1]`);
      }
      const recall = p.recall as Record<string, number>;
      const mrr = p.mrr as Record<string, number>;
      for (const k of ks) check(mrr[k] <= recall[k] + 1e-9, `${String(p.name)} MRR@${k} <= Recall@${k}`);
    }
    return problems;
  }

  test('--json prints train and test sizes and Recall@k and MRR@k per predictor for the default cut-offs', async () => {
    const r = await run(['evaluate', fixture('eval-sessions.csv'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as EvaluationJson;
    assert.deepEqual(evaluationProblems(doc, ['1', '5', '20']), []);
    // 60 sessions, 216 requests; the last 20% of sessions (by start) are the test set.
    assert.equal(doc.trainRequests + doc.testRequests, 215);
    const best = Math.max(...doc.predictors.map((p) => p.recall['5']));
    assert.ok(best > 0.5, `the a -> b -> c pattern is learnt by some predictor (best Recall@5 ${best})`);
  });

  test('--k chooses the cut-offs reported, each once', async () => {
    const r = await run(['evaluate', fixture('eval-sessions.csv'), '--k', '1,3,3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(evaluationProblems(JSON.parse(r.stdout), ['1', '3']), []);
    const table = await run(['evaluate', fixture('eval-sessions.csv'), '--k', '3,3']);
    const columns = table.stdout.split('\n').find((l) => /R@3/.test(l))?.trim().split(/\s+/);
    assert.deepEqual(columns, ['predictor', 'R@3', 'MRR@3'], table.stdout);
  });

  test('a --k past 1000 is a usage error, not an internal one', async () => {
    for (const k of ['99999999999', '1,1001']) {
      const r = await run(['evaluate', fixture('eval-sessions.csv'), '--k', k]);
      assert.equal(r.code, 2, `--k ${k}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /ERR_INTERNAL/);
    }
  });

  test('--train-fraction moves the cut', async () => {
    const small = JSON.parse((await run(['evaluate', fixture('eval-sessions.csv'), '--train-fraction', '0.5', '--json'])).stdout) as EvaluationJson;
    const large = JSON.parse((await run(['evaluate', fixture('eval-sessions.csv'), '--train-fraction', '0.9', '--json'])).stdout) as EvaluationJson;
    assert.ok(small.trainRequests < large.trainRequests);
    assert.ok(small.testRequests > large.testRequests);
  });

  test('without --json prints a table with a row per predictor', async () => {
    const json = JSON.parse((await run(['evaluate', fixture('eval-sessions.csv'), '--json'])).stdout) as EvaluationJson;
    const r = await run(['evaluate', fixture('eval-sessions.csv')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /R@1\s+R@5\s+R@20\s+MRR@1/);
    for (const p of json.predictors) assert.match(r.stdout, new RegExp(`^${p.name}\\s`, 'm'));
  });

  test('--train-fraction and --train-until together are a usage error: exit 2', async () => {
    const r = await run(['evaluate', fixture('eval-sessions.csv'), '--train-fraction', '0.5', '--train-until', '1700001000', '--json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_USAGE/);
    assert.equal(r.stdout, '');
  });

  test('--train-until on a trace without timestamps says so: exit 2', async () => {
    const r = await run(['evaluate', fixture('sessions.txt'), '--format', 'sessions', '--train-until', '1700001000']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ERR_USAGE: The trace has no timestamps/);
  });

  test('a --train-fraction outside (0, 1) is a usage error: exit 2', async () => {
    const r = await run(['evaluate', fixture('eval-sessions.csv'), '--train-fraction', '1.5']);
    assert.equal(r.code, 2);
  });
});

describe('prescient', () => {
  test('--help prints the commands and exits 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const command of ['replay', 'evaluate', 'demo']) assert.match(r.stdout, new RegExp(`\\b${command}\\b`));
  });

  test('replay --help prints its flags and exits 0', async () => {
    const r = await run(['replay', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--capacity/);
    assert.match(r.stdout, /--policies/);
    assert.match(r.stdout, /--origin-latency-ms <ms>[^-]*\(default: 20\)/, 'the latency default reads as given on the command line');
  });

  test('demo and evaluate --help show their defaults as a user would type them', async () => {
    const demo = await run(['demo', '--help']);
    assert.equal(demo.code, 0);
    assert.match(demo.stdout, /--report <file>[^-]*\(default:\s+"prescient-demo-report\.html"\)/);
    assert.match(demo.stdout, /--port <n>\s+port of the demo server \(default: a free one\)\n/);
    assert.doesNotMatch(demo.stdout, /"label"|\(default: 0\)/);
    const evaluate = await run(['evaluate', '--help']);
    assert.match(evaluate.stdout, /--train-fraction <f>[^-]*default:\s+0\.8/);
  });

  test('an unknown command is a usage error: exit 2', async () => {
    const r = await run(['rewind']);
    assert.equal(r.code, 2);
  });
});

describe('prescient command line faults', () => {
  test('a report path that cannot be written fails with ERR_WRITE_FAILED and exit 1, not a stack trace', async () => {
    const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '5', '--policies', 'lru', '--report', '/nonexistent-dir/r.html']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_WRITE_FAILED/);
    assert.match(r.stderr, /nonexistent-dir/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  test('a trace whose every line is malformed says which lines before failing with ERR_TRACE_EMPTY', async () => {
    const r = await run(['replay', fixture('blank-keys.txt'), '--format', 'keys', '--capacity', '5', '--policies', 'lru']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /malformed line\(s\) \(first: line \d+/);
    assert.match(r.stderr, /ERR_TRACE_EMPTY/);
  });

  test('evaluate refuses a trace without sessions with a usage error', async () => {
    const r = await run(['evaluate', fixture('replay-keys.txt'), '--format', 'keys']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_USAGE.*no sessions/);
  });
});

test('--prefetch-budget sets the load prescient may add and the document says so', async () => {
  const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '10', '--policies', 'lru,prescient', '--prefetch-budget', '0.5', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { prefetchBudget: number }).prefetchBudget, 0.5);
  const bad = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--prefetch-budget', '-1']);
  assert.equal(bad.code, 2);
});
