/**
 * Question: do the simulator's baselines (LRU, Belady MIN, oracle-1, readahead) reproduce the independent figures
 * of REFERENCE.md on real traces? Prefetches are taken to arrive before the next request, as REFERENCE.md assumes.
 *
 * Run: node --import tsx bench/baselines.ts [dataDir]   (dataDir defaults to $PRESCIENT_DATA or ../shared/data)
 */
import { resolve } from 'node:path';
import { createBeladyPolicy } from '../src/sim/belady-policy.ts';
import { buildFuture, type Future } from '../src/sim/future.ts';
import { createLruPolicy } from '../src/sim/lru-policy.ts';
import { createOraclePolicy } from '../src/sim/oracle-policy.ts';
import type { SimPolicy } from '../src/sim/policy.ts';
import { createReadaheadPolicy } from '../src/sim/readahead-policy.ts';
import { openTrace, type TraceOptions, type TraceRequest } from '../src/sim/trace-reader.ts';

const dataDir = resolve(process.argv[2] ?? process.env.PRESCIENT_DATA ?? resolve(import.meta.dirname, '../../shared/data'));

type Row = { policy: string; capacity: number; expected?: string };
type Trace = { name: string; path: string; options: TraceOptions; sortByTime: boolean; rows: Row[] };

const traces: Trace[] = [
  {
    name: 'ARC OLTP',
    path: `${dataDir}/cache-arc/OLTP.lis.gz`,
    options: {},
    sortByTime: false,
    rows: [
      { policy: 'lru', capacity: 250, expected: '16.47' },
      { policy: 'lru', capacity: 500, expected: '23.45' },
      { policy: 'lru', capacity: 1000, expected: '32.83' },
      { policy: 'lru', capacity: 2000, expected: '42.47' },
      { policy: 'lru', capacity: 1869, expected: '41.64' },
      { policy: 'belady', capacity: 250, expected: '38.47' },
      { policy: 'belady', capacity: 1000, expected: '53.62' },
      { policy: 'belady', capacity: 1869, expected: '59.77' },
      { policy: 'belady', capacity: 9344, expected: '72.64' },
      { policy: 'oracle', capacity: 1869, expected: '100.00 (trivial)' },
      { policy: 'readahead', capacity: 1869 },
    ],
  },
  {
    name: 'ARC P3',
    path: `${dataDir}/cache-arc/P3.lis.gz`,
    options: {},
    sortByTime: false,
    rows: [
      { policy: 'lru', capacity: 32768, expected: '3.57' },
      { policy: 'belady', capacity: 32768, expected: '32.25' },
      { policy: 'readahead', capacity: 32768 },
    ],
  },
  {
    name: 'yoochoose-100k (stable sort by Time)',
    path: `${dataDir}/yoochoose-100k/clicks_train_full.tsv`,
    options: { delimiter: 'tab', header: true, key: 'ItemId', session: 'SessionId', time: 'Time' },
    sortByTime: true,
    rows: [
      { policy: 'lru', capacity: 29, expected: '25.48' },
      { policy: 'lru', capacity: 147, expected: '47.57' },
      { policy: 'belady', capacity: 29, expected: '46.26' },
      { policy: 'belady', capacity: 147, expected: '68.97' },
      { policy: 'oracle', capacity: 29, expected: '58.64 / 0.895' },
      { policy: 'oracle', capacity: 147, expected: '82.00 / 0.535' },
    ],
  },
];

function makePolicy(name: string, capacity: number, future: Future): SimPolicy {
  if (name === 'lru') return createLruPolicy({ capacity });
  if (name === 'belady') return createBeladyPolicy({ capacity, future });
  if (name === 'oracle') return createOraclePolicy({ capacity, future });
  return createReadaheadPolicy({ capacity });
}

for (const trace of traces) {
  const source = await openTrace(trace.path, trace.options);
  const requests: TraceRequest[] = [];
  for await (const batch of source.batches()) for (const r of batch) requests.push(r);
  if (trace.sortByTime) requests.sort((a, b) => (a.timeMs ?? 0) - (b.timeMs ?? 0));
  let t0 = performance.now();
  const future = buildFuture(requests);
  const futureMs = performance.now() - t0;
  console.log(`${trace.name}: ${requests.length} requests, ${future.keys.length} keys; future built in ${futureMs.toFixed(0)} ms`);
  console.log('| policy | capacity | hit % | fetches/req | peak entries | REFERENCE.md | ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of trace.rows) {
    const policy = makePolicy(row.policy, row.capacity, future);
    t0 = performance.now();
    let hits = 0;
    let fetches = 0;
    for (let index = 0; index < requests.length; index++) {
      const { key, session } = requests[index];
      const { decision, prefetch } = policy.access({ key, session, index });
      if (decision === 'hit') hits++;
      else fetches++;
      for (const p of prefetch) {
        fetches++;
        policy.prefetched(p);
      }
    }
    const ms = performance.now() - t0;
    const hitPct = ((100 * hits) / requests.length).toFixed(2);
    const perReq = (fetches / requests.length).toFixed(3);
    console.log(`| ${policy.name} | ${row.capacity} | ${hitPct} | ${perReq} | ${policy.peakEntries()} | ${row.expected ?? '-'} | ${ms.toFixed(0)} |`);
  }
  console.log();
}
