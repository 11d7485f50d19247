/**
 * Question: what does the Prescient service cost per request over HTTP, against the simplest thing a Node team
 * would write instead — a bare Fastify route with an lru-cache in front of the same origin?
 *
 * Both servers answer `GET /v1/items/:key?session=` from the same origin (a MapOrigin of 10,000 small JSON records;
 * the same for both, so the origin is not what is measured), run one at a time in a child process (so the load
 * generator does not share their event loop), and are warmed first (every key read once) so hits dominate.
 * Prescient is `createServer` on its default config (memory tier, EnsemblePredictor, prefetch on, auth and rate
 * limit hooks) with the rate limit raised out of the way and logging silent; reads carry one of 100 session ids, so
 * the models learn from every read as they would in service. Keys are drawn from a seeded Zipf(0.99) over the
 * 10,000 keys.
 *
 * The three servers run side by side (idle but for the one under load); each round loads every server in turn and
 * the table reports each column's median over the rounds, so a burst of load from elsewhere on a shared machine
 * does not decide the comparison. Two autocannon runs per server and round, on loopback:
 * - throughput: `connections` connections as fast as they go, for `duration` seconds;
 * - latency at a fixed rate: overallRate 5,000 requests/s for `duration` seconds; p99 from autocannon (whole ms,
 *   corrected for coordinated omission) and from the per-response times autocannon reports (sub-ms, uncorrected).
 *   Note how autocannon paces (lib/httpClient.js): each connection sends its share of the rate (5,000 / 16 = 312)
 *   back to back, one in flight, at the start of every second, then waits for the next second. So the "fixed rate"
 *   is a burst of 5,000 requests at full speed over 16 connections (about an eighth of each second), then idle: up
 *   to 16 requests wait at once, so its p99 follows the server's CPU time per request (the load generator shares
 *   the machine's cores too), more than how the server spreads its background work.
 * Targets (issue 5): throughput ratio Prescient ÷ baseline at least 0.7; p99 of hits at 5,000 requests/s under 2 ms.
 *
 * The last column is the server's event-loop delay over its whole life (warm-up and both runs): time a request
 * could not even be read because something held the loop.
 * A row runs the models on a worker thread of their own (`cache.modelThread: "worker"`), beside the default (the
 * request thread, under the prediction budget).
 * Another row runs the same service with a predictor that never predicts, to show what the models cost apart from
 * the HTTP layer (auth, rate limit, validation, session ownership, metrics).
 * A second table shows the models' side of the prediction budget over the measured rounds (counters read from each
 * Prescient child before the first round and at exit): the hit ratio, the share of reads the models learned from
 * (the rest were dropped while the models were behind), predictions deferred, prefetches issued and used, and the
 * prediction loop's time per 1,000 reads.
 *
 * With `--paced`, a third run per server and round sends 5,000 requests/s spread evenly over each second
 * (bench/paced-load.ts, open loop over 64 connections) instead of autocannon's per-second burst: the p99 of traffic
 * that arrives as real traffic does, from the moment each request was sent and from the moment it was due.
 *
 * Run: node --import tsx bench/server-throughput.ts [--duration 3] [--rounds 3] [--connections 32] [--paced]
 *   [--budget <maxShare>/<maxSliceMs> ...] (each adds a row: prescient with that prediction budget, e.g. 0.1/1)
 * (internally: `--serve baseline|prescient|prescient-no-prediction|prescient@0.1/1` starts one server and prints
 * `READY <url>`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { LRUCache } from 'lru-cache';
import { Pool } from 'undici';
import { MapOrigin } from '../src/origin/function-origin.ts';
import { LatencyHistogram } from '../src/server/dashboard-feed.ts';
import { pacedLoad } from './paced-load.ts';
import { zipfSampler } from './zipf.ts';
import { seededRandom } from '../src/sim/seeded-random.ts';

/** Distinct keys in the origin; all fit in both caches. */
const keyCount = 10_000;
/** Session ids the reads carry (Prescient's models learn per session). */
const sessionCount = 100;
/** Requests per second of the fixed-rate run (the issue's figure). */
const fixedRate = 5_000;
/** Zipf exponent of the key sequence. */
const zipfS = 0.99;
/** Keys in the precomputed request path ring (cycled by autocannon). */
const pathRing = 65_536;

/** A server: one of the three, or `prescient@<maxShare>/<maxSliceMs>` (prescient with another prediction budget). */
type Kind = string;
const fixedKinds: readonly Kind[] = ['baseline', 'prescient', 'prescient-worker', 'prescient-no-prediction'];
const fixedLabels: Readonly<Record<string, string>> = {
  baseline: 'Fastify + lru-cache',
  prescient: 'prescient serve',
  'prescient-worker': 'prescient serve, models on a worker thread',
  'prescient-no-prediction': 'prescient serve, predictor off',
};
const budgetKind = /^prescient@(0?\.\d+|1)\/(\d+(?:\.\d+)?)$/;
const labelOf = (kind: Kind): string => fixedLabels[kind] ?? kind.replace(budgetKind, 'prescient serve, budget $1 share, $2 ms slices');

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    budget: { type: 'string', multiple: true, default: [] },
    paced: { type: 'boolean', default: false },
  },
});
// Each `--budget <maxShare>/<maxSliceMs>` adds a row: prescient with that prediction budget, in the same rounds.
const kinds: readonly Kind[] = [...fixedKinds, ...(values.budget ?? []).map((b) => `prescient@${b}`)];

function makeOrigin(): MapOrigin<unknown> {
  return new MapOrigin<unknown>(Array.from({ length: keyCount }, (_, i) => [`item:${i}`, { id: i, name: `item ${i}`, price: (i * 37) % 1000, tags: ['a', 'b'] }] as const));
}

/** Child mode: start one server on a free loopback port, print its address, run until killed. */
async function serve(kind: Kind): Promise<void> {
  const origin = makeOrigin();
  let url: string;
  let statsOf: (() => ServerStats) | undefined;
  if (kind === 'baseline') {
    const { default: Fastify } = await import('fastify');
    const lru = new LRUCache<string, { value: unknown; version: number }>({ max: keyCount * 2 });
    const app = Fastify({ logger: false });
    app.get('/v1/items/:key', async (request) => {
      const key = (request.params as { key: string }).key;
      const held = lru.get(key);
      if (held !== undefined) return { key, value: held.value, version: held.version, status: 'hit' };
      const [record] = await origin.getMany([key]);
      if (record === undefined) return { key, value: null, version: 0, status: 'miss' };
      lru.set(key, { value: record.value, version: record.version });
      return { key, value: record.value, version: record.version, status: 'miss' };
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  } else {
    const { createServer } = await import('../src/server/app.ts');
    const { resolveConfig } = await import('../src/server/config.ts');
    const modelThread = kind === 'prescient-worker' ? 'worker' : 'main';
    const config = resolveConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent', cache: { modelThread }, limits: { rateLimit: { perSecond: 1e9, burst: 1e9 } } }, {});
    // The third row: the same service with a predictor that never predicts, to separate the HTTP layer's cost from
    // the models'.
    const predictor = kind === 'prescient-no-prediction' ? { name: 'none', observe() {}, predict: () => [] } : undefined;
    const budget = budgetKind.exec(kind);
    const predictionBudget = budget === null ? undefined : { maxShare: Number(budget[1]), maxSliceMs: Number(budget[2]) };
    const server = await createServer(config, { origin, ...(predictor === undefined ? {} : { predictor }), ...(predictionBudget === undefined ? {} : { predictionBudget }) });
    url = await server.listen();
    statsOf = () => {
      const s = server.service.cache.stats();
      // A worker's drops: in the cache's buffer while it is behind (isBehind), rarely at its queue. Both counted.
      const m = server.service.modelStats();
      return {
        reads: s.reads.hit + s.reads.miss + s.reads.stale + s.reads.prefetched,
        hits: s.reads.hit + s.reads.stale + s.reads.prefetched,
        prefetched: s.reads.prefetched,
        recorded: m?.sent ?? s.accessBuffer.recorded,
        dropped: (m?.dropped ?? 0) + s.accessBuffer.dropped,
        issued: s.prefetch.issued,
        used: s.prefetch.used,
        deferred: s.budget?.deferredPredictions ?? 0,
        spentMs: s.budget?.spentMs ?? 0,
        workerMs: m?.workerBusyMs ?? 0,
        slices: s.budget?.slices ?? 0,
      };
    };
  }
  // The models' side of the trade-off, on request (SIGUSR2) and at exit: counters the parent subtracts.
  process.on('SIGUSR2', () => process.stdout.write(`STATS ${JSON.stringify(statsOf?.() ?? null)}\n`));
  // The event loop's delay over the server's life (1 ms resolution): a model that blocks the loop shows here.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // On SIGTERM report the delay and exit cleanly (so `node --cpu-prof` can write its profile when run by hand).
  process.once('SIGTERM', () => {
    const lines = `STATS ${JSON.stringify(statsOf?.() ?? null)}\nELD ${JSON.stringify({ p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 })}\n`;
    process.stdout.write(lines, () => process.exit(0));
  });
  process.stdout.write(`READY ${url}\n`);
}

/** Counters of a Prescient server, cumulative since it started. */
type ServerStats = {
  reads: number;
  hits: number;
  prefetched: number;
  /** Accesses accepted for the models, and those dropped because the models were behind (the budget). */
  recorded: number;
  dropped: number;
  issued: number;
  used: number;
  /** Predictions skipped because the budget was spent. */
  deferred: number;
  /** Time the prediction loop spent under the budget, in ms, and its slices. */
  spentMs: number;
  /** Time the models' worker spent learning and predicting, in ms (0 with the models on the request thread). */
  workerMs: number;
  slices: number;
};

type Child = {
  readonly url: string;
  /** The server's counters now (null for the baseline). */
  stats(): Promise<ServerStats | null>;
  stop(): Promise<{ delay: { p99: number; max: number } | undefined; stats: ServerStats | null }>;
};

/** Starts a server child; resolves with its address and a stop function that reports its event-loop delay. */
function startChild(kind: Kind): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lastStats = (): ServerStats | null => {
    const all = [...out.matchAll(/STATS (.*)\n/g)];
    return all.length === 0 ? null : (JSON.parse(all[all.length - 1][1]) as ServerStats | null);
  };
  const stats = async (): Promise<ServerStats | null> => {
    const seen = out.split('STATS ').length;
    child.kill('SIGUSR2');
    while (out.split('STATS ').length === seen || !out.endsWith('\n')) await new Promise((resolve) => setTimeout(resolve, 10));
    return lastStats();
  };
  const stop = async (): Promise<{ delay: { p99: number; max: number } | undefined; stats: ServerStats | null }> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    const m = /ELD (\{.*\})/.exec(out);
    return { delay: m === null ? undefined : (JSON.parse(m[1]) as { p99: number; max: number }), stats: lastStats() };
  };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /READY (\S+)/.exec(out);
      if (m !== null) resolve({ url: m[1], stats, stop });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before it was ready`)));
  });
}

/** Request paths: seeded Zipf keys, each with one of `sessionCount` sessions. */
function makePaths(): string[] {
  const rank = zipfSampler(keyCount, zipfS, seededRandom(42));
  const paths: string[] = [];
  for (let n = 0; n < pathRing; n++) {
    paths.push(`/v1/items/item:${rank()}?session=s${n % sessionCount}`);
  }
  return paths;
}

async function warm(url: string): Promise<void> {
  const pool = new Pool(url, { connections: 16 });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keyCount) {
      const i = next++;
      const res = await pool.request({ method: 'GET', path: `/v1/items/item:${i}` });
      await res.body.text();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  await pool.close();
}

type AutocannonResult = {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
};
type AutocannonInstance = Promise<AutocannonResult> & { on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void };
const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (options: Record<string, unknown>) => AutocannonInstance;

async function load(url: string, paths: readonly string[], options: { connections: number; duration: number; overallRate?: number }) {
  let n = 0;
  const hist = new LatencyHistogram();
  const run = autocannon({
    url,
    connections: options.connections,
    duration: options.duration,
    overallRate: options.overallRate,
    requests: [{ method: 'GET', setupRequest: (req: Record<string, unknown>) => ({ ...req, path: paths[n++ % paths.length] }) }],
  });
  run.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) hist.record(ms);
  });
  const result = await run;
  return { result, fine: hist.summary() };
}

type Row = {
  kind: Kind;
  /** Throughput of each round, in round order (the table shows their median). */
  roundRps: number[];
  rps: number;
  p50: number;
  p99: number;
  rateP99: number;
  rateP99Fine: number | null;
  rateRps: number;
  /** p99 at a steady 5,000 requests/s (bench/paced-load.ts): from send, and from the scheduled send time. */
  pacedP99: number | null;
  pacedP99Scheduled: number | null;
  pacedRps: number;
  bad: number;
  delay: { p99: number; max: number } | undefined;
  /** The server's counters over the measured rounds (null for the baseline). */
  models: ServerStats | null;
};

type Sample = Omit<Row, 'kind' | 'delay' | 'models' | 'roundRps'>;

/** One round on one warmed server: a throughput run, then a fixed-rate run. */
async function measureRound(url: string, paths: readonly string[], duration: number, connections: number): Promise<Sample> {
  const max = await load(url, paths, { connections, duration });
  const fixed = await load(url, paths, { connections: 16, duration, overallRate: fixedRate });
  const paced = values.paced === true ? await pacedLoad(url, paths, { rate: fixedRate, durationS: duration }) : undefined;
  return {
    pacedP99: paced?.fromSend.p99 ?? null,
    pacedP99Scheduled: paced?.fromSchedule.p99 ?? null,
    pacedRps: paced?.achievedRate ?? NaN,
    rps: max.result.requests.average,
    p50: max.result.latency.p50,
    p99: max.result.latency.p99,
    rateP99: fixed.result.latency.p99,
    rateP99Fine: fixed.fine.p99,
    rateRps: fixed.result.requests.average,
    bad: [max, fixed].reduce((sum, r) => sum + r.result.non2xx + r.result.errors + r.result.timeouts, 0) + (paced?.bad ?? 0),
  };
}

function difference(after: ServerStats | null, before: ServerStats | null): ServerStats | null {
  if (after === null || before === null) return null;
  const d = { ...after };
  for (const k of Object.keys(d) as Array<keyof ServerStats>) d[k] = after[k] - before[k];
  return d;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/**
 * Runs `rounds` rounds, each measuring every server in turn (interleaved, so a burst of load from elsewhere on the
 * machine hits all of them alike), and reports each server's median per column.
 */
async function measureAll(paths: readonly string[], duration: number, connections: number, rounds: number): Promise<Row[]> {
  const children: Child[] = [];
  try {
    for (const kind of kinds) children.push(await startChild(kind));
    for (const child of children) {
      await warm(child.url);
      await load(child.url, paths, { connections, duration: 1 });
    }
    const before = await Promise.all(children.map((c) => c.stats()));
    const samples: Sample[][] = kinds.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < kinds.length; k++) {
        process.stderr.write(`round ${round + 1}/${rounds}: ${kinds[k]} ...\n`);
        samples[k].push(await measureRound(children[k].url, paths, duration, connections));
      }
    }
    const rows: Row[] = [];
    for (let k = 0; k < kinds.length; k++) {
      const col = (f: (x: Sample) => number | null): number => median(samples[k].map((x) => f(x) ?? NaN));
      const stopped = await children[k].stop();
      rows.push({
        kind: kinds[k],
        roundRps: samples[k].map((x) => x.rps),
        rps: col((x) => x.rps),
        p50: col((x) => x.p50),
        p99: col((x) => x.p99),
        rateP99: col((x) => x.rateP99),
        rateP99Fine: col((x) => x.rateP99Fine),
        rateRps: col((x) => x.rateRps),
        pacedP99: col((x) => x.pacedP99),
        pacedP99Scheduled: col((x) => x.pacedP99Scheduled),
        pacedRps: col((x) => x.pacedRps),
        bad: samples[k].reduce((sum, x) => sum + x.bad, 0),
        delay: stopped.delay,
        models: difference(stopped.stats, before[k]),
      });
    }
    return rows;
  } finally {
    for (const child of children) await child.stop();
  }
}

async function main(): Promise<void> {
  if (values.serve !== undefined) {
    if (!fixedKinds.includes(values.serve) && !budgetKind.test(values.serve)) throw new Error(`--serve expects one of ${fixedKinds.join(', ')} or prescient@<share>/<sliceMs>, got ${values.serve}`);
    await serve(values.serve as Kind);
    return;
  }
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const paths = makePaths();
  const rows = await measureAll(paths, duration, connections, rounds);
  const [base, pre] = rows;
  // Round by round (prescient runs right after the baseline): their spread shows how much of a run's ratio is noise.
  const roundRatios = pre.roundRps.map((rps, r) => rps / base.roundRps[r]);
  const f = (x: number | null, d = 2): string => (x === null || Number.isNaN(x) ? '–' : x.toFixed(d));
  const lines = [
    `Server throughput: ${keyCount.toLocaleString('en-US')} keys (warmed, Zipf ${zipfS}), ${sessionCount} sessions, ${connections} connections for ${duration} s; fixed rate ${fixedRate.toLocaleString('en-US')} req/s over 16 connections for ${duration} s; median of ${rounds} interleaved rounds.`,
    '',
    '| server | throughput (req/s) | p50 at max (ms) | p99 at max (ms) | achieved at 5,000 req/s | p99 at 5,000 req/s (ms, autocannon) | p99 at 5,000 req/s (ms, per response) | steady 5,000 req/s: achieved | p99 from send / from schedule (ms) | non-2xx/errors | server event-loop delay p99 / max (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${labelOf(r.kind)} | ${Math.round(r.rps).toLocaleString('en-US')} | ${f(r.p50, 0)} | ${f(r.p99, 0)} | ${Math.round(r.rateRps).toLocaleString('en-US')} | ${f(r.rateP99, 0)} | ${f(r.rateP99Fine)} | ${Number.isNaN(r.pacedRps) ? '–' : Math.round(r.pacedRps).toLocaleString('en-US')} | ${f(r.pacedP99)} / ${f(r.pacedP99Scheduled)} | ${r.bad} | ${r.delay === undefined ? '–' : `${f(r.delay.p99, 1)} / ${f(r.delay.max, 1)}`} |`,
    ),
    '',
    '',
    'Prescient over the measured rounds (both runs of every round): reads, hit ratio, what the models saw and did.',
    '',
    '| server | reads | hit ratio | accesses learned (dropped) | predictions deferred | prefetches issued / used | models\' time per 1,000 reads, ms: request thread / worker |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows
      .filter((r) => r.models !== null)
      .map((r) => {
        const m = r.models as ServerStats;
        const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
        return `| ${labelOf(r.kind)} | ${m.reads.toLocaleString('en-US')} | ${pct(m.hits / Math.max(1, m.reads))} | ${pct(m.recorded / Math.max(1, m.recorded + m.dropped))} (${m.dropped.toLocaleString('en-US')}) | ${m.deferred.toLocaleString('en-US')} | ${m.issued.toLocaleString('en-US')} / ${m.used.toLocaleString('en-US')} | ${((1000 * m.spentMs) / Math.max(1, m.reads)).toFixed(1)} / ${((1000 * m.workerMs) / Math.max(1, m.reads)).toFixed(1)} |`;
      }),
    '',
    `throughput ratio prescient ÷ baseline: ${(pre.rps / base.rps).toFixed(2)} (target >= 0.7; per round: ${roundRatios.map((x) => x.toFixed(2)).join(', ')}); p99 of hits at 5,000 req/s: steady ${f(pre.pacedP99)} ms from send (${f(pre.pacedP99Scheduled)} from schedule; bare ${f(base.pacedP99)}), autocannon's per-second burst ${f(pre.rateP99Fine)} ms per response, ${f(pre.rateP99, 0)} ms autocannon (target < 2 ms)`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
