/**
 * SessionOwners: which user each session belongs to, so a token bound to one user cannot read another user's
 * session (its predictions, its profile). A session is claimed by the first user that uses it; a session first
 * used without a user is claimed by the first user that comes along. Sessions not used for a while are forgotten
 * past `maxSessions`, so memory stays bounded.
 *
 * The models know a session by its id and its incarnation (`<id>#<n>`, n in base 36): a session forgotten and then
 * claimed again starts with no history, so whoever claims it next (another user's bound token, after pushing it out
 * with sessions of its own) cannot read through its predictions what the models learned from the earlier owner.
 *
 * Each session also keeps the read context its requests use, handed out again while owner and segment stay the
 * same. Why: every read's context waits in the access buffer until the models drain it; a fresh object per request
 * (with the request's fresh copy of the session id) would be copied by each scavenge meanwhile, and a burst of reads
 * then lengthens the very GC pauses its own hits wait behind.
 */
import type { ReadContext } from '../context.ts';
import { PrescientError } from '../errors.ts';
import { positiveInt } from '../options.ts';
import { ownString } from '../own-string.ts';

/** Marks a session seen without a user. */
const unowned = '';

type SessionRecord = {
  owner: string;
  /** The session id the models see: `<id>#<incarnation>`. */
  readonly modelId: string;
  /** The context last handed out for the session, and the segment it was made with. */
  ctx: ReadContext | undefined;
  segment: string | undefined;
  /** `claims` count when the record was last put at the young end of the map. */
  movedAt: number;
};

export class SessionOwners {
  readonly #records = new Map<string, SessionRecord>();
  readonly #max: number;
  /** Claims made so far. */
  #claims = 0;
  /** Records created so far (each session incarnation gets the next number). */
  #incarnations = 0;

  /** @throws InvalidOptionError (ERR_INVALID_OPTION) unless `maxSessions` is a positive integer. */
  constructor(maxSessions: number) {
    this.#max = positiveInt('maxSessions', maxSessions);
  }

  /**
   * Records that `user` (or nobody) uses `session` and returns the read context of the request:
   * `{ session: <id>#<incarnation>, user: owner, segment }` (absent fields left out), where the owner is the user the
   * request acts for from then on. The same object comes back for as long as owner and segment do not change.
   * @throws PrescientError ERR_FORBIDDEN when `user` is given and the session belongs to another user.
   */
  context(session: string, user: string | undefined, segment: string | undefined): ReadContext {
    const record = this.#claim(session, user);
    if (record.ctx !== undefined && record.segment === segment) return record.ctx;
    const ctx: { session: string; user?: string; segment?: string } = { session: record.modelId };
    if (record.owner !== unowned) ctx.user = record.owner;
    const kept = segment === undefined ? undefined : ownString(segment);
    if (kept !== undefined) ctx.segment = kept;
    record.ctx = ctx;
    record.segment = kept;
    return ctx;
  }

  /** Sessions remembered. */
  get size(): number {
    return this.#records.size;
  }

  #claim(session: string, user: string | undefined): SessionRecord {
    const records = this.#records;
    const claims = ++this.#claims;
    let record = records.get(session);
    if (record === undefined) {
      // Kept for as long as the session is remembered: copies, not slices of the request's URL (own-string.ts).
      const id = ownString(session);
      record = { owner: user === undefined ? unowned : ownString(user), modelId: ownString(`${id}#${(++this.#incarnations).toString(36)}`), ctx: undefined, segment: undefined, movedAt: claims };
      records.set(id, record);
      if (records.size > this.#max) records.delete(records.keys().next().value as string);
      return record;
    }
    if (record.owner !== unowned && user !== undefined && record.owner !== user) {
      throw new PrescientError('ERR_FORBIDDEN', `Session ${JSON.stringify(session)} belongs to another user`);
    }
    if (record.owner === unowned && user !== undefined) {
      record.owner = ownString(user);
      record.ctx = undefined;
    }
    // A Map keeps insertion order, and re-inserting moves a session to the young end; doing it on every claim churns
    // the map's table (a fresh one each time it fills with deleted slots). Moving a session only once half the bound
    // has been claimed since its last move still forgets no session claimed within the last maxSessions / 2 claims.
    if (claims - record.movedAt > this.#max / 2) {
      records.delete(session);
      records.set(session, record);
      record.movedAt = claims;
    }
    return record;
  }
}
