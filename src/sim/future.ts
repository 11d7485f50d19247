/**
 * Future: what an offline baseline knows ahead of time, built in one pass over a trace.
 *
 * Why: Belady's MIN needs, at each request, when each cached key is next used; the oracle needs each request's
 * successor in its session. Both are computed once, into typed arrays indexed by request position and over dense
 * key ids, so millions of requests cost 12 bytes each plus one string per distinct key. Built in one forward
 * pass: each request patches its key's previous occurrence and its session's previous request.
 */

import { PrescientError } from '../errors.ts';

/** `nextUse` / `nextInSession` value when there is no later request. */
export const noNext = -1;

/** What the offline baselines know of a trace. Index i is the i-th request of the pass. */
export type Future = {
  /** Requests in the trace. */
  readonly length: number;
  /** Key of each id. */
  readonly keys: readonly string[];
  /** Key id of each request. */
  readonly keyIds: Int32Array;
  /** Index of the next request for the same key, or `noNext`. */
  readonly nextUse: Int32Array;
  /**
   * Key id of the next request of the same session, or of the next request of the stream for requests without a
   * session; `noNext` when there is none.
   */
  readonly nextInSession: Int32Array;
};

/** Builds a Future request by request (use it while streaming a trace pass). */
export class FutureBuilder {
  #ids = new Map<string, number>();
  #keys: string[] = [];
  #keyIds = new Int32Array(1024);
  #nextUse = new Int32Array(1024);
  #nextInSession = new Int32Array(1024);
  #lastOfKey = new Int32Array(1024);
  #lastOfSession = new Map<string, number>();
  #previousWithoutSession = noNext;
  #length = 0;

  /** Adds the next request; returns its index. */
  add(key: string, session?: string): number {
    const index = this.#length;
    if (index === this.#keyIds.length) this.#grow();
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#keys.length;
      this.#ids.set(key, id);
      this.#keys.push(key);
      if (id === this.#lastOfKey.length) this.#lastOfKey = grown(this.#lastOfKey);
      this.#lastOfKey[id] = noNext;
    }
    this.#keyIds[index] = id;
    this.#nextUse[index] = noNext;
    this.#nextInSession[index] = noNext;
    const previous = this.#lastOfKey[id];
    if (previous !== noNext) this.#nextUse[previous] = index;
    this.#lastOfKey[id] = index;
    if (this.#previousWithoutSession !== noNext) this.#nextInSession[this.#previousWithoutSession] = id;
    this.#previousWithoutSession = noNext;
    if (session === undefined) {
      this.#previousWithoutSession = index;
    } else {
      const before = this.#lastOfSession.get(session);
      if (before !== undefined) this.#nextInSession[before] = id;
      this.#lastOfSession.set(session, index);
    }
    this.#length++;
    return index;
  }

  /** The Future of the requests added so far. */
  finish(): Future {
    const n = this.#length;
    return Object.freeze({
      length: n,
      keys: this.#keys,
      keyIds: this.#keyIds.slice(0, n),
      nextUse: this.#nextUse.slice(0, n),
      nextInSession: this.#nextInSession.slice(0, n),
    });
  }

  #grow(): void {
    this.#keyIds = grown(this.#keyIds);
    this.#nextUse = grown(this.#nextUse);
    this.#nextInSession = grown(this.#nextInSession);
  }
}

function grown(array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

/** The Future of a sequence of requests (their order is the index order). */
export function buildFuture(requests: Iterable<{ readonly key: string; readonly session?: string }>): Future {
  const builder = new FutureBuilder();
  for (const request of requests) builder.add(request.key, request.session);
  return builder.finish();
}

/**
 * The Future of requests already interned as dense ids (a Workload's arrays): no string is hashed, so it costs
 * two typed-array passes. `sessionIds[i] < 0` means request i has no session.
 * @throws PrescientError ERR_INVALID_OPTION when the arrays differ in length or an id is out of range
 */
export function futureFromIds(keys: readonly string[], keyIds: Int32Array, sessionIds: Int32Array): Future {
  const n = keyIds.length;
  if (sessionIds.length !== n) {
    throw new PrescientError('ERR_INVALID_OPTION', `Expected \`sessionIds\` to have ${n} entries like \`keyIds\`, got ${sessionIds.length}`);
  }
  let sessionCount = 0;
  for (let i = 0; i < n; i++) {
    const id = keyIds[i];
    if (id < 0 || id >= keys.length) throw new PrescientError('ERR_INVALID_OPTION', `Key id ${id} of request ${i} is not an index of \`keys\``);
    if (sessionIds[i] >= sessionCount) sessionCount = sessionIds[i] + 1;
  }
  const nextUse = new Int32Array(n).fill(noNext);
  const nextInSession = new Int32Array(n).fill(noNext);
  const lastOfKey = new Int32Array(keys.length).fill(noNext);
  const lastOfSession = new Int32Array(sessionCount).fill(noNext);
  let previousWithoutSession = noNext;
  for (let i = 0; i < n; i++) {
    const id = keyIds[i];
    if (lastOfKey[id] !== noNext) nextUse[lastOfKey[id]] = i;
    lastOfKey[id] = i;
    if (previousWithoutSession !== noNext) nextInSession[previousWithoutSession] = id;
    previousWithoutSession = noNext;
    const session = sessionIds[i];
    if (session < 0) {
      previousWithoutSession = i;
    } else {
      if (lastOfSession[session] !== noNext) nextInSession[lastOfSession[session]] = id;
      lastOfSession[session] = i;
    }
  }
  return Object.freeze({ length: n, keys, keyIds: keyIds.slice(), nextUse, nextInSession });
}
