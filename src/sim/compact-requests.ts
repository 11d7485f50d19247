/**
 * CompactRequests: the requests `prescient evaluate` reads, held as ids and times in typed arrays, handed out again
 * as EvaluationRequest objects, one at a time, on each pass.
 *
 * Why: the evaluation protocol orders every request by time before its two passes, so the whole trace must be held;
 * as one object per request (four fields and a header, about 64 bytes by layout on this Node, plus an array slot) a
 * 13-million-request log needed near 1 GB beside the models. Here a request costs 20 bytes (key, session and user ids, a time) plus 4 bytes of order, and
 * each distinct string is stored once (Interner). A request without a session is its own session: its id is
 * negative and its name (a prefix no real session name starts with, then n) is made when it is handed out. Cost: the
 * objects handed out are short-lived garbage.
 */
import type { EvaluationRequest } from './evaluate.ts';
import { Interner } from './interner.ts';
import { grow, timeOrder } from './workload.ts';

/** First capacity of the columns; they double when full. */
const initialCapacity = 1024;

/**
 * Requests held as ids and times; iterable any number of times, each pass in time order after `sortByTime`. A request
 * without a session comes back as its own session, under a name no real session has.
 */
export class CompactRequests implements Iterable<EvaluationRequest> {
  readonly #keys: Interner;
  readonly #sessions: Interner;
  readonly #users: Interner;
  #keyIds = new Int32Array(initialCapacity);
  /** Session id, or -(n + 1) for the n-th request without a session. */
  #sessionIds = new Int32Array(initialCapacity);
  /** User id, or -1 when the request names none. */
  #userIds = new Int32Array(initialCapacity);
  /** Time, or NaN when the request has none. */
  #times = new Float64Array(initialCapacity);
  #order: Int32Array | undefined;
  #length = 0;
  #anonymous = 0;
  #timed = 0;

  /** `source` names what the strings come from, for the Interner's limit message (`trace.tsv`). */
  constructor(source: string) {
    this.#keys = new Interner(`keys in ${source}`);
    this.#sessions = new Interner(`sessions in ${source}`);
    this.#users = new Interner(`users in ${source}`);
  }

  /** Requests held. */
  get length(): number {
    return this.#length;
  }

  /** Requests that came with no session (each its own session). */
  get anonymous(): number {
    return this.#anonymous;
  }

  /** Requests that came with a time. */
  get timed(): number {
    return this.#timed;
  }

  /** Appends a request (in file order until `sortByTime`). */
  push(key: string, session: string | undefined, user: string | undefined, timeMs: number | undefined): void {
    const i = this.#length++;
    if (i === this.#keyIds.length) {
      this.#keyIds = grow(this.#keyIds, i + 1);
      this.#sessionIds = grow(this.#sessionIds, i + 1);
      this.#userIds = grow(this.#userIds, i + 1);
      this.#times = grow(this.#times, i + 1);
    }
    this.#keyIds[i] = this.#keys.id(key);
    this.#sessionIds[i] = session === undefined ? -++this.#anonymous : this.#sessions.id(session);
    this.#userIds[i] = user === undefined ? -1 : this.#users.id(user);
    this.#times[i] = timeMs ?? Number.NaN;
    if (timeMs !== undefined) this.#timed++;
    this.#order = undefined;
  }

  /** Orders the requests by time, ties in file order (a stable order); requests without a time keep file order. */
  sortByTime(): void {
    this.#order = this.#timed === this.#length ? timeOrder(this.#times, this.#length) : undefined;
  }

  /**
   * Prefix of the names given to requests without a session: NUL characters, as many as it takes for no real
   * session name to start with them, so `${prefix}${n}` can never be a real session's name (a trace's text may
   * hold anything, `#0` and NUL included; one such collision merged a lone request into a real session).
   */
  #anonymousPrefix(): string {
    let prefix = '\0';
    while (this.#sessions.names.some((name) => name.startsWith(prefix))) prefix += '\0';
    return prefix;
  }

  *[Symbol.iterator](): Iterator<EvaluationRequest> {
    const order = this.#order;
    const keys = this.#keys.names;
    const sessions = this.#sessions.names;
    const users = this.#users.names;
    const anonymous = this.#anonymous === 0 ? '' : this.#anonymousPrefix();
    for (let n = 0; n < this.#length; n++) {
      const i = order === undefined ? n : order[n];
      const s = this.#sessionIds[i];
      const u = this.#userIds[i];
      const t = this.#times[i];
      yield {
        key: keys[this.#keyIds[i]],
        session: s < 0 ? `${anonymous}${-s - 1}` : sessions[s],
        user: u < 0 ? undefined : users[u],
        time: Number.isNaN(t) ? undefined : t,
      };
    }
  }
}
