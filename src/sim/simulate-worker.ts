/**
 * Worker thread of `simulateInParallel`: holds its copy of the workload and runs the (capacity, policy) runs it is
 * sent, one at a time, with `simulate` — the same code and seed as a sequential replay, so the results are the same.
 *
 * Messages in: `{ capacity, policy }` to run, `null` to finish. Out: `{ kind: 'progress', done }` (requests of the
 * current run, at most every 1% of them), `{ kind: 'result', result }`, or `{ kind: 'error', code, message }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PrescientError } from '../errors.ts';
import { EnsemblePredictor } from '../predict/ensemble-predictor.ts';
import type { WorkerInput, WorkerMessage, WorkerTask } from './parallel-simulate.ts';
import { latencyFromSpec } from './seeded-random.ts';
import { simulate } from './simulator.ts';

const port = parentPort;
if (port !== null) {
  const { workload, options } = workerData as WorkerInput;
  const latency = latencyFromSpec(options.originLatency);
  const post = (message: WorkerMessage): void => port.postMessage(message);
  const step = Math.max(1, Math.floor(workload.requests / 100));
  port.on('message', (task: WorkerTask | null) => {
    if (task === null) {
      port.close();
      return;
    }
    let reported = 0;
    simulate(workload, {
      ...options,
      capacities: [task.capacity],
      policies: [task.policy],
      originLatencyMs: latency ?? 0,
      predictor: () => new EnsemblePredictor(),
      onProgress: (_run, done) => {
        if (done - reported < step && done !== workload.requests) return;
        reported = done;
        post({ kind: 'progress', done });
      },
    }).then(
      (runs) => post({ kind: 'result', result: runs[0].results[0] }),
      (error: unknown) => post({ kind: 'error', code: error instanceof PrescientError ? error.code : 'ERR_INTERNAL', message: (error as Error).message }),
    );
  });
}
