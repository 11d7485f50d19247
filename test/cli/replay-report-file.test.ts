import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { replaceFile } from '../../src/cli/io.ts';
import { parseLatency, runReplay, type ReplayFlags } from '../../src/cli/replay.ts';
import { run } from './run-cli.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const bin = fileURLToPath(new URL('../../bin/prescient.js', import.meta.url));

type Doc = { runs: Array<{ capacity: number }> };

describe('replay: capacities, the report file and reading progress', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'prescient-replay-report-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('runs capacities in ascending order, whatever order they are given in, percentages resolved first', async () => {
    const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '10,1,50%,3', '--policies', 'lru', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Doc & { distinctKeys: number };
    const half = Math.round(doc.distinctKeys / 2);
    assert.deepEqual(doc.runs.map((x) => x.capacity), [...new Set([1, 3, 10, half])].sort((a, b) => a - b));
    const table = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '10,1,3', '--policies', 'lru']);
    assert.deepEqual([...table.stdout.matchAll(/capacity (\d+) entries/g)].map((m) => Number(m[1])), [1, 3, 10]);
  });

  test('refuses a --report that is the trace itself, under any name, before the replay and leaves the trace alone', async () => {
    const folder = join(dir, 'same');
    mkdirSync(folder);
    const trace = join(folder, 'trace.txt');
    copyFileSync(fixture('replay-keys.txt'), trace);
    symlinkSync(trace, join(folder, 'link.html'));
    linkSync(trace, join(folder, 'hard.html'));
    const original = readFileSync(trace, 'utf8');
    for (const report of [trace, join(folder, '..', 'same', './trace.txt'), join(folder, 'link.html'), join(folder, 'hard.html')]) {
      const r = await run(['replay', trace, '--format', 'keys', '--capacity', '5', '--policies', 'lru', '--report', report]);
      assert.equal(r.code, 2, `${report}: ${r.stderr}`);
      assert.match(r.stderr, /ERR_INVALID_OPTION/);
      assert.equal(r.stdout, '', 'nothing replayed');
      assert.equal(readFileSync(trace, 'utf8'), original);
    }
  });

  test('refuses up front a --report that is a link into a folder that does not exist', async () => {
    const link = join(dir, 'dangling.html');
    symlinkSync(join(dir, 'no-such-folder', 'report.html'), link);
    const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '5', '--policies', 'lru', '--report', link]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ERR_WRITE_FAILED/);
    assert.equal(r.stdout, '', 'refused before the replay');
  });

  test('refuses an empty --report up front', async () => {
    for (const argv of [['--report='], ['--report', ''], ['--report', '  ']]) {
      const r = await run(['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '5', '--policies', 'lru', ...argv]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /ERR_INVALID_OPTION/);
      assert.equal(r.stdout, '');
    }
  });

  test('a report write that fails part way leaves the previous report whole and no temporary file', { skip: process.platform === 'win32' }, async () => {
    // A 4 KiB file size limit (`ulimit -f 4`) fails the write of a report larger than that with EFBIG.
    const folder = join(dir, 'limited');
    mkdirSync(folder);
    const report = join(folder, 'report.html');
    const previous = `<!doctype html><p>the previous report</p>${'x'.repeat(1000)}\n`;
    writeFileSync(report, previous);
    const argv = ['replay', fixture('replay-keys.txt'), '--format', 'keys', '--capacity', '5,10', '--policies', 'lru,tinylfu', '--report', report];
    const child = spawn('sh', ['-c', 'ulimit -f 4 && exec "$0" "$@"', process.execPath, bin, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PRESCIENT_FROM_SOURCE: '1' } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1, stderr);
    assert.match(stderr, /ERR_WRITE_FAILED/);
    assert.equal(readFileSync(report, 'utf8'), previous);
    assert.deepEqual(readdirSync(folder), ['report.html']);
  });

  test('replaceFile removes its temporary file when the rename fails', async () => {
    const folder = join(dir, 'rename');
    mkdirSync(join(folder, 'target'), { recursive: true });
    writeFileSync(join(folder, 'target', 'inside'), 'x');
    await assert.rejects(replaceFile(join(folder, 'target'), 'report'));
    assert.deepEqual(readdirSync(folder), ['target']);
    assert.deepEqual(readdirSync(join(folder, 'target')), ['inside']);
  });

  test('the trace read shows how many requests were read, not a bar stuck at 0 of 1', async () => {
    const trace = join(dir, 'many.txt');
    writeFileSync(trace, Array.from({ length: 70_000 }, (_, i) => `k${i % 5000}`).join('\n') + '\n');
    let stderr = '';
    const io = { stdout: { write: () => true }, stderr: { isTTY: true, columns: 120, write: (t: string) => ((stderr += t), true) }, isTTY: true };
    const flags: ReplayFlags & Record<string, unknown> = {
      format: 'keys',
      capacity: ['10'],
      policies: ['none'],
      originLatencyMs: parseLatency('20'),
      interarrivalMs: 25,
      sessions: 1000,
      speed: 1,
      seed: 1,
      jobs: 1,
      readahead: 4,
    };
    const doc = await runReplay(trace, flags, io);
    assert.equal(doc.requests, 70_000);
    assert.match(stderr, /reading trace +70000 requests read/);
    assert.doesNotMatch(stderr, /reading trace.*\b0\/1\b/);
  });
});

describe('replaceFile on what is not a plain file', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'prescient-replace-file-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('keeps the mode of the file it replaces', async () => {
    const path = join(dir, 'private.html');
    writeFileSync(path, 'old', { mode: 0o600 });
    chmodSync(path, 0o600);
    await replaceFile(path, 'new');
    assert.equal(readFileSync(path, 'utf8'), 'new');
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('a symlink to a file not there yet is written through: the target is created, the link stays a link', async () => {
    mkdirSync(join(dir, 'reports'));
    const link = join(dir, 'latest.html');
    symlinkSync(join(dir, 'reports', 'target.html'), link);
    await replaceFile(link, 'report');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readFileSync(join(dir, 'reports', 'target.html'), 'utf8'), 'report');
  });

  test('a FIFO is written into, not replaced by a regular file', { timeout: 30_000 }, async () => {
    const fifo = join(dir, 'pipe.html');
    await new Promise<void>((resolve, reject) => spawn('mkfifo', [fifo]).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo ${code}`)))));
    const reader = spawn('cat', [fifo]);
    let got = '';
    reader.stdout.on('data', (chunk: Buffer) => (got += chunk.toString()));
    const ended = new Promise((resolve) => reader.on('exit', resolve));
    const guard = setTimeout(() => reader.kill(), 10_000); // a FIFO replaced by a file leaves the reader waiting
    await replaceFile(fifo, 'through the pipe');
    await ended;
    clearTimeout(guard);
    assert.equal(got, 'through the pipe');
    assert.ok(statSync(fifo).isFIFO(), 'still a FIFO');
  });
});
