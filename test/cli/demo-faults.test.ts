import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { demoTracePath } from '../../src/cli/demo.ts';
import { demoHttpReplay, type DemoHttpReplayOptions, type DemoHttpReplayResult } from '../../src/cli/demo-http-replay.ts';
import { runServerDemo } from '../../src/cli/demo-server.ts';
import type { CliIo } from '../../src/cli/io.ts';
import { isPrescientError } from '../../src/errors.ts';
import { run } from './run-cli.ts';

const bin = fileURLToPath(new URL('../../bin/prescient.js', import.meta.url));
const quiet: CliIo = { stdout: { write: () => true }, stderr: { write: () => true }, isTTY: false };
const journalsIn = (dir: string): string[] => readdirSync(dir).filter((name) => name.startsWith('prescient-demo-journal-'));

/** Each test runs servers or a demo: bounded, so one that hangs fails instead of stalling the run. */
const io = { timeout: 120_000 };

/** TCP ports process `pid` listens on (Linux: its socket descriptors matched against /proc/net/tcp{,6}). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match !== null) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) ports.push(Number.parseInt(f[1].split(':')[1], 16)); // 0A: LISTEN
    }
  }
  return ports;
}

/** Reads a server at `port` has answered (prescient_reads_total over every `served` label), 0 when it does not say. */
async function answeredReads(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    let total = 0;
    for (const m of text.matchAll(/^prescient_reads_total\{[^}]*\} (\d+)$/gm)) total += Number(m[1]);
    return total;
  } catch {
    return 0;
  }
}

/** A server on a free loopback port answering `handler`; closed by the returned function. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('demo faults', () => {
  let dir = '';
  let savedTmp: string | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'prescient-demo-faults-'));
    savedTmp = process.env.TMPDIR;
    // os.tmpdir() reads TMPDIR on each call: the demo's journal folders land here, apart from other tests' ones.
    process.env.TMPDIR = dir;
  });
  after(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(dir, { recursive: true, force: true });
  });

  test('--no-simulation with --no-server is a usage error, not a silent success', io, async () => {
    const r = await run(['demo', '--no-simulation', '--no-server']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_USAGE/);
    assert.equal(r.stdout, '');
  });

  test('failed reads are counted but kept out of the latency percentiles', io, async () => {
    // Failures answer slowly (1.5 s), successes at once: timed together, p99 and max would be a failure's 1.5 s.
    const server = await listen((req, res) => {
      if (req.url?.includes('/bad')) setTimeout(() => res.writeHead(500).end('no'), 1500);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"served":"hit"}');
    });
    try {
      const keys = Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? 'bad' : `k${i}`));
      const r = await demoHttpReplay({ baseUrl: server.url, keys, users: 10, sessionLength: 10 });
      assert.equal(r.byStatus.error, 10);
      assert.equal(r.byStatus.hit, 90);
      assert.equal(r.latencyMs.count, 90);
      assert.ok((r.latencyMs.max ?? Infinity) < 1000, `slowest timed read ${r.latencyMs.max} ms`);
    } finally {
      await server.close();
    }
  });

  test('reads to an address nobody answers are all errors and none is timed', io, async () => {
    const server = await listen(() => {});
    const url = server.url;
    await server.close();
    const r = await demoHttpReplay({ baseUrl: url, keys: ['a', 'b', 'c', 'd'], users: 2, sessionLength: 2 });
    assert.equal(r.byStatus.error, 4);
    assert.equal(r.latencyMs.count, 0);
    assert.equal(r.latencyMs.p50, null);
  });

  test('the service demo fails with a coded error when every read of a run failed, and removes its journal folder', io, async () => {
    const allFailed = async (options: DemoHttpReplayOptions): Promise<DemoHttpReplayResult> => ({
      requests: options.keys.length,
      byStatus: { error: options.keys.length },
      hitRatio: 0,
      latencyMs: { count: 0, p50: null, p90: null, p99: null, max: null },
      elapsedMs: 1,
      requestsPerSecond: options.keys.length * 1000,
      firstErrors: ['Error: connect ECONNREFUSED 127.0.0.1:1'],
    });
    await assert.rejects(
      runServerDemo({ tracePath: demoTracePath, requests: 200, users: 4, sessionLength: 50, port: 0, keepRunning: false, httpReplay: allFailed }, quiet),
      (error) => isPrescientError(error, 'ERR_DEMO_FAILED') && /ECONNREFUSED/.test(error.message),
    );
    assert.deepEqual(journalsIn(dir), []);
  });

  test('SIGINT during the HTTP part removes the journal folder and exits 130', io, async () => {
    const signals = Object.assign(new EventEmitter(), { codes: [] as number[], exit: (code: number) => void signals.codes.push(code) });
    let seenDuringRun: string[] = [];
    let seenAfterSignal: string[] = ['not checked'];
    const interruptMidway = async (options: DemoHttpReplayOptions): Promise<DemoHttpReplayResult> => {
      seenDuringRun = journalsIn(dir);
      signals.emit('SIGINT');
      seenAfterSignal = journalsIn(dir);
      return demoHttpReplay(options);
    };
    await runServerDemo({ tracePath: demoTracePath, requests: 100, users: 2, sessionLength: 50, port: 0, keepRunning: false, httpReplay: interruptMidway, signals }, quiet);
    assert.equal(seenDuringRun.length, 1, 'the journal folder exists while the reads run');
    assert.deepEqual(seenAfterSignal, [], 'and is gone once the signal is handled');
    assert.equal(signals.codes[0], 130);
    assert.equal(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM'), 0, 'no listener left once the demo ends');
  });

  test('Ctrl-C on `prescient demo --no-simulation` leaves no journal folder behind', io, async () => {
    const own = mkdtempSync(join(dir, 'cli-'));
    const child = spawn(process.execPath, [bin, 'demo', '--no-simulation', '--requests', '20000', '--rate', '1000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TMPDIR: own, PRESCIENT_FROM_SOURCE: '1' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
    try {
      const deadline = Date.now() + 60_000;
      while (journalsIn(own).length === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(journalsIn(own).length, 1, stderr);
      // Wait until the demo's server is up and has answered a read: the interrupt lands during the HTTP part.
      let answered = 0;
      while (answered === 0 && child.exitCode === null && Date.now() < deadline) {
        for (const port of listeningPorts(child.pid!)) answered += await answeredReads(port);
        if (answered === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(answered > 0, `no read answered before the deadline: ${stderr}`);
      assert.equal(child.exitCode, null, 'the demo is still running its reads');
      child.kill('SIGINT');
      assert.deepEqual(await exited, [130, null], stderr);
    } finally {
      // A failed check must not leave the demo running (and this test process waiting on it).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    assert.deepEqual(journalsIn(own), []);
  });
});
