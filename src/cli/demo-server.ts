/**
 * The service half of `prescient demo`: starts `prescient serve` on embedded defaults (`createServer` on the default
 * config: memory tier, the PGlite sample store holding one row per key of the shipped sample), replays a prefix of
 * the sample over HTTP as many concurrent users, and does the same against a second server whose predictor never
 * predicts, so the summary shows what prediction changed.
 *
 * Each run gets a fresh server (cold cache, fresh models, its own copy of the sample store); the no-prediction run
 * goes first so the server left up by `--keep-running` is the predicting one, with its dashboard. The write-back
 * journal lives in a temporary folder removed at the end, so the demo never touches a real service's journal.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrescientError } from '../errors.ts';
import type { Predictor } from '../predict/predictor.ts';
import { createServer, type PrescientServer } from '../server/app.ts';
import { resolveConfig } from '../server/config.ts';
import type { LatencySummary } from '../server/dashboard-feed.ts';
import { openTrace } from '../sim/trace-reader.ts';
import { demoHttpReplay, type DemoHttpReplayOptions, type DemoHttpReplayResult } from './demo-http-replay.ts';
import type { CliIo } from './io.ts';
import { createProgress, onInterrupts, signalExitCodes, type SignalTarget } from './progress.ts';

export type ServerDemoOptions = {
  /** The trace to replay (the shipped sample). */
  readonly tracePath: string;
  /** Requests taken from the start of the trace. */
  readonly requests: number;
  /** Users replaying at once. */
  readonly users: number;
  /** Consecutive requests per session. */
  readonly sessionLength: number;
  /** Overall pace in requests per second; undefined: as fast as the users go. */
  readonly ratePerSecond?: number;
  /** Port of the predicting server (0: a free one). */
  readonly port: number;
  /** Leave the predicting server up after the summary (until SIGINT/SIGTERM, or `stop`). */
  readonly keepRunning: boolean;
  /** With keepRunning: stops the server when aborted, instead of waiting for SIGINT/SIGTERM. */
  readonly stop?: AbortSignal;
  /** Replays the reads over HTTP (a test passes a fault double). @default demoHttpReplay */
  readonly httpReplay?: (options: DemoHttpReplayOptions) => Promise<DemoHttpReplayResult>;
  /**
   * Where SIGINT/SIGTERM are heard during the HTTP part, and how the process exits on one (130, 143) once the
   * temporary journal folder is removed. @default process
   */
  readonly signals?: SignalTarget;
};

/** One replay over HTTP and what the server's cache counted. */
export type ServerDemoRun = {
  readonly prediction: boolean;
  readonly requests: number;
  readonly hitRatio: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly latencyMs: LatencySummary;
  readonly requestsPerSecond: number;
  readonly originKeys: number;
  readonly prefetch: { readonly issued: number; readonly used: number; readonly precision: number; readonly coverage: number };
  readonly firstErrors: readonly string[];
};

export type ServerDemoResult = {
  readonly requests: number;
  /** The pace asked for, in requests per second (undefined: unpaced). */
  readonly ratePerSecond?: number;
  readonly distinctKeys: number;
  readonly users: number;
  readonly sessionLength: number;
  readonly dashboardUrl: string;
  readonly runs: readonly ServerDemoRun[];
};

/** A predictor that learns nothing and predicts nothing: the no-prediction run. */
const noPrediction: Predictor = Object.freeze({ name: 'none', observe() {}, predict: () => [] });

/**
 * Runs the service demo; resolves once the summary is known (and, with keepRunning, once the server is stopped).
 * SIGINT or SIGTERM before that removes the temporary journal folder and exits the process (130, 143), except
 * while keepRunning waits for one to stop the server.
 * @throws PrescientError ERR_DEMO_FAILED when every read of a run failed (the server never answered): there is
 *   nothing to compare.
 */
export async function runServerDemo(options: ServerDemoOptions, io: CliIo): Promise<ServerDemoResult> {
  const keys = await readKeys(options.tracePath, options.requests);
  const distinct = [...new Set(keys)];
  const signals = options.signals ?? process;
  const progress = createProgress(io, { signals });
  const httpReplay = options.httpReplay ?? demoHttpReplay;
  const runs: ServerDemoRun[] = [];
  let dashboardUrl = '';
  const journals = await mkdtemp(join(tmpdir(), 'prescient-demo-journal-'));
  // An interrupt would otherwise end the process with the servers' journals left in the temporary folder. The
  // removal is synchronous and the exit immediate: the servers' own close is asynchronous and may never finish,
  // and nothing of theirs needs saving (a throwaway journal of a throwaway store). The listeners stay through the
  // exit (onInterrupts): a second Ctrl-C must not kill the process half way through the removal.
  let unlisten: (() => void) | undefined = onInterrupts(signals, (signal) => {
    progress.stop();
    rmSync(journals, { recursive: true, force: true });
    signals.exit(signalExitCodes[signal]);
  });
  const stopListening = (): void => {
    unlisten?.();
    unlisten = undefined;
  };
  try {
    for (const prediction of [false, true]) {
      const config = resolveConfig(
        {
          host: '127.0.0.1',
          port: prediction ? options.port : 0,
          logLevel: 'warn',
          journalDir: join(journals, prediction ? 'prediction' : 'no-prediction'),
          // One client address sends every demo read: the per-client rate limit would throttle the replay itself.
          limits: { rateLimit: { perSecond: 1e9, burst: 1e9 } },
        },
        {},
      );
      const server = await createServer(config, prediction ? {} : { predictor: noPrediction });
      let keep = false;
      try {
        const url = await server.listen();
        if (prediction) {
          dashboardUrl = `${url}/`;
          io.stderr.write(`dashboard: ${dashboardUrl}\n`);
        }
        progress.start(prediction ? 'HTTP, prediction on' : 'HTTP, prediction off', keys.length);
        const result = await httpReplay({
          baseUrl: url,
          keys,
          users: options.users,
          sessionLength: options.sessionLength,
          ratePerSecond: options.ratePerSecond,
          onProgress: (done) => progress.update(done),
        });
        progress.stop();
        checkAnswered(prediction, result);
        runs.push(summarize(server, prediction, result));
        keep = prediction && options.keepRunning;
        if (keep) {
          io.stdout.write(formatServerDemo({ requests: keys.length, ratePerSecond: options.ratePerSecond, distinctKeys: distinct.length, users: Math.min(options.users, Math.ceil(keys.length / options.sessionLength)), sessionLength: options.sessionLength, dashboardUrl, runs }));
          io.stdout.write(`server left running at ${url} (dashboard ${dashboardUrl}); stop it with Ctrl-C\n`);
          // Here Ctrl-C is the way to stop, not an interrupt: the server closes and the folder goes as usual.
          stopListening();
          await (options.stop === undefined ? untilSignal(signals) : untilAborted(options.stop));
        }
      } finally {
        progress.stop();
        await server.close();
      }
    }
  } finally {
    await rm(journals, { recursive: true, force: true });
    stopListening();
  }
  return { requests: keys.length, ratePerSecond: options.ratePerSecond, distinctKeys: distinct.length, users: Math.min(options.users, Math.ceil(keys.length / options.sessionLength)), sessionLength: options.sessionLength, dashboardUrl, runs };
}

/** The summary printed after the runs. */
export function formatServerDemo(r: ServerDemoResult): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const ms = (x: number | null): string => (x === null ? '-' : x.toFixed(2));
  const header = ['', 'hit ratio', 'p50 ms', 'p90 ms', 'p99 ms', 'req/s', 'origin keys', 'prefetch precision', 'coverage'];
  const rows = r.runs.map((run) => [
    run.prediction ? 'prediction on' : 'prediction off',
    pct(run.hitRatio),
    ms(run.latencyMs.p50),
    ms(run.latencyMs.p90),
    ms(run.latencyMs.p99),
    String(Math.round(run.requestsPerSecond)),
    String(run.originKeys),
    run.prediction ? pct(run.prefetch.precision) : '-',
    run.prediction ? pct(run.prefetch.coverage) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [
    '',
    `over HTTP: prescient serve on embedded defaults (memory tier, PGlite sample store), a fresh server per run;`,
    `${r.requests} requests (the start of the sample, ${r.distinctKeys} distinct keys) as ${r.users} concurrent users, sessions of ${r.sessionLength} consecutive requests, ${r.ratePerSecond === undefined ? 'unpaced' : `paced at ${r.ratePerSecond} requests/s`}`,
    line(header),
    ...rows.map(line),
  ];
  const on = r.runs.find((x) => x.prediction);
  const off = r.runs.find((x) => !x.prediction);
  if (on !== undefined && off !== undefined) {
    out.push(
      `prediction: hit ratio ${pct(on.hitRatio)} vs ${pct(off.hitRatio)} without; p99 ${ms(on.latencyMs.p99)} ms vs ${ms(off.latencyMs.p99)} ms; ` +
        `prefetch precision ${pct(on.prefetch.precision)} (${on.prefetch.used} of ${on.prefetch.issued} prefetches used)`,
    );
  }
  for (const run of r.runs) {
    const errors = run.byStatus.error ?? 0;
    if (errors > 0) out.push(`${run.prediction ? 'prediction on' : 'prediction off'}: ${errors} failed reads (first: ${run.firstErrors.join(' | ')})`);
  }
  if (r.dashboardUrl !== '') out.push(`dashboard (live while the prediction run ran; --keep-running leaves it up): ${r.dashboardUrl}`);
  return out.join('\n') + '\n';
}

/** Refuses a run in which no read was answered: its hit ratio and latencies would be zeros standing for nothing. */
function checkAnswered(prediction: boolean, result: DemoHttpReplayResult): void {
  const failed = result.byStatus.error ?? 0;
  if (result.requests === 0 || failed < result.requests) return;
  throw new PrescientError(
    'ERR_DEMO_FAILED',
    `Every one of the ${result.requests} reads over HTTP failed (prediction ${prediction ? 'on' : 'off'}); first: ${result.firstErrors.join(' | ') || 'no answer'}`,
  );
}

function summarize(server: PrescientServer, prediction: boolean, result: DemoHttpReplayResult): ServerDemoRun {
  const stats = server.service.cache.stats();
  return {
    prediction,
    requests: result.requests,
    hitRatio: result.hitRatio,
    byStatus: result.byStatus,
    latencyMs: result.latencyMs,
    requestsPerSecond: result.requestsPerSecond,
    originKeys: stats.origin.demandKeys + stats.origin.prefetchKeys,
    prefetch: { issued: stats.prefetch.issued, used: stats.prefetch.used, precision: stats.prefetch.precision, coverage: stats.prefetch.coverage },
    firstErrors: result.firstErrors,
  };
}

/** The first `limit` keys of the trace, in order. */
async function readKeys(path: string, limit: number): Promise<string[]> {
  const source = await openTrace(path, { format: 'keys', limit });
  const keys: string[] = [];
  for await (const batch of source.batches()) for (const r of batch) keys.push(r.key);
  return keys;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function untilSignal(signals: SignalTarget): Promise<void> {
  return new Promise((resolve) => {
    const unlisten = onInterrupts(signals, () => {
      unlisten();
      resolve();
    });
  });
}
