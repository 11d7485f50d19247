/**
 * Question: on the shared real traces, where does prescient stand against none, LRU, our W-TinyLFU, readahead,
 * Belady and the next-request oracle, at 1% and 5% of distinct keys with a 20 ms origin? This produces the replay
 * tables of BENCHMARKS.md. Every run is the real `prescient replay` path (runReplay), same seed.
 *
 *   node --import tsx bench/replay-figures.ts [dataDir] [--only name,name] [--json out.json] [--budget 0.3] [--jobs 2] [--seeds 6]
 *
 * `--budget` is prescient's `--prefetch-budget` (maxExtraLoad): 0.3 holds its origin fetches near 1.3x its demand
 * load (the clickstream budget); 1.0 lets it spend about what read-ahead spends on block traces. `--jobs` spreads
 * each trace's runs over worker threads (`prescient replay --jobs`): same figures, less wall time. `--seeds N` adds,
 * per trace, tinylfu and prescient over hash seeds 1..N (mean, min–max): at capacities of 1-5% one run moves by about
 * half a point with the seed (the window's hill climbing), so a single seed cannot settle a difference that small.
 *
 * Reads ../shared/data by default (PRESCIENT_DATA overrides). Prints one markdown table per trace.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseLatency, runReplay, type ReplayFlags } from '../src/cli/replay.ts';
import type { ReplayDocument } from '../src/sim/replay-document.ts';
import type { PolicyName } from '../src/sim/sim-result.ts';

const args = process.argv.slice(2);
const flagValue = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const positional = args.filter((a, i) => !a.startsWith('--') && !['--only', '--json', '--budget', '--jobs', '--seeds'].includes(args[i - 1] ?? ''));
const budget = flagValue('--budget') === undefined ? undefined : Number(flagValue('--budget'));
const dataDir = resolve(positional[0] ?? process.env.PRESCIENT_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data'));
const only = flagValue('--only')?.split(',');
const jobs = Number(flagValue('--jobs') ?? 1);
const seeds = Number(flagValue('--seeds') ?? 1);
const jsonOut = flagValue('--json');

type Trace = { name: string; path: string; reader: Record<string, unknown>; capacity?: string[] };
const traces: Trace[] = [
  { name: 'yoochoose-100k', path: 'yoochoose-100k/clicks_train_full.tsv', reader: { key: 'ItemId', session: 'SessionId', time: 'Time', header: true, delimiter: 'tab' } },
  // Sessions one after another in file (session-id) order, as REFERENCE.md orders diginetica: its time column only
  // orders clicks inside a session.
  { name: 'diginetica-sample', path: 'diginetica-sample/train-item-views-sample.csv', reader: { key: 'item_id', session: 'session_id', user: 'user_id', header: true, delimiter: ';', sessions: 1, ignoreTime: true } },
  { name: 'cache2k-orm-busy-500k', path: 'cache-cache2k/orm-busy.first500k.trace.txt.gz', reader: { format: 'keys' } },
  { name: 'cache2k-web07', path: 'cache-cache2k/web07.trace.txt', reader: { format: 'keys' } },
  { name: 'scarab-500k', path: 'cache-scarab/scarab-recs.first500k.trace.txt.gz', reader: { format: 'keys' } },
  { name: 'arc-OLTP', path: 'cache-arc/OLTP.lis.gz', reader: { format: 'arc' }, capacity: ['1%', '5%', '250', '500', '1000', '2000'] },
  { name: 'arc-P3', path: 'cache-arc/P3.lis.gz', reader: { format: 'arc' } },
  { name: 'lirs-sprite', path: 'cache-lirs/sprite.trace.gz', reader: { format: 'keys' } },
  { name: 'lirs-multi2', path: 'cache-lirs/multi2.trace.gz', reader: { format: 'keys' } },
  { name: 'lirs-2_pools', path: 'cache-lirs/2_pools.trace.gz', reader: { format: 'keys' } },
];

const policies: PolicyName[] = ['none', 'lru', 'tinylfu', 'readahead', 'belady', 'prescient', 'oracle'];
const io = { stdout: { write: () => true }, stderr: { write: (s: string) => process.stderr.write(s) }, isTTY: false };
const docs: Record<string, ReplayDocument> = {};
for (const t of traces) {
  if (only !== undefined && !only.includes(t.name)) continue;
  const flags: ReplayFlags & Record<string, unknown> = {
    capacity: t.capacity ?? ['1%', '5%'],
    policies,
    originLatencyMs: parseLatency('20'),
    interarrivalMs: 25,
    sessions: 1000,
    speed: 1,
    seed: 1,
    jobs,
    readahead: 4,
    prefetchBudget: budget,
    ...t.reader,
  };
  const started = performance.now();
  const doc = await runReplay(join(dataDir, t.path), flags, io);
  const seconds = (performance.now() - started) / 1000;
  docs[t.name] = doc;
  const lines = [
    `### ${t.name}`,
    '',
    `${doc.requests.toLocaleString('en-US')} requests, ${doc.distinctKeys.toLocaleString('en-US')} distinct keys; timing: ${doc.timing}; whole run ${seconds.toFixed(1)} s.`,
    '',
    '| capacity | policy | hit % | in flight % | mean ms | p99 ms | fetches/req | × LRU fetches | prefetch precision | coverage | sim req/s |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const run of doc.runs) {
    const lru = run.results.find((r) => r.policy === 'lru');
    for (const r of run.results) {
      const vsLru = lru === undefined || lru.originFetchesPerRequest === 0 ? '-' : (r.originFetchesPerRequest / lru.originFetchesPerRequest).toFixed(2);
      const pf = r.prefetch.issued === 0;
      lines.push(
        `| ${run.capacity} | ${r.policy} | ${(100 * r.hitRatio).toFixed(2)} | ${(100 * r.inflightRatio).toFixed(2)} | ${r.meanLatencyMs.toFixed(2)} | ${r.p99LatencyMs.toFixed(1)} | ${r.originFetchesPerRequest.toFixed(3)} | ${vsLru} | ${pf ? '-' : (100 * r.prefetch.precision).toFixed(1) + '%'} | ${pf ? '-' : (100 * r.prefetch.coverage).toFixed(1) + '%'} | ${r.requestsPerSecond.toLocaleString('en-US')} |`,
      );
    }
  }
  if (seeds > 1) lines.push('', ...(await seedSpread(join(dataDir, t.path), flags, doc)));
  process.stdout.write(lines.join('\n') + '\n\n');
}

/** tinylfu and prescient hit % over seeds 1..`seeds` (seed 1 is `first`), as markdown lines. */
async function seedSpread(path: string, flags: ReplayFlags & Record<string, unknown>, first: ReplayDocument): Promise<string[]> {
  const hits = new Map<string, number[]>();
  const note = (doc: ReplayDocument): void => {
    for (const run of doc.runs) for (const r of run.results) hits.set(`${run.capacity}/${r.policy}`, [...(hits.get(`${run.capacity}/${r.policy}`) ?? []), 100 * r.hitRatio]);
  };
  note(first);
  for (let seed = 2; seed <= seeds; seed++) note(await runReplay(path, { ...flags, policies: ['tinylfu', 'prescient'], seed }, io));
  const stat = (xs: readonly number[]): string => `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
  const out = [`Hash seeds 1..${seeds}: hit %, mean (min–max).`, '', '| capacity | tinylfu | prescient |', '|---|---:|---:|'];
  for (const run of first.runs) out.push(`| ${run.capacity} | ${stat(hits.get(`${run.capacity}/tinylfu`) ?? [])} | ${stat(hits.get(`${run.capacity}/prescient`) ?? [])} |`);
  return out;
}
if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify(docs, null, 2));
