import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ReadContext } from '../../src/context.ts';
import { PrescientError } from '../../src/errors.ts';
import { contextAt, toColumns } from '../../src/predict/predictor-worker.ts';
import { WorkerPredictor } from '../../src/predict/worker-predictor.ts';

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
      p.feedback('b', { session: 'new' }, true);
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
      console.log(next[0]?.key, (await waiting).length, p.predict({ session: 'last' }, 1).length);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    assert.equal(signal, null, 'the process ended by itself (killed after 30 s otherwise)');
    assert.equal(code, 0, 'exit 0: no top-level await left unsettled (code 13) while the worker answered');
    assert.equal(out.trim(), 'b 0 0', 'the answer came back before the end; after close nothing is answered');
  });

  test('a question that cannot be sent (a context that does not clone) rejects and leaves nothing waiting', async () => {
    const p = new WorkerPredictor();
    try {
      await assert.rejects(p.predictNow({ session: 's', extra: () => 1 } as never, 1));
      teach(p, 2);
      await p.settle();
      assert.equal(p.stats().observed, 8, 'later questions are answered');
    } finally {
      await p.close();
    }
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
