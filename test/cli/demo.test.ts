import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { demoTracePath } from '../../src/cli/demo.ts';
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
    // The demo's own defaults (capacities 1% and 5%, every policy): about 10 s.
    const report = join(dir, 'demo-report.html');
    const r = await run(['demo', '--report', report]);
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
    const r = await run(['demo', '--report', report, '--capacity', '1%', '--policies', 'lru', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { requests: number; runs: Array<{ results: Array<{ policy: string }> }> };
    assert.equal(doc.requests, 100_000);
    assert.deepEqual(doc.runs.map((run) => run.results.map((x) => x.policy)), [['lru']]);
    assert.ok(existsSync(report));
  });
});
