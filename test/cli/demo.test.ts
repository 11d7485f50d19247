import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { demoTracePath } from '../../src/cli/demo.ts';
import { runServerDemo } from '../../src/cli/demo-server.ts';
import type { CliIo } from '../../src/cli/io.ts';
import type { DashboardSnapshot } from '../../src/server/dashboard.ts';
import { run } from './run-cli.ts';


describe('prescient demo', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'prescient-demo-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('the shipped sample trace is where the demo looks for it', () => {
    assert.ok(existsSync(demoTracePath), demoTracePath);
  });

  test('replays the shipped sample end to end: table, prescient-vs-LRU summary and the HTML report', async () => {
    // The simulator part on its own defaults (capacities 1% and 5%, every policy): about 10 s.
    const report = join(dir, 'demo-report.html');
    const r = await run(['demo', '--report', report, '--no-server']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /cache2k/);
    assert.match(r.stdout, /requests: 100000, distinct keys: 15128\b/);
    assert.match(r.stdout, /capacity 151 entries/);
    assert.match(r.stdout, /capacity 756 entries/);
    for (const policy of ['none', 'lru', 'tinylfu', 'readahead', 'belady', 'prescient', 'oracle']) {
      assert.equal(r.stdout.split('\n').filter((line) => line.startsWith(`${policy} `)).length, 2, `${policy} has a row per capacity`);
    }
    const summaries = r.stdout.split('\n').filter((line) => /^at \d+ entries: prescient \d+\.\d% hits vs LRU \d+\.\d% and Belady \d+\.\d%/.test(line));
    assert.equal(summaries.length, 2, 'one prescient-vs-LRU summary line per capacity');
    for (const line of summaries) assert.match(line, /origin fetches \d+\.\d\dx LRU's; prefetch precision \d+\.\d%/);
    assert.ok(r.stdout.includes(`report written to ${report}`));
    const html = readFileSync(report, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.equal(html.split('<svg').length - 1, 4, 'hit ratio, origin load and one latency CDF per capacity');
    assert.doesNotMatch(html, /<script/i);
  });

  test('--json prints the replay document instead of the table', async () => {
    const report = join(dir, 'demo-json.html');
    const r = await run(['demo', '--report', report, '--capacity', '1%', '--policies', 'lru', '--json', '--requests', '1000', '--users', '4']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      requests: number;
      runs: Array<{ results: Array<{ policy: string }> }>;
      http: { requests: number; runs: Array<{ prediction: boolean; requests: number; hitRatio: number }> };
    };
    assert.equal(doc.requests, 100_000);
    assert.deepEqual(doc.runs.map((run) => run.results.map((x) => x.policy)), [['lru']]);
    assert.ok(existsSync(report));
    assert.equal(doc.http.requests, 1000);
    assert.deepEqual(doc.http.runs.map((x) => [x.prediction, x.requests]), [[false, 1000], [true, 1000]]);
  });

  test('serves the sample over HTTP with and without prediction and prints the comparison and the dashboard address', async () => {
    const r = await run(['demo', '--no-simulation', '--requests', '2000', '--users', '8', '--session-length', '50']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /dashboard: http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(r.stdout, /2000 requests \(the start of the sample, \d+ distinct keys\) as 8 concurrent users, sessions of 50 consecutive requests, paced at 2500 requests\/s/);
    const off = /^prediction off +(\d+\.\d)% +([\d.]+) +([\d.]+) +([\d.]+) +(\d+) +(\d+) +- +-$/m.exec(r.stdout);
    const on = /^prediction on +(\d+\.\d)% +([\d.]+) +([\d.]+) +([\d.]+) +(\d+) +(\d+) +(\d+\.\d)% +(\d+\.\d)%$/m.exec(r.stdout);
    assert.ok(off !== null && on !== null, r.stdout);
    // The 2,000 requests touch fewer distinct keys: every one is a miss once, so neither run hits every read.
    for (const m of [off, on]) assert.ok(Number(m[1]) > 0 && Number(m[1]) < 100, m[0]);
    assert.ok(Number(on[6]) >= Number(off[6]), 'prefetch only adds origin keys');
    assert.match(r.stdout, /^prediction: hit ratio \d+\.\d% vs \d+\.\d% without; p99 [\d.]+ ms vs [\d.]+ ms; prefetch precision \d+\.\d% \(\d+ of \d+ prefetches used\)$/m);
    assert.doesNotMatch(r.stdout, /failed reads/);
    assert.doesNotMatch(r.stdout, /capacity \d+ entries/, '--no-simulation skips the simulator');
  });

  test('--keep-running leaves the predicting server and its dashboard up until stopped', async () => {
    let stdout = '';
    const io: CliIo = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true }, isTTY: false };
    const stop = new AbortController();
    const demo = runServerDemo({ tracePath: demoTracePath, requests: 500, users: 4, sessionLength: 50, port: 0, keepRunning: true, stop: stop.signal }, io);
    const deadline = Date.now() + 60_000;
    while (!/server left running at/.test(stdout) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const url = /server left running at (http:\/\/\S+)/.exec(stdout)?.[1];
    assert.ok(url !== undefined, stdout);
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Prescient dashboard/);
    const snap = (await (await fetch(`${url}/v1/dashboard/snapshot`)).json()) as DashboardSnapshot;
    const t = snap.now.readsTotal;
    assert.equal(t.hit + t.miss + t.stale + t.prefetched, 500, 'the dashboard counts the replayed reads');
    stop.abort();
    const result = await demo;
    assert.equal(result.runs.length, 2);
    await assert.rejects(fetch(`${url}/`), 'the server is closed once stopped');
  });
});
