/**
 * An open-loop load generator that sends requests at a steady rate, for latency at a given rate.
 *
 * Why: autocannon's `overallRate` is a per-second quota (lib/httpClient.js): every connection sends its share of the
 * second back to back at the start of each second, then idles until the next one. "5,000 requests/s" over 16
 * connections is then a burst at full speed for an eighth of a second with up to 16 requests queued, and its p99 is
 * the p99 of a saturated server. Real traffic at 5,000 requests/s arrives spread over the second. This generator
 * schedules request i at `start + i / rate` and sends, on every timer tick (about 1 ms), every request whose time has
 * come, over a pool with enough connections that no request waits for one (open loop: a slow response does not
 * delay the next send, as Gil Tene's "coordinated omission" talk asks of a load generator).
 * Two latencies per response: from the moment it was sent (what the server and the loopback took), and from the
 * moment it was scheduled (that, plus the generator's own lateness: the timer tick, its event loop).
 * Cost: one undici request per call; the generator shares the machine's cores with the server it measures.
 */
import { Pool } from 'undici';
import { LatencyHistogram, type LatencySummary } from '../src/server/dashboard-feed.ts';

export type PacedLoadOptions = {
  /** Requests per second, spread evenly. */
  readonly rate: number;
  /** Seconds to run. */
  readonly durationS: number;
  /** Connections in the pool; more than the requests ever in flight at once. @default 64 */
  readonly connections?: number;
};

export type PacedLoadResult = {
  /** Requests sent and answered with a 2xx, and the others (non-2xx or failed). */
  readonly sent: number;
  readonly ok: number;
  readonly bad: number;
  /** Requests per second actually sent over the run. */
  readonly achievedRate: number;
  /** Latency from send to the end of the body, of 2xx responses. */
  readonly fromSend: LatencySummary;
  /** Latency from the scheduled send time to the end of the body (includes the generator's lateness). */
  readonly fromSchedule: LatencySummary;
  /** Most requests in flight at once. */
  readonly maxInFlight: number;
};

/** Sends GET `paths[i % paths.length]` to `url` at `rate` requests/s for `durationS` seconds. */
export async function pacedLoad(url: string, paths: readonly string[], options: PacedLoadOptions): Promise<PacedLoadResult> {
  const { rate, durationS } = options;
  const pool = new Pool(url, { connections: options.connections ?? 64, pipelining: 1 });
  const fromSend = new LatencyHistogram();
  const fromSchedule = new LatencyHistogram();
  const total = Math.round(rate * durationS);
  const intervalMs = 1000 / rate;
  let sent = 0;
  let ok = 0;
  let bad = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const pending = new Set<Promise<void>>();
  const one = async (path: string, scheduledAt: number): Promise<void> => {
    const sentAt = performance.now();
    try {
      const res = await pool.request({ method: 'GET', path });
      await res.body.dump();
      const doneAt = performance.now();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        ok++;
        fromSend.record(doneAt - sentAt);
        fromSchedule.record(doneAt - scheduledAt);
      } else bad++;
    } catch {
      bad++;
    } finally {
      inFlight--;
    }
  };
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
      while (sent < due) {
        const scheduledAt = start + sent * intervalMs;
        inFlight++;
        if (inFlight > maxInFlight) maxInFlight = inFlight;
        const p = one(paths[sent % paths.length], scheduledAt);
        pending.add(p);
        void p.then(() => pending.delete(p));
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
      else resolve();
    };
    tick();
  });
  const sendSpanS = (performance.now() - start) / 1000;
  await Promise.all(pending);
  await pool.close();
  return { sent, ok, bad, achievedRate: sent / sendSpanS, fromSend: fromSend.summary(), fromSchedule: fromSchedule.summary(), maxInFlight };
}
