/**
 * `prescient evaluate <trace>`: next-request accuracy of each predictor (Recall@k and MRR@k) with the session
 * protocol of session-based recommendation: sessions that start after the cut are the test set.
 */
import { Command, InvalidArgumentError } from 'commander';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { defaultPredictorSet, evaluatePredictors, maxRankK, EmptyCutError, type EvaluationResult, type PredictorFactory } from '../sim/evaluate.ts';
import { parseTimeMs, type TimeUnit } from '../sim/delimited-reader.ts';
import { CompactRequests } from '../sim/compact-requests.ts';
import { openTrace } from '../sim/trace-reader.ts';
import type { CliIo } from './io.ts';
import { parseFraction, parseIntList } from './parse.ts';
import { reportMalformed } from './replay.ts';
import { addTraceFlags, traceOptionsFrom } from './trace-flags.ts';

type EvaluateFlags = { trainFraction?: number; trainUntil?: string; k: number[]; json?: boolean; online: boolean } & Record<string, unknown>;

/**
 * The trace reader's plausible times (delimited-reader.ts, which keeps them private): 1970 to the year 3000. A cut
 * outside them is a unit mistake (ms read as seconds) and would put every session on one side.
 */
const earliestTimeMs = 0;
const latestTimeMs = Date.UTC(3000, 0, 1);

/**
 * `--train-until` in ms, read like the trace's times (`--time-unit`): a number, or strict ISO 8601 (UTC without an
 * offset), from 1970 to the year 3000. @throws InvalidOptionError (ERR_INVALID_OPTION) naming the flag and value
 */
function trainUntilMs(value: string, unit: TimeUnit): number {
  const ms = parseTimeMs(value.trim(), unit);
  if (ms === undefined) {
    const expected = unit === 'auto' ? 'unix seconds, unix ms or an ISO 8601 time' : unit === 'iso' ? 'an ISO 8601 time' : `a number (--time-unit ${unit})`;
    throw new InvalidOptionError('--train-until', expected, value);
  }
  if (!(ms >= earliestTimeMs && ms <= latestTimeMs)) throw new InvalidOptionError('--train-until', 'a time from 1970 to the year 3000', value);
  return ms;
}

/** A trace read for evaluation: its requests in global time order, and the lines skipped as malformed. */
type EvaluationTrace = { readonly requests: CompactRequests; readonly malformedLines: number };

/** Reads the trace into evaluation requests (a session is required: requests without one are their own session). */
async function readRequests(path: string, flags: EvaluateFlags, io: CliIo): Promise<EvaluationTrace> {
  const source = await openTrace(path, traceOptionsFrom(flags));
  if (source.guessed) io.stderr.write(`prescient: ${source.guessReason}\n`);
  // Held as ids and times (compact-requests.ts): the time sort needs the whole trace, not its text.
  const requests = new CompactRequests(path);
  for await (const batch of source.batches()) {
    for (const r of batch) requests.push(r.key, r.session, r.user, r.timeMs);
  }
  const stats = source.stats();
  reportMalformed(stats, io);
  if (requests.length === 0) throw new PrescientError('ERR_TRACE_EMPTY', `${path}: no requests could be read`);
  if (requests.anonymous === requests.length) {
    throw new PrescientError('ERR_USAGE', `${path}: the trace has no sessions (give --session, or use a sessions-format file); next-request accuracy needs them`);
  }
  requests.sortByTime(); // global time order when every request has a time, ties in file order
  return { requests, malformedLines: stats.malformed };
}

/** `--k`: distinct positive integers, each at most `maxRankK`. */
function parseKs(value: string): number[] {
  const ks = parseIntList(value);
  const big = ks.find((k) => k > maxRankK);
  if (big !== undefined) throw new InvalidArgumentError(`expected cut-offs of at most ${maxRankK}, got ${big}`);
  return ks;
}

/** A cut that leaves a side empty, or nothing to predict, worded with the flags that move it. */
function cutError(cause: EmptyCutError): PrescientError {
  const { trainRequests, testRequests, testSessions } = cause;
  if (trainRequests === 0 || testRequests === 0) {
    return new PrescientError('ERR_USAGE', `The cut leaves ${trainRequests} training and ${testRequests} test requests; move --train-until or --train-fraction`, { cause });
  }
  // Recall and MRR over no position would print 0 as if measured.
  return new PrescientError('ERR_USAGE', `no test position to predict: each of the ${testSessions} test sessions has one request; move the cut, or check the --session column`, { cause });
}

/** What `--no-online` changes, said as it is: the order of the test clicks, not whether models learn from them. */
function protocolText(isOnline: boolean): string {
  const order = isOnline
    ? 'models keep learning online through the test sessions'
    : 'test sessions are scored after every training click has been observed, in time order; each test click still updates the models after it is scored';
  return `sessions starting after the cut are the test set; every next item of a test session is predicted from its prefix; ${order}`;
}

/** The predictors whose lists stop below the largest k, as `name N` (their R@k above N counts only N keys). */
function cappedLists(predictors: readonly PredictorFactory[], maxK: number): Map<string, number> {
  const capped = new Map<string, number>();
  for (const p of predictors) if (p.maxListLength !== undefined && p.maxListLength < maxK) capped.set(p.name, p.maxListLength);
  return capped;
}

/** The table `evaluate` prints: sizes, the protocol, list caps, then one row per predictor. */
function formatEvaluation(result: EvaluationResult, ks: readonly number[], isOnline: boolean, capped: ReadonlyMap<string, number>): string {
  const head = ['predictor', ...ks.map((k) => `R@${k}`), ...ks.map((k) => `MRR@${k}`)];
  const rows = result.predictors.map((p) => [p.name, ...ks.map((k) => p.recall[k].toFixed(4)), ...ks.map((k) => p.mrr[k].toFixed(4))]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const maxK = Math.max(...ks);
  const notes = [`lists: Markov and sequential-rules maxSuccessors and the ensemble's candidates are raised to at least k = ${maxK}`];
  if (capped.size > 0) {
    const list = [...capped].map(([name, n]) => `${name} ${n}`).join(', ');
    notes.push(`capped: ${list} keys at most (no option lengthens these lists): R@k and MRR@k above that count only those keys`);
  }
  return [
    `train: ${result.trainRequests} requests; test: ${result.testRequests} requests`,
    `protocol: ${protocolText(isOnline)}`,
    ...notes,
    '',
    fmt(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(fmt),
    '',
  ].join('\n');
}

/** The `evaluate` subcommand; `done(0)` after the result is written, coded errors thrown to main. */
export function evaluateCommand(io: CliIo, done: (code: number) => void): Command {
  const command = new Command('evaluate')
    .description('next-request accuracy (Recall@k, MRR@k) of each predictor on a session trace')
    .argument('<trace>', 'trace file with sessions');
  addTraceFlags(command);
  return command
    .option('--train-fraction <f>', 'share of sessions (by start) used for training (default: 0.8 unless --train-until is given)', parseFraction)
    .option('--train-until <time>', 'train on sessions starting before this time (unix s/ms, or ISO 8601: UTC without an offset; 1970 to 3000)')
    .option('--k <list>', `cut-offs for Recall@k and MRR@k (each at most ${maxRankK})`, parseKs, [1, 5, 20])
    .option(
      '--no-online',
      'score the test sessions after every training click has been observed (default: in time order among them); each test click still updates the models after it is scored',
    )
    .option('--json', 'print one JSON document')
    .action(async (trace: string, flags: EvaluateFlags) => {
      if (flags.trainFraction !== undefined && flags.trainUntil !== undefined) {
        throw new PrescientError('ERR_USAGE', 'Give either --train-fraction or --train-until, not both');
      }
      const trainUntil = flags.trainUntil === undefined ? undefined : trainUntilMs(flags.trainUntil, (flags.timeUnit as TimeUnit | undefined) ?? 'auto');
      const { requests, malformedLines } = await readRequests(trace, flags, io);
      if (trainUntil !== undefined && requests.timed === 0) {
        throw new PrescientError('ERR_USAGE', 'The trace has no timestamps, so --train-until cannot place a cut: give --time <column>, or use --train-fraction');
      }
      const maxK = Math.max(...flags.k);
      const predictors = defaultPredictorSet(maxK);
      let result: EvaluationResult;
      try {
        result = evaluatePredictors(requests, {
          trainFraction: trainUntil === undefined ? (flags.trainFraction ?? 0.8) : undefined,
          trainUntil,
          ks: flags.k,
          predictors,
          learnOnline: flags.online,
        });
      } catch (error) {
        // Reworded with the flags that move the cut; a usage error (exit 2) as before the library checked it.
        if (error instanceof EmptyCutError) throw cutError(error);
        throw error;
      }
      const capped = cappedLists(predictors, maxK);
      if (flags.json === true) {
        const doc = {
          trainRequests: result.trainRequests,
          testRequests: result.testRequests,
          testPositions: result.testPositions,
          malformedLines,
          learnOnline: flags.online,
          protocol: protocolText(flags.online),
          predictors: result.predictors.map((p) => ({ name: p.name, recall: p.recall, mrr: p.mrr, listCap: capped.get(p.name) ?? null })),
        };
        io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      } else {
        io.stdout.write(formatEvaluation(result, flags.k, flags.online, capped));
      }
      done(0);
    });
}
