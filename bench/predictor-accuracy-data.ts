/**
 * Readers for the shared clickstreams used by the predictor benchmarks (bench only: the library never reads
 * these files). Each returns requests in global order with times in milliseconds where the data has them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvaluationRequest } from '../src/sim/evaluate.ts';

/** yoochoose: SessionId, ItemId, Time (unix seconds); stable sort by time; times in ms. */
export function loadYoochoose(dir: string): EvaluationRequest[] {
  const lines = readFileSync(join(dir, 'yoochoose-100k', 'clicks_train_full.tsv'), 'utf8').split('\n');
  const rows: EvaluationRequest[] = [];
  for (let i = 1; i < lines.length; i++) {
    const [session, key, time] = lines[i].split('\t');
    if (time === undefined) continue;
    rows.push({ session, key, time: Math.round(Number(time) * 1000) });
  }
  return rows.map((r, i) => ({ r, i })).sort((a, b) => a.r.time! - b.r.time! || a.i - b.i).map((x) => x.r);
}

/** diginetica: session_id;user_id;item_id;timeframe;eventdate, ordered (eventdate, session_id, timeframe). */
export function loadDiginetica(dir: string): EvaluationRequest[] {
  const lines = readFileSync(join(dir, 'diginetica-sample', 'train-item-views-sample.csv'), 'utf8').split('\n');
  const rows: { q: EvaluationRequest; day: number; sid: number; tf: number }[] = [];
  for (let i = 1; i < lines.length; i++) {
    const [session, user, key, timeframe, date] = lines[i].trim().split(';');
    if (date === undefined) continue;
    const day = Date.parse(`${date}T00:00:00Z`);
    const tf = Number(timeframe);
    rows.push({ q: user === 'NA' ? { session, key, time: day + tf } : { session, key, user, time: day + tf }, day, sid: Number(session), tf });
  }
  rows.sort((a, b) => a.day - b.day || a.sid - b.sid || a.tf - b.tf);
  return rows.map((r) => r.q);
}

/** msnbc: one session per line of page categories; the first `limit` sessions, each contiguous, no times. */
export function loadMsnbc(dir: string, limit = 100_000): EvaluationRequest[] {
  const lines = readFileSync(join(dir, 'msnbc', 'msnbc_sessions_0000001-0500000.txt'), 'utf8').split('\n');
  const rows: EvaluationRequest[] = [];
  for (let s = 0; s < lines.length && s < limit; s++) {
    for (const key of lines[s].trim().split(' ')) if (key !== '') rows.push({ session: String(s + 1), key });
  }
  return rows;
}

/**
 * Start of the last UTC calendar day on which sessions start, skipping a trailing day that holds under 1% of
 * session starts (yoochoose-100k ends at 00:43 on 2014-04-07: 3 sessions, so the test day is 2014-04-06, the
 * validation cut its README suggests).
 */
export function lastDayStart(requests: readonly EvaluationRequest[]): number {
  const starts = new Map<number, number>();
  const seen = new Set<string>();
  for (const r of requests) {
    if (r.time === undefined || seen.has(r.session)) continue;
    seen.add(r.session);
    const day = Math.floor(r.time / 86_400_000) * 86_400_000;
    starts.set(day, (starts.get(day) ?? 0) + 1);
  }
  const days = [...starts.keys()].sort((a, b) => a - b);
  let last = days.length - 1;
  while (last > 0 && starts.get(days[last])! < 0.01 * seen.size) last--;
  return days[last];
}

