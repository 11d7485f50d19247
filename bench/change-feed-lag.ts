/**
 * Question: how long after a row changes in PostgreSQL is it gone from the cache? Commit-to-invalidation lag of
 * ChangeFeed (trigger + LISTEN/NOTIFY -> coalesced Cache.invalidate), p50/p99, for single-row updates made one at a
 * time and for a burst of concurrent ones, at the default coalescing window (batchMs 5) and with none (batchMs 0).
 * Baseline, same run: the round trip of the UPDATE itself (statement sent to commit acknowledged).
 *
 *   node --import tsx bench/change-feed-lag.ts [--updates 2000] [--url postgres://postgres@127.0.0.1:5432/test]
 *
 * Lag is taken two ways: from the trigger's clock_timestamp() carried in the NOTIFY payload ("trigger ->
 * invalidated", the commit is a fraction of a millisecond later for an autocommit UPDATE) and from the moment the
 * statement was sent ("sent -> invalidated", an upper bound that includes the UPDATE's own round trip). Server and
 * client share one machine (and clock) here.
 */
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { Cache } from '../src/cache/cache.ts';
import { cacheChangeTarget } from '../src/cache/cache-change-target.ts';
import { PostgresOrigin, type PostgresSql } from '../src/origin/postgres-origin.ts';
import { ChangeFeed } from '../src/sync/change-feed.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const updates = Number(flag('updates', '2000'));
const url = flag('url', 'postgres://postgres@127.0.0.1:5432/test');
/** Rows in the table: enough that a burst rarely hits one key twice, few enough to load in one statement. */
const rows = 5000;

const sql = postgres(url, { max: 4, onnotice: () => {} }) as unknown as PostgresSql;
const table = `bench_change_feed_${process.pid}`;

type Sample = { fromTriggerMs: number; fromSentMs: number };

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function p50p99(values: readonly number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return `${percentile(s, 50).toFixed(2)} | ${percentile(s, 99).toFixed(2)}`;
}

async function run(batchMs: number, mode: 'sequential' | 'burst'): Promise<{ samples: Sample[]; roundTrips: number[]; calls: number }> {
  const origin = new PostgresOrigin<{ n: number }>({ sql, table });
  const cache = new Cache({ origin, maxBytes: 256 * 1024 * 1024 });
  const feed = new ChangeFeed({ url, table, target: cacheChangeTarget(cache), changes: (s, l) => origin.changes(s, l), batchMs });
  await feed.start();
  let version = feed.watermark;
  // Waiters by key: resolved when the feed invalidates that key at (at least) the awaited version.
  const waiting = new Map<string, { version: number; sentAt: number; resolve: (s: Sample) => void }>();
  feed.on('changes:applied', ({ changes }) => {
    const now = performance.now();
    for (const c of changes) {
      const w = waiting.get(c.key);
      if (w === undefined || c.version < w.version) continue;
      waiting.delete(c.key);
      w.resolve({ fromTriggerMs: c.lagMs ?? Number.NaN, fromSentMs: now - w.sentAt });
    }
  });
  const keys = Array.from({ length: updates }, (_, i) => `k${(i * 7919) % rows}`);
  const samples: Sample[] = [];
  const roundTrips: number[] = [];
  const one = async (key: string): Promise<void> => {
    await cache.get(key);
    const v = ++version;
    const sentAt = performance.now();
    const applied = new Promise<Sample>((resolve) => waiting.set(key, { version: v, sentAt, resolve }));
    await sql`update ${sql(table)} set value = ${sql.json({ n: v })}, version = ${v} where key = ${key}`;
    roundTrips.push(performance.now() - sentAt);
    samples.push(await applied);
  };
  if (mode === 'sequential') {
    for (const key of keys) await one(key);
  } else {
    // Distinct keys per burst so each awaited invalidation is its own.
    const unique = [...new Set(keys)];
    await Promise.all(unique.map((k) => cache.get(k)));
    await Promise.all(unique.map((k) => one(k)));
  }
  const calls = feed.stats().batches;
  await feed.close();
  await cache.close();
  return { samples, roundTrips, calls };
}

async function main(): Promise<void> {
  await PostgresOrigin.ensureTable(sql, table);
  await ChangeFeed.installTrigger(sql, table);
  await sql.unsafe(`insert into ${table} (key, value, version) select 'k' || i, '{}'::jsonb, 1 from generate_series(0, ${rows - 1}) as i`);
  const lines = [
    `Change-feed lag: ${updates} single-row UPDATEs per run, PostgreSQL on loopback, times in ms`,
    '',
    '| run | batchMs | trigger -> invalidated p50 | p99 | sent -> invalidated p50 | p99 | UPDATE round trip p50 (baseline) | p99 | invalidate calls |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  try {
    for (const batchMs of [5, 0]) {
      for (const mode of ['sequential', 'burst'] as const) {
        const { samples, roundTrips, calls } = await run(batchMs, mode);
        const fromTrigger = p50p99(samples.map((x) => x.fromTriggerMs));
        const fromSent = p50p99(samples.map((x) => x.fromSentMs));
        lines.push(`| ${mode} | ${batchMs} | ${fromTrigger} | ${fromSent} | ${p50p99(roundTrips)} | ${calls} |`);
      }
    }
  } finally {
    await sql.unsafe(`drop table if exists ${table}`);
    await sql.end({ timeout: 5 });
  }
  lines.push('', 'sequential: one UPDATE at a time, the next after the invalidation; burst: all at once through 4 connections,');
  lines.push('so "sent" includes queueing behind the others (compare the baseline column).');
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
