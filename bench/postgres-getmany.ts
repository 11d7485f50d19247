/**
 * Question: what does fetching 100 keys in ONE statement (`key = any($1)`, PostgresOrigin.getMany) buy over one
 * query per key, against a real PostgreSQL server and against in-process PGlite?
 *
 * Both stores hold the same 10,000 rows (`sampleValue(key)`, ~300 bytes of jsonb each) in a table created for
 * the run and dropped after. Every contender answers the same seeded sequence of 100-key batches (uniform keys,
 * ~5% absent):
 * - batched: `origin.getMany(100 keys)`, one statement;
 * - per key, sequential: 100 awaited `origin.getMany([key])` in a row (the N+1 pattern);
 * - per key, concurrent (PostgreSQL only): 100 `getMany([key])` at once over the same 4-connection pool.
 * Each contender is warmed up for 20 batches, then timed for `seconds` (default 3) of wall time; we report
 * batches/s, keys/s and the p50/p99 latency of one 100-key batch.
 *
 * Run: node --import tsx bench/postgres-getmany.ts [seconds]   (PostgreSQL at PRESCIENT_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/test)
 */
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { PgliteOrigin } from '../src/origin/pglite-origin.ts';
import { PostgresOrigin, type PostgresSql } from '../src/origin/postgres-origin.ts';
import type { Origin, OriginRecord } from '../src/origin/origin.ts';
import { sampleValue } from '../src/origin/sample-store.ts';
import { seededRandom } from '../src/sim/seeded-random.ts';

/** Rows in the table. */
const rowCount = 10_000;
/** Keys per batch: the size a prefetch round or a page of related items asks for. */
const batchSize = 100;
/** Share of asked keys that are not in the table (misses cost a lookup too). */
const absentShare = 0.05;
/** Timed wall time per contender, seconds. */
const seconds = Number(process.argv[2] ?? 3);
/** Untimed batches before timing (plans cached, connections open, pages in the buffer cache). */
const warmupBatches = 20;
const url = process.env.PRESCIENT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Row = { store: string; mode: string; batchesPerSec: number; keysPerSec: number; p50Ms: number; p99Ms: number };

const random = seededRandom(42);
const keyOf = (i: number): string => `item:${i}`;
const batches = Array.from({ length: 500 }, () => Array.from({ length: batchSize }, () =>
  random() < absentShare ? `absent:${Math.floor(random() * 1e9)}` : keyOf(Math.floor(random() * rowCount))));

async function seed(origin: Origin<unknown>): Promise<void> {
  for (let i = 0; i < rowCount; i += 1000) {
    const records: OriginRecord<unknown>[] = [];
    for (let j = i; j < Math.min(rowCount, i + 1000); j++) records.push({ key: keyOf(j), value: sampleValue(String(j)), version: 1 });
    await origin.putMany!(records);
  }
}

async function measure(store: string, mode: string, fetchBatch: (keys: readonly string[]) => Promise<number>): Promise<Row> {
  for (let i = 0; i < warmupBatches; i++) await fetchBatch(batches[i % batches.length]);
  const latencies: number[] = [];
  const started = performance.now();
  let found = 0;
  while (performance.now() - started < seconds * 1000) {
    const t0 = performance.now();
    found += await fetchBatch(batches[latencies.length % batches.length]);
    latencies.push(performance.now() - t0);
  }
  const elapsedSec = (performance.now() - started) / 1000;
  if (found === 0) throw new Error(`${store} ${mode}: found nothing`);
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { store, mode, batchesPerSec: latencies.length / elapsedSec, keysPerSec: (latencies.length * batchSize) / elapsedSec, p50Ms: at(0.5), p99Ms: at(0.99) };
}

const count = (records: ReadonlyArray<unknown>): number => records.filter((r) => r !== undefined).length;

function contenders(store: string, origin: Origin<unknown>, concurrent: boolean): Array<() => Promise<Row>> {
  const list = [
    () => measure(store, 'batched (1 statement)', async (keys) => count(await origin.getMany(keys))),
    () => measure(store, 'per key, sequential', async (keys) => {
      let n = 0;
      for (const key of keys) n += count(await origin.getMany([key]));
      return n;
    }),
  ];
  if (concurrent) {
    list.push(() => measure(store, 'per key, concurrent', async (keys) =>
      (await Promise.all(keys.map((key) => origin.getMany([key])))).reduce((n, r) => n + count(r), 0)));
  }
  return list;
}

const rows: Row[] = [];
const table = `bench_getmany_${process.pid}`;
const sql = postgres(url, { max: 4, onnotice: () => {} }) as unknown as PostgresSql;
try {
  await PostgresOrigin.ensureTable(sql, table);
  const pg = new PostgresOrigin({ sql, table });
  await seed(pg);
  await sql.unsafe(`analyze ${table}`);
  for (const run of contenders('PostgreSQL 15 (TCP loopback)', pg, true)) rows.push(await run());
} finally {
  await sql.unsafe(`drop table if exists ${table}`);
  await sql.end();
}

const db = await PGlite.create();
try {
  await PgliteOrigin.ensureTable(db);
  const lite = new PgliteOrigin({ db });
  await seed(lite);
  for (const run of contenders('PGlite 0.5.16 (in process)', lite, false)) rows.push(await run());
} finally {
  await db.close();
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const lines = [
  `getMany of ${batchSize} keys, ${rowCount} rows of ~300 B jsonb, ${seconds} s per contender`,
  '',
  '| store | mode | batches/s | keys/s | p50 ms/batch | p99 ms/batch | vs batched |',
  '|---|---|---:|---:|---:|---:|---:|',
];
for (const r of rows) {
  const base = rows.find((b) => b.store === r.store && b.mode.startsWith('batched')) as Row;
  lines.push(`| ${r.store} | ${r.mode} | ${fmt(r.batchesPerSec, 1)} | ${fmt(r.keysPerSec)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.batchesPerSec / base.batchesPerSec, 2)}x |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
