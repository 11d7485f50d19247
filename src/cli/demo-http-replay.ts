/**
 * demoHttpReplay: replays a key sequence against a running Prescient server over HTTP as many concurrent users.
 *
 * Why this shape: a trace without sessions is one long request stream; a service sees many users at once, each in
 * a session. Like the simulator's Workload, the stream is cut into sessions of `sessionLength` consecutive requests
 * and `users` of them run at once, round-robin: each user replays its session request by request (waiting for each
 * answer) and then takes the next session not yet started. Every read carries `?session=` so the models learn per
 * session, per population and globally. Latency is measured at the client (request sent to body read) into a
 * log-bucketed histogram (from send, so with a pace it is service time, not corrected for coordinated omission),
 * for answered reads only; how each read was served comes from the answer's `served` field.
 */
import { Pool } from 'undici';
import { LatencyHistogram, type LatencySummary } from '../server/dashboard-feed.ts';

export type DemoHttpReplayOptions = {
  /** Server address, e.g. `http://127.0.0.1:8787`. */
  readonly baseUrl: string;
  /** The request stream: one key per request, in trace order. */
  readonly keys: readonly string[];
  /** Users replaying at once (one connection each). @default 32 */
  readonly users?: number;
  /** Consecutive requests that make one session. @default 100 */
  readonly sessionLength?: number;
  /** Session ids are `${sessionPrefix}${n}`. @default 'demo-' */
  readonly sessionPrefix?: string;
  /**
   * Overall pace, in requests per second: the n-th read is not sent before n / rate seconds from the start (users
   * still wait for their previous answer). Undefined sends as fast as the users go, which measures queueing more
   * than service time. @default unpaced
   */
  readonly ratePerSecond?: number;
  /** Bearer token sent with each read. @default none */
  readonly token?: string;
  /** Called now and then with the number of reads answered. */
  readonly onProgress?: (done: number) => void;
};

export type DemoHttpReplayResult = {
  readonly requests: number;
  /** Answers by how they were served (`hit`, `miss`, `stale`, `prefetched`), and `error` for non-2xx answers. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** (hit + stale + prefetched) ÷ answered reads. */
  readonly hitRatio: number;
  /**
   * Latency of the answered (2xx) reads only: a failed read is counted in `byStatus.error` but not timed, since a
   * refused connection answers in microseconds and would pull the percentiles below any real service time.
   */
  readonly latencyMs: LatencySummary;
  readonly elapsedMs: number;
  readonly requestsPerSecond: number;
  /** The first few error answers (status and body), for the report. */
  readonly firstErrors: readonly string[];
};

/** Error answers kept verbatim for the report. */
const maxErrorsKept = 3;

/** Replays `keys` against `baseUrl`; resolves when every read has been answered. Never rejects on a bad answer (counts it). */
export async function demoHttpReplay(options: DemoHttpReplayOptions): Promise<DemoHttpReplayResult> {
  const sessionLength = options.sessionLength ?? 100;
  const prefix = options.sessionPrefix ?? 'demo-';
  const { keys } = options;
  const sessions = Math.ceil(keys.length / sessionLength);
  const users = Math.min(options.users ?? 32, sessions); // more users than sessions would have nothing to read
  const pool = new Pool(options.baseUrl, { connections: users, pipelining: 1 });
  const headers: Record<string, string> = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
  const latency = new LatencyHistogram();
  const byStatus: Record<string, number> = {};
  const firstErrors: string[] = [];
  let nextSession = 0;
  let issued = 0;
  let done = 0;
  const rate = options.ratePerSecond;
  const started = performance.now();

  const readOne = async (key: string, session: string): Promise<void> => {
    if (rate !== undefined) {
      const aheadMs = started + (1000 * issued++) / rate - performance.now();
      // Timers are coarse (about 1 ms): sleep only when well ahead, else send now and let the pace catch up.
      if (aheadMs > 1) await new Promise((resolve) => setTimeout(resolve, aheadMs));
    }
    const t0 = performance.now();
    let status = 'error';
    try {
      const res = await pool.request({ method: 'GET', path: `/v1/items/${encodeURIComponent(key)}?session=${encodeURIComponent(session)}`, headers });
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        status = String((JSON.parse(text) as { served?: unknown }).served ?? 'unknown');
      } else if (firstErrors.length < maxErrorsKept) {
        firstErrors.push(`${res.statusCode} ${text.slice(0, 200)}`);
      }
    } catch (error) {
      if (firstErrors.length < maxErrorsKept) firstErrors.push(String(error));
    }
    if (status !== 'error') latency.record(performance.now() - t0);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    done++;
    if ((done & 0x1ff) === 0) options.onProgress?.(done);
  };

  const user = async (): Promise<void> => {
    for (;;) {
      const s = nextSession++;
      if (s >= sessions) return;
      const session = `${prefix}${s}`;
      const end = Math.min(keys.length, (s + 1) * sessionLength);
      for (let i = s * sessionLength; i < end; i++) await readOne(keys[i], session);
    }
  };

  try {
    await Promise.all(Array.from({ length: users }, () => user()));
  } finally {
    await pool.close();
  }
  options.onProgress?.(done);
  const elapsedMs = performance.now() - started;
  const served = (byStatus.hit ?? 0) + (byStatus.stale ?? 0) + (byStatus.prefetched ?? 0);
  const answered = served + (byStatus.miss ?? 0);
  return {
    requests: done,
    byStatus,
    hitRatio: answered === 0 ? 0 : served / answered,
    latencyMs: latency.summary(),
    elapsedMs,
    requestsPerSecond: (1000 * done) / elapsedMs,
    firstErrors,
  };
}
