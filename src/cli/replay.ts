/**
 * `prescient replay <trace>`: replays a trace through every policy at every capacity and prints the comparison
 * (a table, or one JSON document with --json); --report writes an HTML page with charts.
 */
import { access, constants, readlink, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EnsemblePredictor } from '../predict/ensemble-predictor.ts';
import { defaultMaxExtraLoad } from '../prefetch/prefetch-scheduler.ts';
import { writeReplayReport } from '../sim/report.ts';
import { formatReplayTable, toReplayDocument, type ReplayDocument } from '../sim/replay-document.ts';
import { latencyFromSpec, maxLatencyMs, type Random } from '../sim/seeded-random.ts';
import { policyNames, type PolicyName } from '../sim/sim-result.ts';
import { simulateInParallel } from '../sim/parallel-simulate.ts';
import { resolveCapacity, simulate, type SimulationRun } from '../sim/simulator.ts';
import { openTrace, type TraceStats } from '../sim/trace-reader.ts';
import { PrescientError } from '../errors.ts';
import { loadWorkload } from '../sim/workload.ts';
import { fileTarget, replaceFile, type CliIo } from './io.ts';
import { parseList, parseNonNegativeNumber, parsePositiveInt, positiveIntUpTo } from './parse.ts';
import { maxReadaheadCount } from '../sim/readahead-policy.ts';
import { createProgress } from './progress.ts';
import { addTraceFlags, traceOptionsFrom } from './trace-flags.ts';

/** Origin latency flag: a number of ms, or `lognormal:<median>:<sigma>`. */
export type LatencySpec = { readonly label: number | string; readonly sample: number | ((random: Random) => number) };

export function parseLatency(value: string): LatencySpec {
  const sample = latencyFromSpec(value);
  if (typeof sample === 'number') return { label: sample, sample };
  if (sample !== undefined) return { label: value.trim(), sample };
  throw new InvalidArgumentError(`expected milliseconds (at most ${maxLatencyMs}) or lognormal:<median-ms>:<sigma> (median at most ${maxLatencyMs}, sigma at most 10), got ${JSON.stringify(value)}`);
}

function parsePolicies(value: string): PolicyName[] {
  const list = parseList(value);
  for (const p of list) {
    if (!(policyNames as readonly string[]).includes(p)) throw new InvalidArgumentError(`unknown policy ${JSON.stringify(p)}; expected some of ${policyNames.join(', ')}`);
  }
  return [...new Set(list)] as PolicyName[];
}

export type ReplayFlags = {
  capacity: string[];
  policies: PolicyName[];
  originLatencyMs: LatencySpec;
  originConcurrency?: number;
  interarrivalMs: number;
  sessions: number;
  speed: number;
  ignoreTime?: boolean;
  seed: number;
  jobs: number;
  readahead: number;
  prefetchBudget?: number;
  json?: boolean;
  report?: string;
};

/** Runs a replay and returns its document (shared by `replay` and `demo`). */
export async function runReplay(path: string, flags: ReplayFlags & Record<string, unknown>, io: CliIo): Promise<ReplayDocument> {
  for (const spec of flags.capacity) resolveCapacity(spec, 1); // a bad capacity fails before the trace is read
  if (flags.report !== undefined) {
    await checkNotTrace(flags.report, path);
    await checkWritable(flags.report);
  }
  const source = await openTrace(path, traceOptionsFrom(flags));
  if (source.guessed) io.stderr.write(`prescient: ${source.guessReason}\n`);
  const progress = createProgress(io);
  // The trace reader opens and reads the file itself and reports no byte position, so the read shows the requests
  // read so far (loadWorkload reports every 65,536) and the time taken, rather than a bar with no known total.
  progress.count('reading trace', 'requests');
  let workload: Awaited<ReturnType<typeof loadWorkload>>;
  try {
    workload = await loadWorkload(source, {
      speed: flags.speed,
      interarrivalMs: flags.interarrivalMs,
      sessions: flags.sessions,
      ignoreTime: flags.ignoreTime,
      onProgress: (read) => progress.update(read),
    });
    progress.update(workload.requests);
  } finally {
    progress.stop();
    reportMalformed(source.stats(), io);
  }
  const stats = source.stats();
  // Ascending, whatever order they were given in: runs, JSON and report then read left to right as capacity grows.
  const capacities = [...new Set(flags.capacity.map((c) => resolveCapacity(c, workload.keys.length)))].sort((a, b) => a - b);
  const common = {
    capacities,
    policies: flags.policies,
    originConcurrency: flags.originConcurrency,
    readaheadCount: flags.readahead,
    seed: flags.seed,
    prefetch: flags.prefetchBudget === undefined ? undefined : { maxExtraLoad: flags.prefetchBudget },
  };
  let runs: SimulationRun[];
  if (flags.jobs > 1) {
    // Runs spread over worker threads: one bar for all of them.
    progress.start(`${capacities.length * flags.policies.length} runs on ${flags.jobs} threads`, workload.requests * capacities.length * flags.policies.length);
    runs = await simulateInParallel(workload, { ...common, originLatency: flags.originLatencyMs.label, jobs: flags.jobs, onProgress: (done) => progress.update(done) });
  } else {
    runs = await simulate(workload, {
      ...common,
      originLatencyMs: flags.originLatencyMs.sample,
      predictor: () => new EnsemblePredictor(),
      onProgress: (run, done) => {
        if (done === 0 || done === workload.requests) progress.start(`${run.policy} @ ${run.capacity}`, workload.requests);
        progress.update(done);
        return progress.turn();
      },
    });
  }
  progress.stop();
  const doc = toReplayDocument(workload, runs, {
    originLatencyMs: flags.originLatencyMs.label,
    originConcurrency: flags.originConcurrency ?? Infinity,
    malformedLines: stats.malformed,
    prefetchBudget: flags.prefetchBudget ?? defaultMaxExtraLoad,
  });
  if (flags.report !== undefined) {
    try {
      await replaceFile(flags.report, writeReplayReport(doc, runs));
    } catch (error) {
      throw new PrescientError('ERR_WRITE_FAILED', `Could not write the report to ${flags.report}: ${(error as Error).message}`, { cause: error });
    }
  }
  return doc;
}

/**
 * Fails with ERR_WRITE_FAILED when `path` cannot be written (no such folder, a folder in its place, no
 * permission), so a bad --report path stops the command before a replay that may take minutes, not after it.
 * The report replaces the file through a temporary one beside it (replaceFile), so the folder must be writable.
 */
async function checkWritable(path: string): Promise<void> {
  try {
    const how = await fileTarget(path);
    if (how.inPlace) {
      // A device or a FIFO is written as it is; a link to a file not there yet creates it, in the folder it names.
      const existing = await stat(path).catch(() => undefined);
      if (existing?.isDirectory() === true) throw new Error('it is a directory');
      if (existing !== undefined) await access(path, constants.W_OK);
      else await access(dirname(resolve(dirname(path), await readlink(path))), constants.W_OK);
      return;
    }
    const { target } = how;
    // A read-only report stays refused, though a rename could replace it: someone made it so on purpose.
    if (how.mode !== undefined) await access(target, constants.W_OK);
    await access(dirname(target), constants.W_OK);
  } catch (error) {
    throw new PrescientError('ERR_WRITE_FAILED', `Could not write the report to ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Fails with ERR_INVALID_OPTION when the report would be written over the trace itself, before the replay: the
 * report would destroy its own input. Compared by device and inode, so the same file under another spelling, a
 * symlink to it or a hard link of it is caught; a report path that does not exist yet cannot be the trace.
 */
async function checkNotTrace(report: string, trace: string): Promise<void> {
  const [reportStat, traceStat] = await Promise.all([stat(report).catch(() => undefined), stat(trace).catch(() => undefined)]);
  if (reportStat === undefined || traceStat === undefined) return; // a missing trace is openTrace's to report
  if (reportStat.dev === traceStat.dev && reportStat.ino === traceStat.ino) {
    throw new PrescientError('ERR_INVALID_OPTION', `Expected \`--report\` to name a file other than the trace, got ${JSON.stringify(report)}, which is ${JSON.stringify(trace)}`);
  }
}

/** The --report value: refused when empty, as there is nothing to write to. */
function parseReportPath(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a file path, got ""');
  return value;
}

/** Says on stderr how many lines were skipped as malformed, with the first few line numbers. */
export function reportMalformed(stats: TraceStats, io: CliIo): void {
  if (stats.malformed === 0) return;
  const first = stats.firstMalformed.map((m) => `line ${m.line}: ${m.reason}`).join('; ');
  io.stderr.write(`prescient: skipped ${stats.malformed} malformed line(s) (first: ${first})\n`);
}

/** Adds the simulation flags shared by `replay` and `demo`. */
export function addSimulationFlags(command: Command, defaults: { capacity: string; policies: string; report?: string }): Command {
  const report = new Option('--report <file>', 'write an HTML report with charts').argParser(parseReportPath);
  if (defaults.report !== undefined) report.default(defaults.report);
  return command
    .option('--capacity <list>', 'capacities: entries or % of distinct keys, comma-separated', parseList, parseList(defaults.capacity))
    .option('--policies <list>', `policies to compare (${policyNames.join(', ')})`, parsePolicies, parsePolicies(defaults.policies))
    .addOption(new Option('--origin-latency-ms <ms>', 'origin round trip: ms, or lognormal:<median>:<sigma>').argParser(parseLatency).default(parseLatency('20'), '20'))
    .option('--origin-concurrency <n>', 'origin calls at once (default unlimited)', parsePositiveInt)
    .option('--interarrival-ms <ms>', 'gap between requests when the trace has no timestamps', parseNonNegativeNumber, 25)
    .option('--sessions <n>', 'sessions active at once when interleaving', parsePositiveInt, 1000)
    .option('--speed <x>', 'time scale for traces with timestamps', parseNonNegativeNumber, 1)
    .option('--ignore-time', 'interleave sessions even when the trace has timestamps')
    .option('--readahead <n>', `keys the readahead baseline fetches after a miss (at most ${maxReadaheadCount})`, positiveIntUpTo(maxReadaheadCount), 4)
    .option('--prefetch-budget <x>', "origin load prescient's prefetches may add, as a share of its demand load (default 0.3)", parseNonNegativeNumber)
    .option('--seed <n>', 'seed for hashing and latency draws', parsePositiveInt, 1)
    .option('--jobs <n>', 'worker threads to spread the runs over (same results, less wall time)', parsePositiveInt, 1)
    .option('--json', 'print one JSON document instead of a table')
    .addOption(report);
}

export function replayCommand(io: CliIo, done: (code: number) => void): Command {
  const command = new Command('replay')
    .description('replay a trace through prescient and the baselines, side by side')
    .argument('<trace>', 'trace file (.gz is read through gunzip)');
  addTraceFlags(command);
  addSimulationFlags(command, { capacity: '1%,5%', policies: 'none,lru,tinylfu,readahead,belady,prescient,oracle' });
  return command.action(async (trace: string, flags: ReplayFlags & Record<string, unknown>) => {
    const doc = await runReplay(trace, flags, io);
    io.stdout.write(flags.json === true ? `${JSON.stringify(doc, null, 2)}\n` : formatReplayTable(doc));
    if (flags.report !== undefined && flags.json !== true) io.stdout.write(`report written to ${flags.report}\n`);
    done(0);
  });
}
