/**
 * Question: how fast do the trace readers stream real traces, request by request and batch by batch?
 * Baseline: a bare gunzip + split of the same file (the floor any reader pays).
 *
 * Run: node --import tsx bench/readers.ts [dataDir]   (dataDir defaults to $PRESCIENT_DATA or ../shared/data)
 */
import { resolve } from 'node:path';
import { lineBatches } from '../src/sim/line-batches.ts';
import { openTrace, type TraceOptions } from '../src/sim/trace-reader.ts';

const dataDir = resolve(process.argv[2] ?? process.env.PRESCIENT_DATA ?? resolve(import.meta.dirname, '../../shared/data'));

type Case = { name: string; path: string; options: TraceOptions };
const cases: Case[] = [
  { name: 'ARC P3 (.lis.gz, guessed)', path: `${dataDir}/cache-arc/P3.lis.gz`, options: {} },
  { name: 'ARC OLTP (.lis.gz, guessed)', path: `${dataDir}/cache-arc/OLTP.lis.gz`, options: {} },
  {
    name: 'yoochoose-100k (tsv, header, named columns)',
    path: `${dataDir}/yoochoose-100k/clicks_train_full.tsv`,
    options: { format: 'delimited', delimiter: 'tab', header: true, key: 'ItemId', session: 'SessionId', time: 'Time' },
  },
  { name: 'yoochoose-100k (all guessed)', path: `${dataDir}/yoochoose-100k/clicks_train_full.tsv`, options: {} },
  { name: 'BPIC 2012 (csv, header, guessed)', path: `${dataDir}/eventlog-bpic2012/bpic2012_events.csv`, options: {} },
  { name: 'msnbc (sessions, guessed)', path: `${dataDir}/msnbc/msnbc_sessions_0000001-0500000.txt`, options: {} },
  { name: 'scarab 500k (keys .gz, guessed)', path: `${dataDir}/cache-scarab/scarab-recs.first500k.trace.txt.gz`, options: {} },
];

function rate(count: number, ms: number): string {
  return `${(count / (ms / 1000) / 1e6).toFixed(2)} M/s`;
}

for (const c of cases) {
  let lines = 0;
  let t0 = performance.now();
  for await (const batch of lineBatches(c.path)) lines += batch.length;
  const floorMs = performance.now() - t0;

  const source = await openTrace(c.path, c.options);
  t0 = performance.now();
  let n = 0;
  for await (const request of source) if (request.key.length > 0) n++;
  const perRequestMs = performance.now() - t0;

  t0 = performance.now();
  let m = 0;
  for await (const batch of source.batches()) m += batch.length;
  const batchMs = performance.now() - t0;

  const stats = source.stats();
  console.log(`${c.name}: ${source.format}${source.guessed ? ` (guessed: ${source.guessReason})` : ''}`);
  console.log(`  ${stats.lines} lines, ${stats.requests} requests, ${stats.malformed} malformed`);
  console.log(`  lines only (gunzip+split): ${floorMs.toFixed(0)} ms, ${rate(lines, floorMs)} lines`);
  console.log(`  for await per request:     ${perRequestMs.toFixed(0)} ms, ${rate(n, perRequestMs)} requests`);
  console.log(`  batches():                 ${batchMs.toFixed(0)} ms, ${rate(m, batchMs)} requests`);
}
const mem = process.memoryUsage();
console.log(`rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`);
