/**
 * simulateInParallel: `simulate` with its (capacity, policy) runs spread over worker threads.
 *
 * Why: the runs of a replay are independent — each starts from the same seed and its own cache — and the engine
 * policies are slow (prescient simulates ~50,000 requests a second, the baselines millions), so a big trace through
 * every policy waits on one core while the others idle. Each worker gets a copy of the workload once and runs whole
 * runs with the same code as a sequential replay: the results are the same, in the same order; only the wall time
 * changes. Runs go out slowest first (prescient, then tinylfu, then the baselines) to whichever worker is free.
 *
 * The workers run the CLI's model (EnsemblePredictor); options that are functions in `simulate` travel as data here
 * (the origin latency as its spec).
 */
import type { Worker } from 'node:worker_threads';
import { InvalidOptionError, PrescientError, type ErrorCode } from '../errors.ts';
import { positiveInt } from '../options.ts';
import { moduleBeside, startTsWorker } from '../worker-threads.ts';
import { latencyFromSpec } from './seeded-random.ts';
import type { PolicyName, PolicyResult } from './sim-result.ts';
import type { SimulationOptions, SimulationRun } from './simulator.ts';
import type { Workload } from './workload.ts';

export type ParallelSimulationOptions = Omit<SimulationOptions, 'originLatencyMs' | 'predictor' | 'onProgress'> & {
  /** Origin round trip: ms, or `lognormal:<median-ms>:<sigma>`. */
  readonly originLatency: number | string;
  /** Worker threads (at most one per run). */
  readonly jobs: number;
  /** Progress: requests simulated over every run so far, of `total` (requests × runs). */
  readonly onProgress?: (done: number, total: number) => void;
};

/** What the driver hands each worker. */
export type WorkerInput = {
  readonly workload: Workload;
  readonly options: Omit<ParallelSimulationOptions, 'jobs' | 'onProgress' | 'capacities' | 'policies'>;
};

/** One run to do. */
export type WorkerTask = { readonly capacity: number; readonly policy: PolicyName };

/** What a worker reports. */
export type WorkerMessage =
  | { readonly kind: 'progress'; readonly done: number }
  | { readonly kind: 'result'; readonly result: PolicyResult }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

/** Relative cost of a run by policy, to send the slow ones out first. */
const cost: Readonly<Record<PolicyName, number>> = { prescient: 100, tinylfu: 20, readahead: 5, oracle: 3, lru: 2, belady: 1, none: 1 };

/**
 * Runs every policy at every capacity on `jobs` worker threads; resolves with what `simulate` would return.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad `jobs` or `originLatency`; a run's error (its code kept).
 */
export async function simulateInParallel(workload: Workload, options: ParallelSimulationOptions): Promise<SimulationRun[]> {
  const { jobs: jobsOption, onProgress, capacities, policies, ...rest } = options;
  positiveInt('jobs', jobsOption);
  if (latencyFromSpec(options.originLatency) === undefined) {
    throw new InvalidOptionError('originLatency', 'ms or lognormal:<median-ms>:<sigma>', options.originLatency);
  }
  const tasks: Array<WorkerTask & { readonly index: number }> = [];
  for (const capacity of capacities) for (const policy of policies) tasks.push({ capacity, policy, index: tasks.length });
  const results: PolicyResult[] = new Array(tasks.length);
  const queue = [...tasks].sort((a, b) => cost[b.policy] - cost[a.policy] || a.index - b.index);
  const total = workload.requests * tasks.length;
  let finished = 0;
  const running = new Map<Worker, { index: number; done: number }>();
  const input: WorkerInput = { workload, options: rest };
  const workers = Array.from({ length: Math.min(jobsOption, tasks.length) }, () => startWorker(input));
  const report = (): void => {
    let done = finished;
    for (const r of running.values()) done += r.done;
    onProgress?.(done, total);
  };
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = (): void => {
              const task = queue.shift();
              if (task === undefined) {
                running.delete(worker);
                worker.postMessage(null);
                resolve();
                return;
              }
              running.set(worker, { index: task.index, done: 0 });
              worker.postMessage({ capacity: task.capacity, policy: task.policy } satisfies WorkerTask);
            };
            worker.on('message', (message: WorkerMessage) => {
              const current = running.get(worker);
              if (current === undefined) return;
              if (message.kind === 'progress') {
                current.done = message.done;
                report();
              } else if (message.kind === 'result') {
                results[current.index] = message.result;
                finished += workload.requests;
                running.delete(worker);
                report();
                next();
              } else {
                reject(new PrescientError(message.code as ErrorCode, message.message));
              }
            });
            worker.once('error', reject);
            worker.once('exit', (code) => {
              if (running.has(worker)) reject(new PrescientError('ERR_INTERNAL', `A simulation worker exited with code ${code} during a run`));
            });
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return capacities.map((capacity, c) => ({ capacity, results: results.slice(c * policies.length, (c + 1) * policies.length) }));
}

/**
 * Young generation of each worker, in MB (V8 splits it into two semi-spaces and a large-object space, so 192 MB
 * means 64 MB semi-spaces). A replay allocates kilobytes per request that die within a few requests (flights,
 * batches, records, predictions, promises); with V8's default 16 MB semi-spaces the scavenger ran every few thousand
 * requests and copied the cache's young entries each time. At 64 MB most of that garbage dies before a scavenge:
 * on P3 (600k requests) prescient ran 55k -> 68k requests/s and tinylfu 175k -> 297k. Larger was slower again (a
 * 256 MB semi-space no longer fits the caches). Results are unchanged: nothing in a run depends on collection.
 */
const workerYoungGenerationMb = 192;

/** A worker on simulate-worker.ts, with `workerYoungGenerationMb`. */
function startWorker(input: WorkerInput): Worker {
  return startTsWorker(moduleBeside(import.meta.url, 'simulate-worker'), input, { maxYoungGenerationSizeMb: workerYoungGenerationMb });
}
