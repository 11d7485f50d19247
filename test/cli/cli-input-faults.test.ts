import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { run } from './run-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'prescient-cli-faults-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const file = (name: string, lines: readonly string[]): string => {
  const path = join(scratch, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
};

/** 40 sessions a -> b -> c, one every 10 time units from `start`, as session,item,time. */
const sessionLines = (start: number): string[] => [
  'session,item,time',
  ...Array.from({ length: 40 }, (_, s) => ['a', 'b', 'c'].map((item, i) => `s${s},${item},${start + s * 10 + i}`)).flat(),
];
const keysTrace = file('keys.txt', Array.from({ length: 60 }, (_, i) => `k${i % 11}`));

describe('replay and evaluate flags', () => {
  test('--time-unit says how the time column is written, and --train-until is read in the same unit', async () => {
    // Relative milliseconds: auto would read numbers below 1e11 as seconds.
    const trace = file('relative-ms.csv', sessionLines(1000));
    const ms = await run(['evaluate', trace, '--time-unit', 'ms', '--train-until', '1300', '--json']);
    assert.equal(ms.code, 0, ms.stderr);
    const doc = JSON.parse(ms.stdout) as { trainRequests: number; testRequests: number; malformedLines: number };
    assert.deepEqual([doc.trainRequests, doc.testRequests, doc.malformedLines], [90, 30, 0], 'sessions starting at 1300 ms and after are the test set');
    const iso = await run(['replay', trace, '--time-unit', 'iso', '--capacity', '5', '--policies', 'lru']);
    assert.equal(iso.code, 1, 'numbers are not ISO times: every line is malformed');
    assert.match(iso.stderr, /skipped 120 malformed line/);
    const bad = await run(['replay', trace, '--time-unit', 'hours']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ERR_INVALID_OPTION: .*--time-unit/);
  });

  test('a --train-until that is not a number or strict ISO 8601 is an option error (exit 2), not a date in 2001', async () => {
    const trace = file('seconds.csv', sessionLines(1_700_000_000));
    for (const value of ['abc-1', '1-2', 'Tuesday']) {
      const r = await run(['evaluate', trace, '--train-until', value]);
      assert.equal(r.code, 2, `${value}: ${r.stderr}`);
      assert.match(r.stderr, /ERR_INVALID_OPTION: Expected `--train-until`/);
    }
    const ok = await run(['evaluate', trace, '--train-until', '2023-11-14T22:16:40Z', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { testRequests: number }).testRequests, 60, '1700000200 s is 2023-11-14T22:16:40Z: the last 20 sessions start at or after the cut');
  });

  test('evaluate with no test position (every test session one request long) fails instead of printing zeros', async () => {
    const lines = ['session,item,time', ...Array.from({ length: 30 }, (_, s) => `s${s},k${s % 4},${1_700_000_000 + s}`)];
    const r = await run(['evaluate', file('singletons.csv', lines), '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ERR_USAGE: no test position/);
    assert.equal(r.stdout, '');
    const ok = await run(['evaluate', file('three-step.csv', [...sessionLines(1_700_000_000), 's99,x']), '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const doc = JSON.parse(ok.stdout) as { testPositions: number; malformedLines: number };
    assert.equal(doc.testPositions, 16, '8 test sessions, 2 predicted positions each');
    assert.equal(doc.malformedLines, 1);
  });

  test('a bad flag value or an unknown flag prints the coded error the rest of the command line uses', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--speed', '-1'], /^prescient: ERR_INVALID_OPTION: option '--speed <x>' argument '-1' is invalid/m],
      [['--sessions', '0'], /^prescient: ERR_INVALID_OPTION: .*--sessions/m],
      [['--bogus'], /^prescient: ERR_USAGE: unknown option '--bogus'/m],
    ];
    for (const [flags, expected] of cases) {
      const r = await run(['replay', keysTrace, '--format', 'keys', ...flags]);
      assert.equal(r.code, 2, flags.join(' '));
      assert.match(r.stderr, expected);
    }
    const command = await run(['rewind']);
    assert.equal(command.code, 2);
    assert.match(command.stderr, /^prescient: ERR_USAGE: unknown command 'rewind'/m);
  });

  test('a capacity past 2^53 - 1 is refused up front with ERR_INVALID_OPTION naming capacity', async () => {
    for (const capacity of ['9007199254740993', '9007199254740992']) {
      const r = await run(['replay', keysTrace, '--capacity', capacity, '--policies', 'lru']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /ERR_INVALID_OPTION: Expected `capacity`/);
      assert.doesNotMatch(r.stderr, /format keys/, 'refused before the trace is read');
    }
  });

  test('a report path that cannot be written fails before the trace is read, not after the replay', async () => {
    for (const report of [join(scratch, 'no-such-dir', 'r.html'), scratch]) {
      const r = await run(['replay', keysTrace, '--capacity', '5', '--policies', 'lru', '--report', report]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /ERR_WRITE_FAILED: Could not write the report/);
      assert.doesNotMatch(r.stderr, /format keys/, 'no guess printed: the trace was never opened');
    }
  });

  test('output into a pipe closed early (| head) ends quietly, without an EPIPE stack trace', async () => {
    const bin = fileURLToPath(new URL('../../bin/prescient.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'replay', keysTrace, '--format', 'keys', '--capacity', '5', '--policies', 'lru', '--json'], {
      env: { ...process.env, PRESCIENT_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
    assert.equal(code, 0, stderr);
  });
});
