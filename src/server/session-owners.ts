/**
 * SessionOwners: which user each session belongs to, so a token bound to one user cannot read another user's
 * session (its predictions, its profile). A session is claimed by the first user that uses it; a session first
 * used without a user is claimed by the first user that comes along. Least recently used sessions are forgotten
 * past `maxSessions` (a Map keeps insertion order: touching re-inserts), so memory stays bounded.
 */
import { PrescientError } from '../errors.ts';
import { positiveInt } from '../options.ts';

/** Marks a session seen without a user. */
const unowned = '';

export class SessionOwners {
  readonly #owners = new Map<string, string>();
  readonly #max: number;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) unless `maxSessions` is a positive integer. */
  constructor(maxSessions: number) {
    this.#max = positiveInt('maxSessions', maxSessions);
  }

  /**
   * Records that `user` (or nobody) uses `session` and returns the session's owner, which is the user the
   * request acts for from then on.
   * @throws PrescientError ERR_FORBIDDEN when `user` is given and the session belongs to another user.
   */
  claim(session: string, user: string | undefined): string | undefined {
    const owner = this.#owners.get(session);
    if (owner !== undefined && owner !== unowned && user !== undefined && owner !== user) {
      throw new PrescientError('ERR_FORBIDDEN', `Session ${JSON.stringify(session)} belongs to another user`);
    }
    const next = owner === undefined || owner === unowned ? (user ?? unowned) : owner;
    this.#owners.delete(session);
    this.#owners.set(session, next);
    if (this.#owners.size > this.#max) this.#owners.delete(this.#owners.keys().next().value as string);
    return next === unowned ? undefined : next;
  }

  /** Sessions remembered. */
  get size(): number {
    return this.#owners.size;
  }
}
