import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ReadContext } from '../../src/context.ts';
import { PrescientError } from '../../src/errors.ts';
import { contextAt, toColumns } from '../../src/predict/predictor-worker.ts';
import { WorkerPredictor } from '../../src/predict/worker-predictor.ts';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';
import type { Predictor } from '../../src/predict/predictor.ts';

/** Sessions that all read a, b, c, d in that order. */
function teach(p: WorkerPredictor, sessions: number): void {
  for (let s = 0; s < sessions; s++) {
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) p.observe({ key, at: s * 100 + i, ctx: { session: `s${s}` } });
  }
}

describe('WorkerPredictor', () => {
  test('learns on its worker, announces fresh predictions per context, and answers from them', async () => {
    const p = new WorkerPredictor();
    try {
      const fresh: ReadContext[] = [];
      p.onFresh((ctx) => fresh.push(ctx));
      assert.deepEqual(p.predict({ session: 'new' }, 3), [], 'nothing before the first answer');
      teach(p, 40);
      await p.settle();
      assert.equal(p.stats().observed, 160);
      assert.equal(p.stats().dropped, 0);
      assert.deepEqual(new Set(fresh.map((c) => c.session)).size, 40, 'each context of the batches announced');
      p.observe({ key: 'a', at: 10_000, ctx: { session: 'new', user: 'u1' } });
      const now = await p.predictNow({ session: 'new', user: 'u1' }, 3);
      assert.equal(now[0].key, 'b', 'after a comes b');
      assert.ok(now[0].probability > 0 && now[0].probability <= 1);
      await p.settle();
      const kept = p.predict({ session: 'new' }, 3);
      assert.deepEqual(kept.map((x) => x.key), now.map((x) => x.key), 'the announced predictions are the same');
      assert.equal(fresh.at(-1)?.user, 'u1', 'the announced context keeps its fields');
      assert.ok(p.stateCount > 0);
    } finally {
      await p.close();
    }
  });

  test('a worker that is behind makes accesses wait, then drops them past maxPending (counted)', async () => {
    const p = new WorkerPredictor({ maxBatchesInFlight: 1, maxPending: 50 });
    try {
      // One turn: every access lands in the pending columns before the first batch leaves.
      teach(p, 100);
      assert.equal(p.stats().dropped, 400 - 50);
      await p.settle();
      assert.equal(p.stats().observed, 50);
      assert.equal(p.stats().sent, 50);
    } finally {
      await p.close();
    }
  });

  test('questions asked while the worker is behind wait for a batch slot: predictNow cannot flood it past maxBatchesInFlight', async () => {
    const p = new WorkerPredictor({ maxBatchesInFlight: 1, maxPending: 100 });
    try {
      const answers: Array<Promise<unknown>> = [];
      let most = 0;
      for (let turn = 0; turn < 30; turn++) {
        teach(p, 25);
        answers.push(p.predictNow({ session: 's0' }, 3));
        most = Math.max(most, p.stats().batchesInFlight);
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(most, 1, 'one batch out at a time, questions included');
      assert.ok(p.stats().dropped > 0, 'what the worker could not take was dropped, not queued');
      const settled = await Promise.all(answers);
      assert.ok(settled.every(Array.isArray), 'every question is answered');
    } finally {
      await p.close();
    }
    assert.throws(
      () => new WorkerPredictor({ ensemble: { extra: () => 1 } as never }),
      (e: unknown) => e instanceof PrescientError && e.code === 'ERR_INVALID_OPTION' && e.message.includes('`ensemble`'),
      'options that cannot be copied to the worker are an option error, not a DataCloneError',
    );
  });

  test('after close it learns nothing and answers nothing; bad options are ERR_INVALID_OPTION naming them', async () => {
    const p = new WorkerPredictor();
    await p.close();
    p.observe({ key: 'a', at: 0, ctx: { session: 's' } });
    assert.deepEqual(await p.predictNow({ session: 's' }, 3), []);
    await p.settle();
    for (const [options, name] of [[{ limit: 0 }, 'limit'], [{ maxPending: -1 }, 'maxPending'], [{ onError: 'x' }, 'onError'], [{ ensemble: { candidates: -1 } }, 'candidates']] as const) {
      assert.throws(
        () => new WorkerPredictor(options as never),
        (e: unknown) => e instanceof PrescientError && e.code === 'ERR_INVALID_OPTION' && e.message.includes(name),
      );
    }
  });

  test('a script that never closes it still ends on its own, and awaiting settle or predictNow keeps it alive until answered', async () => {
    const module = fileURLToPath(new URL('../../src/predict/worker-predictor.ts', import.meta.url));
    const script = `const { WorkerPredictor } = await import(${JSON.stringify(module)});
      const p = new WorkerPredictor();
      await p.predictNow({ session: 's', extra: () => 1 }, 1).catch(() => {});
      for (let s = 0; s < 50; s++) for (const key of ['a', 'b', 'c']) p.observe({ key, at: s, ctx: { session: 's' + s } });
      await p.settle();
      p.observe({ key: 'a', at: 99, ctx: { session: 'last' } });
      const next = await p.predictNow({ session: 'last' }, 1);
      const waiting = p.predictNow({ session: 'last' }, 1);
      await p.close(); // with a question waiting: close() must still settle before the script ends
      // A question held behind a full batch slot while an earlier one is answered: still answered before the end.
      const q = new WorkerPredictor({ maxBatchesInFlight: 1 });
      await q.settle();
      const first = q.predictNow({ session: 's' }, 1);
      for (let i = 0; i < 8192; i++) q.observe({ key: 'k' + (i % 500), at: i, ctx: { session: 's' + (i % 2000) } });
      await Promise.resolve(); // the batch leaves and takes the one slot
      const held = q.settle();
      await first;
      await held;
      await q.close();
      console.log(next[0]?.key, (await waiting).length, p.predict({ session: 'last' }, 1).length, q.stats().observed);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    assert.equal(signal, null, 'the process ended by itself (killed after 30 s otherwise)');
    assert.equal(code, 0, 'exit 0: no top-level await left unsettled (code 13) while the worker answered');
    assert.equal(out.trim(), 'b 0 0 8192', 'the answers came back before the end; after close nothing is answered');
  });

  test('a bad context is ERR_INVALID_CONTEXT at the call; fields the models do not read are not sent (they might not clone)', async () => {
    const p = new WorkerPredictor();
    try {
      const isInvalidContext = (e: unknown) => e instanceof PrescientError && e.code === 'ERR_INVALID_CONTEXT';
      await assert.rejects(p.predictNow({ session: (() => 1) as never }, 1), isInvalidContext);
      assert.throws(() => p.observe({ key: 'a', at: 0, ctx: { session: (() => 1) as never } }), isInvalidContext);
      assert.throws(() => p.observe({ key: 42 as never, at: 0, ctx: { session: 's' } }), (e: unknown) => e instanceof PrescientError && e.code === 'ERR_INVALID_KEY');
      teach(p, 2);
      p.observe({ key: 'a', at: 900, ctx: { session: 'x', extra: () => 1 } as never });
      assert.deepEqual((await p.predictNow({ session: 'x', extra: () => 1 } as never, 1)).map((x) => x.key), ['b'], 'answered, the extra field left out');
      assert.equal(p.stats().observed, 9, 'nothing was lost or stuck: every valid access was learned from');
      assert.equal(p.stats().batchesInFlight, 0);
    } finally {
      await p.close();
    }
  });

  test('a batch that cannot be posted is dropped and reported; its slot is not held and later batches go', async () => {
    const errors: Error[] = [];
    const p = new WorkerPredictor({ maxBatchesInFlight: 1, onError: (e) => errors.push(e) });
    try {
      p.observe({ key: 'a', at: Symbol('not a time') as never, ctx: { session: 's' } }); // Float64Array.from throws on a symbol
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(errors.length, 1);
      assert.equal((errors[0] as PrescientError).code, 'ERR_INTERNAL');
      teach(p, 3);
      await p.settle();
      assert.deepEqual({ ...p.stats(), workerBusyMs: 0, contexts: 0 }, { sent: 12, dropped: 1, observed: 12, workerBusyMs: 0, batchesInFlight: 0, contexts: 0 });
    } finally {
      await p.close();
    }
  });

  test('a throwing onFresh listener costs neither the other contexts nor the process; a throwing onError is ignored', async () => {
    const errors: Error[] = [];
    const p = new WorkerPredictor({
      onError: (e) => {
        errors.push(e);
        throw new Error('the logger is down');
      },
    });
    try {
      p.onFresh(() => {
        throw new Error('listener bug');
      });
      teach(p, 3);
      await p.settle();
      assert.equal(errors.length, 3, 'each announcement reported its listener fault');
      assert.equal(errors[0].message, 'listener bug');
      assert.equal(p.stats().contexts, 3, 'every context of the batch kept');
      assert.equal(p.predict({ session: 's2' }, 1)[0]?.key, 'b');
    } finally {
      await p.close();
    }
  });

  test('models that fail stop their worker at once and report the cause with its stack', { timeout: 30_000 }, async () => {
    const errors: PrescientError[] = [];
    const workers: Worker[] = [];
    const on = Worker.prototype.on;
    Worker.prototype.on = function (this: Worker, ...args: Parameters<Worker['on']>) {
      if (!workers.includes(this)) workers.push(this);
      return on.apply(this, args);
    } as Worker['on'];
    let p: WorkerPredictor;
    try {
      p = new WorkerPredictor({ onError: (e) => errors.push(e as PrescientError) });
    } finally {
      Worker.prototype.on = on;
    }
    const worker = workers[0];
    const exited = once(worker, 'exit');
    const keepAlive = setInterval(() => {}, 1000); // the worker is unref'd: the test holds the loop while it waits
    try {
      // What a model that throws looks like from here: a batch it cannot learn from (the public observe refuses one).
      worker.postMessage({ t: 'batch', keys: [42], at: Float64Array.of(0), sessions: ['s'], users: [undefined], segments: [undefined] });
      await exited;
    } finally {
      clearInterval(keepAlive);
    }
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 'ERR_INTERNAL');
    assert.ok(errors[0].cause instanceof Error && /predictor/.test(String((errors[0].cause as Error).stack)), 'the worker-side stack is kept');
    assert.ok(p.isBehind(), 'it learns nothing more');
    await p.close();
  });

  test('defaults fit the cache: 20 predictions kept per context (its predictLimit); maxContexts below maxPending is refused', async () => {
    const p = new WorkerPredictor();
    try {
      for (let s = 0; s < 30; s++) {
        p.observe({ key: 'x', at: s * 10, ctx: { session: `s${s}` } });
        p.observe({ key: `y${s}`, at: s * 10 + 1, ctx: { session: `s${s}` } });
      }
      p.observe({ key: 'x', at: 1000, ctx: { session: 'new' } });
      await p.settle();
      assert.equal(p.predict({ session: 'new' }, 30).length, 20);
    } finally {
      await p.close();
    }
    assert.throws(
      () => new WorkerPredictor({ maxContexts: 100, maxPending: 1000 }),
      (e: unknown) => e instanceof PrescientError && e.code === 'ERR_INVALID_OPTION' && e.message.includes('maxContexts'),
    );
  });

  test('it forwards feedback exactly when its models take feedback (none do now: nothing is posted for it)', () => {
    const feedbackOf = (prototype: object) => typeof (prototype as Predictor).feedback;
    assert.equal(feedbackOf(WorkerPredictor.prototype), feedbackOf(EnsemblePredictor.prototype));
  });

  test('prediction columns round-trip: keys, probabilities, etas and sources per context', () => {
    const columns = toColumns([
      [{ key: 'x', probability: 0.5, source: 'markov' }, { key: 'y', probability: 0.25, etaMs: 30 }],
      [],
      [{ key: 'z', probability: 1, source: 'markov' }],
    ]);
    assert.deepEqual([...columns.ends], [2, 2, 3]);
    assert.deepEqual(columns.keys, ['x', 'y', 'z']);
    assert.deepEqual(columns.sourceNames, ['markov']);
    assert.deepEqual([...columns.sources], [0, -1, 0]);
    assert.ok(Number.isNaN(columns.etas[0]) && columns.etas[1] === 30);
    assert.deepEqual(contextAt({ sessions: ['s', undefined], users: [undefined, 'u'], segments: [undefined, 'eu'] }, 1), { user: 'u', segment: 'eu' });
  });
});
