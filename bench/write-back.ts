/**
 * Question: what does durability cost a write? `WriteBack.put` (journal append, fsync shared by a group, then
 * ack) against a plain in-memory `Map.set` behind an awaited async call (the floor: no durability at all), at
 * 1, 16 and 256 concurrent writers; the journal with the default group-commit window (2 ms) and without one
 * (0: only appends arriving during an fsync share the next one). And how fast does the flusher drain into
 * PostgreSQL: `flush()` of 20,000 journaled writes in batches of 500, against one upsert per write (what a
 * write-through cache pays).
 *
 * Each put cell runs for `seconds` of wall time; latency is per put (call to resolve), p50/p99 over all of them.
 * The journal lives in os.tmpdir() (the disk this runs on; on tmpfs the fsync would be free and the figures
 * meaningless). The flush part needs the shared PostgreSQL (127.0.0.1:5432, user postgres, database test) and
 * uses its own table, dropped at the end.
 *
 * Run: node --import tsx bench/write-back.ts [seconds per cell, default 1.5]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { MapOrigin } from '../src/origin/function-origin.ts';
import { PostgresOrigin } from '../src/origin/postgres-origin.ts';
import { WriteBack } from '../src/sync/write-back.ts';

const seconds = Number(process.argv[2] ?? 1.5);
/** Concurrent writer counts: one caller, a busy service, a burst. */
const writerCounts = [1, 16, 256];
/** Writes journaled before the timed flush to PostgreSQL, and the per-write upserts of the baseline. */
const flushRecords = 20_000;
const perWriteRecords = 2_000;

type Cell = { name: string; writers: number; puts: number; opsPerSec: number; p50Ms: number; p99Ms: number; fsyncs?: number };

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Runs `writers` loops calling `put(key, i)` until the time is up; returns throughput and latency quantiles. */
async function measure(name: string, writers: number, put: (key: string, value: number) => Promise<unknown>): Promise<Cell> {
  const latencies: number[] = [];
  const endAt = performance.now() + seconds * 1000;
  let n = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    while (performance.now() < endAt) {
      const i = n++;
      const t0 = performance.now();
      await put(`w${w}:k${i % 1000}`, i);
      latencies.push(performance.now() - t0);
    }
  }));
  const elapsedS = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { name, writers, puts: latencies.length, opsPerSec: latencies.length / elapsedS, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
}

async function journaled(groupCommitMs: number, writers: number): Promise<Cell> {
  const dir = await mkdtemp(join(tmpdir(), 'prescient-bench-wb-'));
  const wb = new WriteBack<number>({ origin: new MapOrigin<number>(), dir, groupCommitMs, flushIntervalMs: 100 });
  await wb.start();
  const cell = await measure(`WriteBack.put (groupCommitMs ${groupCommitMs})`, writers, (k, v) => wb.put(k, v));
  const { journalSyncs } = wb.stats();
  await wb.close();
  await rm(dir, { recursive: true, force: true });
  return { ...cell, fsyncs: journalSyncs };
}

/** Clock timers are unref'd; hold the process open while puts wait out a group-commit window (a server would). */
const keepAlive = setInterval(() => undefined, 60_000);
const fmt = (x: number, digits = 3) => x.toFixed(digits);
const cells: Cell[] = [];
for (const writers of writerCounts) {
  const map = new Map<string, number>();
  cells.push(await measure('Map.set (async, no durability)', writers, async (k, v) => void map.set(k, v)));
  cells.push(await journaled(2, writers));
  cells.push(await journaled(0, writers));
}
console.log(`## Write-back put: ${seconds} s per cell, journal on ${tmpdir()}\n`);
console.log('| contender | writers | puts/s | p50 ms | p99 ms | puts per fsync |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const c of cells) {
  const perSync = c.fsyncs === undefined ? '-' : fmt(c.puts / Math.max(1, c.fsyncs), 1);
  console.log(`| ${c.name} | ${c.writers} | ${Math.round(c.opsPerSec).toLocaleString('en-US')} | ${fmt(c.p50Ms)} | ${fmt(c.p99Ms)} | ${perSync} |`);
}

const sql = postgres({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 2, onnotice: () => undefined });
const table = `bench_write_back_${process.pid}`;
try {
  await sql.unsafe(`drop table if exists ${table}`);
  await PostgresOrigin.ensureTable(sql, table);
  const origin = new PostgresOrigin<{ n: number }>({ sql, table });
  const dir = await mkdtemp(join(tmpdir(), 'prescient-bench-wb-'));
  const wb = new WriteBack<{ n: number }>({ origin, dir, flushIntervalMs: 3_600_000, maxBatch: 500, maxPending: flushRecords + 1 });
  await wb.start();
  await Promise.all(Array.from({ length: flushRecords }, (_, i) => wb.put(`item:${i}`, { n: i })));
  const t0 = performance.now();
  await wb.flush();
  const flushS = (performance.now() - t0) / 1000;
  const { batches } = wb.stats();
  await wb.close();
  await rm(dir, { recursive: true, force: true });
  const t1 = performance.now();
  for (let i = 0; i < perWriteRecords; i++) await origin.putMany([{ key: `single:${i}`, value: { n: i }, version: 1 }]);
  const singleS = (performance.now() - t1) / 1000;
  console.log('\n## Flush to PostgreSQL\n');
  console.log('| path | records | time s | records/s |');
  console.log('|---|---:|---:|---:|');
  console.log(`| WriteBack.flush, ${batches} batches of <= 500 | ${flushRecords.toLocaleString('en-US')} | ${fmt(flushS, 2)} | ${Math.round(flushRecords / flushS).toLocaleString('en-US')} |`);
  console.log(`| one upsert per write (write-through) | ${perWriteRecords.toLocaleString('en-US')} | ${fmt(singleS, 2)} | ${Math.round(perWriteRecords / singleS).toLocaleString('en-US')} |`);
} finally {
  await sql.unsafe(`drop table if exists ${table}`);
  await sql.end();
  clearInterval(keepAlive);
}
