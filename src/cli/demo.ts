/**
 * `prescient demo`: the main job on embedded defaults. Replays the real trace sample that ships with the project
 * (the first 100,000 requests of cache2k's orm-busy trace, CC BY 4.0, headissue GmbH / Jens Wilke) through
 * prescient and every baseline in the simulator, prints the comparison and writes the HTML report; then starts the
 * service on embedded defaults and replays the start of the sample over HTTP as concurrent users, with prediction
 * and without, and prints the dashboard address and a summary (demo-server.ts). Needs no external service.
 */
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PrescientError } from '../errors.ts';
import { formatReplayTable } from '../sim/replay-document.ts';
import type { CliIo } from './io.ts';
import { formatServerDemo, runServerDemo, type ServerDemoResult } from './demo-server.ts';
import { parsePositiveInt } from './parse.ts';
import { addSimulationFlags, runReplay, type ReplayFlags } from './replay.ts';

/** The sample trace shipped in samples/. */
export const demoTracePath = fileURLToPath(new URL('../../samples/cache2k-orm-busy-100k.txt.gz', import.meta.url));

/**
 * Requests of the sample replayed over HTTP by default: at the default pace each of the two runs (prediction on,
 * off) takes about 8 s, so the whole demo stays near half a minute on a 2-core machine.
 */
export const defaultDemoHttpRequests = 20_000;

/**
 * Default pace over HTTP, in requests per second: below what this service sustains on a loaded 2-core machine, so
 * latencies show service time (hits answered from memory, misses waiting for the origin) rather than queueing.
 */
export const defaultDemoRate = 2500;

type DemoFlags = ReplayFlags & {
  rate: number;
  simulation: boolean;
  server: boolean;
  requests: number;
  users: number;
  sessionLength: number;
  port: number;
  keepRunning?: boolean;
};

export function demoCommand(io: CliIo, done: (code: number) => void): Command {
  const command = new Command('demo').description('replay the shipped sample trace through prescient and the baselines, then through the service over HTTP');
  addSimulationFlags(command, { capacity: '1%,5%', policies: 'none,lru,tinylfu,readahead,belady,prescient,oracle', report: 'prescient-demo-report.html' });
  command
    .option('--no-simulation', 'skip the simulator comparison')
    .option('--no-server', 'skip the replay over HTTP')
    .option('--requests <n>', 'requests of the sample replayed over HTTP (from its start)', parsePositiveInt, defaultDemoHttpRequests)
    .option('--users <n>', 'concurrent simulated users over HTTP', parsePositiveInt, 32)
    .option('--session-length <n>', 'consecutive requests that make one user session', parsePositiveInt, 100)
    .option('--rate <n>', 'overall pace over HTTP in requests/s; 0 sends as fast as the users go', parseRate, defaultDemoRate)
    .addOption(new Option('--port <n>', 'port of the demo server').argParser(parsePort).default(0, 'a free one'))
    .option('--keep-running', 'leave the server and its dashboard up after the summary (Ctrl-C stops it)');
  return command.action(async (flags: DemoFlags & Record<string, unknown>) => {
    if (!flags.simulation && !flags.server) throw new PrescientError('ERR_USAGE', 'Give at most one of --no-simulation and --no-server: together they leave the demo nothing to do');
    let doc: Awaited<ReturnType<typeof runReplay>> | undefined;
    if (flags.simulation) {
      io.stderr.write(`prescient demo: replaying ${demoTracePath}\n(cache2k orm-busy trace, first 100,000 requests; CC BY 4.0, headissue GmbH / Jens Wilke)\n`);
      doc = await runReplay(demoTracePath, { ...flags, format: 'keys' }, io);
      if (flags.json !== true) {
        io.stdout.write(formatReplayTable(doc));
        io.stdout.write(summary(doc));
        io.stdout.write(`report written to ${flags.report}\n`);
      }
    }
    let http: ServerDemoResult | undefined;
    if (flags.server) {
      io.stderr.write(`prescient demo: serving the sample over HTTP (${flags.requests} requests, ${flags.users} users)\n`);
      http = await runServerDemo(
        {
          tracePath: demoTracePath,
          requests: flags.requests,
          users: flags.users,
          sessionLength: flags.sessionLength,
          ratePerSecond: flags.rate === 0 ? undefined : flags.rate,
          port: flags.port,
          keepRunning: flags.keepRunning === true && flags.json !== true,
        },
        io,
      );
      if (flags.json !== true && flags.keepRunning !== true) io.stdout.write(formatServerDemo(http));
    }
    if (flags.json === true) io.stdout.write(`${JSON.stringify({ ...doc, ...(http === undefined ? {} : { http }) }, null, 2)}\n`);
    done(0);
  });
}

function parseRate(value: string): number {
  return value.trim() === '0' ? 0 : parsePositiveInt(value);
}

function parsePort(value: string): number {
  if (value.trim() === '0') return 0;
  const n = parsePositiveInt(value);
  if (n > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got ${JSON.stringify(value)}`);
  return n;
}

function summary(doc: Parameters<typeof formatReplayTable>[0]): string {
  const lines = [''];
  for (const run of doc.runs) {
    const by = new Map(run.results.map((r) => [r.policy, r]));
    const p = by.get('prescient');
    const lru = by.get('lru');
    const belady = by.get('belady');
    if (p === undefined || lru === undefined) continue;
    const pct = (x: number): string => (100 * x).toFixed(1);
    lines.push(
      `at ${run.capacity} entries: prescient ${pct(p.hitRatio)}% hits vs LRU ${pct(lru.hitRatio)}%` +
        (belady === undefined ? '' : ` and Belady ${pct(belady.hitRatio)}%`) +
        `; mean latency ${p.meanLatencyMs.toFixed(1)} ms vs ${lru.meanLatencyMs.toFixed(1)} ms; origin fetches ${(p.originFetchesPerRequest / Math.max(lru.originFetchesPerRequest, 1e-9)).toFixed(2)}x LRU's; prefetch precision ${pct(p.prefetch.precision)}%`,
    );
  }
  return lines.join('\n') + '\n';
}
