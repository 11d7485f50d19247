import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { createProgress } from '../../src/cli/progress.ts';

const hideCursor = '\x1B[?25l';
const showCursor = '\x1B[?25h';
const wrapOff = '\x1B[?7l';
const wrapOn = '\x1B[?7h';

/** A terminal-like stderr that keeps what is written, and a signal source whose `exit` records the code. */
function fakeTerminal(): { io: { stdout: { write(t: string): boolean }; stderr: { isTTY: true; columns: number; write(t: string): boolean }; isTTY: true }; out: () => string; signals: EventEmitter & { exitCodes: number[]; exit(code: number): void } } {
  let written = '';
  const stderr = { isTTY: true as const, columns: 100, write: (t: string) => ((written += t), true) };
  const signals = Object.assign(new EventEmitter(), { exitCodes: [] as number[], exit(code: number) { signals.exitCodes.push(code); } });
  return { io: { stdout: { write: () => true }, stderr, isTTY: true }, out: () => written, signals };
}

describe('createProgress', () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    test(`${signal} while a bar is drawn stops it, restoring the cursor and line wrap, and exits ${code}`, async () => {
      const t = fakeTerminal();
      const progress = createProgress(t.io, { signals: t.signals });
      progress.start('work', 100);
      progress.update(10);
      assert.ok(t.out().includes(hideCursor) && t.out().includes(wrapOff), 'the bar hid the cursor');
      t.signals.emit(signal);
      const after = t.out().slice(t.out().lastIndexOf(hideCursor));
      assert.ok(after.includes(showCursor), 'cursor shown again');
      assert.ok(after.includes(wrapOn), 'line wrap on again');
      assert.deepEqual(t.signals.exitCodes, [code]);
      progress.stop();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(t.signals.listenerCount('SIGINT') + t.signals.listenerCount('SIGTERM'), 0);
    });
  }

  test('listens for signals only while a bar is drawn (and one loop turn after, for a signal that came during synchronous work)', async () => {
    const t = fakeTerminal();
    const progress = createProgress(t.io, { signals: t.signals });
    assert.equal(t.signals.listenerCount('SIGINT'), 0);
    progress.start('one', 10);
    progress.start('two', 10);
    assert.equal(t.signals.listenerCount('SIGINT'), 1, 'a restart does not add a second listener');
    assert.equal(t.signals.listenerCount('SIGTERM'), 1);
    assert.equal(progress.turn() instanceof Promise, true, 'while drawn, turn() lets the event loop turn');
    progress.stop();
    assert.equal(progress.turn(), undefined);
    t.signals.emit('SIGINT'); // came while the work ran synchronously: delivered on the next turn, after stop()
    assert.deepEqual(t.signals.exitCodes, [130], 'not dropped');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(t.signals.listenerCount('SIGINT') + t.signals.listenerCount('SIGTERM'), 0);
    t.signals.emit('SIGINT');
    assert.deepEqual(t.signals.exitCodes, [130], 'a stopped bar does not exit the process');
  });

  test('a silent bar (stderr not a terminal) never listens for signals', () => {
    const t = fakeTerminal();
    const progress = createProgress({ ...t.io, isTTY: false }, { signals: t.signals });
    progress.start('work', 10);
    assert.equal(t.signals.listenerCount('SIGINT'), 0);
    assert.equal(t.out(), '');
  });

  test('a count line shows how many were read, for work of unknown size', () => {
    const t = fakeTerminal();
    const progress = createProgress(t.io, { signals: t.signals });
    progress.count('reading trace', 'requests');
    progress.update(65_536);
    progress.stop();
    assert.match(t.out(), /reading trace +65536 requests read, \ds/);
    assert.doesNotMatch(t.out(), /\d+\/\d+/, 'no "done/total" of a made-up total');
  });

  test('Ctrl-C on a real process with a bar drawn exits 130 with the cursor shown again', async () => {
    // A child process draws a bar on a terminal-like stream copied to its stdout, and gets a real SIGINT.
    const progressModule = fileURLToPath(new URL('../../src/cli/progress.ts', import.meta.url));
    const script = `
      const { createProgress } = await import(${JSON.stringify(progressModule)});
      const stderr = { isTTY: true, columns: 100, write: (t) => process.stdout.write(t) };
      const progress = createProgress({ stdout: process.stdout, stderr, isTTY: true });
      progress.start('work', 100);
      progress.update(1);
      setTimeout(() => process.exit(7), 20000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let isKilled = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!isKilled && out.includes(hideCursor)) isKilled = child.kill('SIGINT');
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    assert.deepEqual([code, signal], [130, null], err);
    const after = out.slice(out.lastIndexOf(hideCursor));
    assert.ok(after.includes(showCursor) && after.includes(wrapOn), JSON.stringify(after));
  });
});
