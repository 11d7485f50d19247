/**
 * Question: how long does this machine stall a running thread that does nothing but read the clock? That stall is
 * the floor under any tail latency measured here: a request that lands in it waits for it, whatever the server does.
 *
 * Like jHiccup (Gil Tene): a tight loop reads `performance.now()` and records every gap between two reads longer
 * than `thresholdMs`. No allocation, no I/O, no timers in the loop, so a gap is the scheduler (another process or
 * thread on the same core, the hypervisor) or the garbage collector taking the thread, not our code. Run it on an
 * idle machine, then beside the load (e.g. during bench/server-throughput.ts) to see what sharing the two cores costs.
 *
 *   node --import tsx bench/hiccups.ts [seconds=5] [threads=1]
 *
 * With `threads` > 1 the loop runs on that many worker threads at once (each its own core while cores are free).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startTsWorker } from '../src/worker-threads.ts';

/** Gaps shorter than this are the loop's own cost (a clock read is ~30-60 ns), not stalls. */
const thresholdMs = 0.1;

type Gaps = { count: number; totalMs: number; maxMs: number; over1Ms: number; over2Ms: number; sorted: number[] };

function measure(seconds: number): Gaps {
  const gaps: number[] = [];
  let last = performance.now();
  const end = last + seconds * 1000;
  for (;;) {
    const now = performance.now();
    const gap = now - last;
    if (gap > thresholdMs) gaps.push(gap);
    last = now;
    if (now > end) break;
  }
  gaps.sort((a, b) => a - b);
  return {
    count: gaps.length,
    totalMs: gaps.reduce((a, b) => a + b, 0),
    maxMs: gaps.length === 0 ? 0 : gaps[gaps.length - 1],
    over1Ms: gaps.filter((g) => g > 1).length,
    over2Ms: gaps.filter((g) => g > 2).length,
    sorted: gaps,
  };
}

if (!isMainThread) {
  parentPort!.postMessage(measure(workerData as number));
} else {
  const seconds = Number(process.argv[2] ?? 5);
  const threads = Number(process.argv[3] ?? 1);
  const results = await Promise.all(
    Array.from({ length: threads }, () => new Promise<Gaps>((resolve, reject) => {
      const w = startTsWorker(new URL(import.meta.url), seconds);
      w.once('message', resolve);
      w.once('error', reject);
    })),
  );
  console.log(`Stalls of a thread reading the clock in a tight loop for ${seconds} s (gaps > ${thresholdMs} ms), ${threads} thread(s):`);
  console.log('');
  console.log('| thread | stalls | > 1 ms | > 2 ms | longest (ms) | time lost (ms) | a request arriving at random waits > 1 ms |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  results.forEach((g, i) => {
    // A request arriving at a uniformly random instant lands inside a stall with probability (stall time / run
    // time); it then waits the rest of that stall. The share of arrivals that wait more than 1 ms:
    const over1 = g.sorted.filter((x) => x > 1).reduce((a, x) => a + (x - 1), 0) / (seconds * 1000);
    console.log(`| ${i + 1} | ${g.count} | ${g.over1Ms} | ${g.over2Ms} | ${g.maxMs.toFixed(2)} | ${g.totalMs.toFixed(1)} | ${(100 * over1).toFixed(3)}% |`);
  });
}
