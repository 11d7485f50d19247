/**
 * Workload: a trace turned into the request stream every simulated policy replays — dense key ids, session ids and
 * arrival times on virtual time, in arrival order.
 *
 * Why: each policy must see exactly the same stream, and a multi-million-request trace must not live in memory as
 * strings, so one pass interns keys and sessions into integer ids (one string per distinct key) and typed arrays
 * (about 16 bytes per request). Arrival times come from the trace's own timestamps when every request has one
 * (scaled by `speed`), otherwise from a fixed inter-arrival: sessions are interleaved round-robin, `sessions` of
 * them active at once and a new one starting when one ends (the way the reference figures interleave msnbc), and
 * a trace without sessions is replayed in file order.
 */
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { nonNegativeNumber, positiveInt } from '../options.ts';
import { Interner } from './interner.ts';
import type { TraceSource } from './trace-reader.ts';

/** Latest arrival time a replay accepts, in ms: past 2^53 a double no longer holds every millisecond. */
const maxVirtualMs = Number.MAX_SAFE_INTEGER;

export type Workload = {
  readonly trace: string;
  readonly requests: number;
  /** Distinct keys by id. */
  readonly keys: readonly string[];
  /** Session names by id. */
  readonly sessions: readonly string[];
  /** User names by id. */
  readonly users: readonly string[];
  /** Per request, in arrival order. -1 where absent. */
  readonly keyIds: Int32Array;
  readonly sessionIds: Int32Array;
  readonly userIds: Int32Array;
  /** Arrival time of each request in ms from the start of the replay, non-decreasing. */
  readonly arrivalMs: Float64Array;
  /** How arrival times were made, in words (printed with every result). */
  readonly timing: string;
  readonly timingKind: 'timestamps' | 'interleaved' | 'sequential';
};

export type WorkloadOptions = {
  /** Time scale for traces with timestamps: 2 replays twice as fast. @default 1 */
  readonly speed?: number;
  /** Gap between requests for traces without timestamps, in ms. @default 25 */
  readonly interarrivalMs?: number;
  /** Sessions active at once when interleaving a trace without timestamps. @default 1000 */
  readonly sessions?: number;
  /** Ignore the trace's timestamps and interleave instead. @default false */
  readonly ignoreTime?: boolean;
  /** Called every 65,536 requests read. */
  readonly onProgress?: (requestsRead: number) => void;
};

/** Grows an Int32Array/Float64Array by doubling. */
export function grow<T extends Int32Array | Float64Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** The indexes 0..n-1 of `times` in time order, ties in index (file) order: a stable sort. */
export function timeOrder(times: Float64Array, n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => times[a] - times[b] || a - b);
}

/**
 * Reads `source` once into a Workload.
 * @throws PrescientError ERR_TRACE_EMPTY when the trace yields no request.
 * @throws PrescientError ERR_TRACE_READ past 2^24 distinct keys, sessions or users (interner.ts).
 */
export async function loadWorkload(source: TraceSource, options: WorkloadOptions = {}): Promise<Workload> {
  const speed = nonNegativeNumber('speed', options.speed, 1);
  if (speed === 0) throw new PrescientError('ERR_INVALID_OPTION', 'Expected `speed` to be a positive number, got 0');
  const interarrivalMs = nonNegativeNumber('interarrivalMs', options.interarrivalMs, 25);
  const active = positiveInt('sessions', options.sessions, 1000);
  const keys = new Interner(`keys in ${source.path}`);
  const sessions = new Interner(`sessions in ${source.path}`);
  const users = new Interner(`users in ${source.path}`);
  let keyIds = new Int32Array(1 << 16);
  let sessionIds = new Int32Array(1 << 16);
  let userIds = new Int32Array(1 << 16);
  let times = new Float64Array(1 << 16);
  let n = 0;
  let timed = 0;
  for await (const batch of source.batches()) {
    keyIds = grow(keyIds, n + batch.length);
    sessionIds = grow(sessionIds, n + batch.length);
    userIds = grow(userIds, n + batch.length);
    times = grow(times, n + batch.length);
    for (const r of batch) {
      keyIds[n] = keys.id(r.key);
      sessionIds[n] = r.session === undefined ? -1 : sessions.id(r.session);
      userIds[n] = r.user === undefined ? -1 : users.id(r.user);
      if (r.timeMs !== undefined && Number.isFinite(r.timeMs)) {
        times[n] = r.timeMs;
        timed++;
      } else times[n] = NaN;
      n++;
      if ((n & 0xffff) === 0) options.onProgress?.(n);
    }
  }
  if (n === 0) throw new PrescientError('ERR_TRACE_EMPTY', `${source.path}: no requests could be read`);
  const order = new Int32Array(n);
  const arrivalMs = new Float64Array(n);
  let timing: string;
  let timingKind: Workload['timingKind'];
  if (timed === n && options.ignoreTime !== true) {
    timingKind = 'timestamps';
    const t = times;
    const sorted = timeOrder(t, n);
    const t0 = t[sorted[0]];
    for (let i = 0; i < n; i++) {
      order[i] = sorted[i];
      arrivalMs[i] = (t[sorted[i]] - t0) / speed;
    }
    timing = `trace timestamps${speed === 1 ? '' : ` at ${speed}x speed`}`;
  } else if (sessions.names.length > 0) {
    timingKind = 'interleaved';
    interleave(sessionIds, n, active, order);
    for (let i = 0; i < n; i++) arrivalMs[i] = i * interarrivalMs;
    timing =
      active === 1
        ? `sessions one after another in file order, one request every ${interarrivalMs} ms`
        : `${active} sessions interleaved round-robin, one request every ${interarrivalMs} ms`;
  } else {
    timingKind = 'sequential';
    for (let i = 0; i < n; i++) {
      order[i] = i;
      arrivalMs[i] = i * interarrivalMs;
    }
    timing = `file order, one request every ${interarrivalMs} ms`;
  }
  // Virtual time is a double: a speed or gap so extreme that it overflows (or loses every millisecond) would replay
  // at nonsense times and print NaN latencies, so it is refused.
  const span = arrivalMs[n - 1];
  if (!Number.isFinite(span) || span > maxVirtualMs) {
    const option = timingKind === 'timestamps' ? 'speed' : 'interarrivalMs';
    throw new InvalidOptionError(option, `a value that keeps this trace's ${n} requests within ${maxVirtualMs} ms of virtual time`, timingKind === 'timestamps' ? speed : interarrivalMs);
  }
  const permute = (a: Int32Array): Int32Array => {
    const b = new Int32Array(n);
    for (let i = 0; i < n; i++) b[i] = a[order[i]];
    return b;
  };
  return {
    trace: source.path,
    requests: n,
    keys: keys.names,
    sessions: sessions.names,
    users: users.names,
    keyIds: permute(keyIds),
    sessionIds: permute(sessionIds),
    userIds: permute(userIds),
    arrivalMs,
    timing,
    timingKind,
  };
}

/**
 * Round-robin over `active` sessions at a time, in order of first appearance; a request without a session is a
 * session of its own. Writes the file positions in arrival order into `order`.
 */
function interleave(sessionIds: Int32Array, n: number, active: number, order: Int32Array): void {
  // Per-request link to the next request of the same session (file order), and each session's first request.
  const next = new Int32Array(n).fill(-1);
  const lastOf = new Map<number, number>();
  const starts: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = sessionIds[i];
    const prev = s < 0 ? undefined : lastOf.get(s);
    if (prev === undefined) starts.push(i);
    else next[prev] = i;
    if (s >= 0) lastOf.set(s, i);
  }
  const slots: number[] = [];
  let nextStart = 0;
  while (slots.length < active && nextStart < starts.length) slots.push(starts[nextStart++]);
  let out = 0;
  while (slots.length > 0) {
    for (let j = 0; j < slots.length; ) {
      const i = slots[j];
      order[out++] = i;
      const following = next[i];
      if (following >= 0) {
        slots[j++] = following;
      } else if (nextStart < starts.length) {
        slots[j++] = starts[nextStart++];
      } else {
        slots.splice(j, 1);
      }
    }
  }
}
