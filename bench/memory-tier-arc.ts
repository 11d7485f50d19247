/**
 * Question: does MemoryTier's adaptive W-TinyLFU reach Caffeine's published hit ratios, and does it hold up on
 * recency-heavy traces? Replays real traces with unit-size entries (get on every request, set with source
 * 'demand' on a miss) through MemoryTier, side by side with LRU (the lru-cache package, same protocol).
 *
 *   node --import tsx bench/memory-tier-arc.ts [dataDir] [--seeds 5] [--static] [--window 0.01]
 *
 * dataDir defaults to $PRESCIENT_DATA or ../shared/data (relative to the repo). Traces:
 * - ARC OLTP (cache-arc/OLTP.lis.gz): a `.lis` line `start count _ _` expands to blocks start..start+count-1.
 * - yoochoose-100k (clicks_train_full.tsv): key = ItemId, rows stable-sorted by Time.
 * - cache2k orm-busy (orm-busy.first500k.trace.txt.gz): one key per line.
 * W-TinyLFU figures are the mean over `--seeds` hash seeds (REFERENCE.md does the same: single runs differ).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import type { Entry } from '../src/cache/entry.ts';
import { MemoryTier } from '../src/cache/memory-tier.ts';

type Trace = { name: string; keys: string[]; capacities: Array<{ size: number; lru: number; reference: number }> };

const args = process.argv.slice(2);
const seedsAt = args.indexOf('--seeds');
const seeds = seedsAt >= 0 ? Number(args[seedsAt + 1]) : 5;
const adaptive = !args.includes('--static');
const windowAt = args.indexOf('--window');
const initialWindowFraction = windowAt >= 0 ? Number(args[windowAt + 1]) : undefined;
const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--seeds' && args[i - 1] !== '--window');
const dataDir = resolve(positional[0] ?? process.env.PRESCIENT_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data'));

function readText(path: string): string {
  const raw = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

function arcOltp(): string[] {
  const keys: string[] = [];
  for (const line of readText(join(dataDir, 'cache-arc', 'OLTP.lis.gz')).split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 2) continue;
    const start = Number(parts[0]);
    const count = Number(parts[1]);
    for (let i = 0; i < count; i++) keys.push(String(start + i));
  }
  return keys;
}

function yoochoose(): string[] {
  const rows = readText(join(dataDir, 'yoochoose-100k', 'clicks_train_full.tsv')).split('\n').slice(1).filter((l) => l.length > 0);
  const parsed = rows.map((l) => {
    const [, item, time] = l.split('\t');
    return { item, time: Number(time) };
  });
  parsed.sort((a, b) => a.time - b.time); // Array.prototype.sort is stable
  return parsed.map((r) => r.item);
}

function ormBusy(): string[] {
  return readText(join(dataDir, 'cache-cache2k', 'orm-busy.first500k.trace.txt.gz')).split('\n').filter((l) => l.length > 0);
}

function entryFor(key: string): Entry<null> {
  return {
    key, value: null, version: 1, sizeBytes: 1, createdAt: 0, staleAt: Infinity, expiresAt: Infinity,
    source: 'demand', probability: 1, tags: [], hits: 0,
  };
}

function tinyLfuHitRatio(keys: readonly string[], capacity: number, seed: number): { ratio: number; window: number } {
  const tier = new MemoryTier<null>({ maxBytes: capacity, seed, adaptive, initialWindowFraction });
  let hits = 0;
  for (const key of keys) {
    if (tier.get(key) !== undefined) hits++;
    else tier.set(entryFor(key));
  }
  return { ratio: (100 * hits) / keys.length, window: Number(tier.stats().extra?.windowFraction ?? 0) };
}

function lruHitRatio(keys: readonly string[], capacity: number): number {
  const lru = new LRUCache<string, true>({ max: capacity });
  let hits = 0;
  for (const key of keys) {
    if (lru.get(key) !== undefined) hits++;
    else lru.set(key, true);
  }
  return (100 * hits) / keys.length;
}

const traces: Trace[] = [
  { name: 'arc-OLTP', keys: arcOltp(), capacities: [
    { size: 250, lru: 16.47, reference: 24.73 }, { size: 500, lru: 23.45, reference: 33.7 },
    { size: 1000, lru: 32.83, reference: 39.95 }, { size: 2000, lru: 42.47, reference: 46.07 }] },
  { name: 'yoochoose-100k', keys: yoochoose(), capacities: [{ size: 29, lru: 25.48, reference: 24.38 }, { size: 147, lru: 47.57, reference: 52.74 }] },
  { name: 'cache2k-orm-busy-500k', keys: ormBusy(), capacities: [{ size: 330, lru: 68.15, reference: 64.93 }, { size: 1650, lru: 81.27, reference: 76.41 }] },
];

console.log(`MemoryTier ${adaptive ? 'adaptive' : 'static 1% window'} W-TinyLFU vs LRU, unit sizes, mean of ${seeds} seeds; data ${dataDir}`);
console.log('| trace | capacity | LRU (lru-cache) | LRU ref | MemoryTier mean [min, max] | W-TinyLFU ref | diff | final window |');
console.log('|---|---|---|---|---|---|---|---|');
for (const trace of traces) {
  for (const c of trace.capacities) {
    const lru = lruHitRatio(trace.keys, c.size);
    const runs = Array.from({ length: seeds }, (_, s) => tinyLfuHitRatio(trace.keys, c.size, s + 1));
    const ratios = runs.map((r) => r.ratio);
    const mean = ratios.reduce((a, b) => a + b, 0) / runs.length;
    const window = runs.reduce((a, r) => a + r.window, 0) / runs.length;
    console.log(`| ${trace.name} | ${c.size} | ${lru.toFixed(2)} | ${c.lru.toFixed(2)} | ${mean.toFixed(2)} [${Math.min(...ratios).toFixed(2)}, ${Math.max(...ratios).toFixed(2)}] | ${c.reference.toFixed(2)} | ${(mean - c.reference >= 0 ? '+' : '') + (mean - c.reference).toFixed(2)} | ${(100 * window).toFixed(1)}% |`);
  }
}
