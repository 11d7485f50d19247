/**
 * Interner: dense integer ids for the distinct strings of a trace (keys, sessions, users), one stored string each.
 *
 * Why: the readers cut keys out of 1 MiB decoded chunks, and V8 keeps such a cut (13 characters or more) as a
 * slice that holds its whole chunk alive. Storing the string as it came would keep one chunk per distinct key
 * first seen in it: a trace with a new key in every chunk stayed whole in memory. The first sighting is stored as
 * an owned copy (one small allocation per distinct string); repeats only look it up.
 */
import { PrescientError } from '../errors.ts';
import { ownString } from '../own-string.ts';

/** Most distinct strings one Interner holds: V8's limit on the entries of a Map (2^24). */
export const maxInternedStrings = 2 ** 24;

/** Ids 0, 1, 2, ... for strings in order of first sighting; `names[id]` is the string stored for an id. */
export class Interner {
  readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  /** What the strings are and where they come from, for the error message (`keys in trace.tsv`). */
  readonly #what: string;
  readonly #max: number;

  /** `maxStrings` lets a test reach the limit without 2^24 strings. @default maxInternedStrings */
  constructor(what: string, maxStrings = maxInternedStrings) {
    this.#what = what;
    this.#max = maxStrings;
  }

  /**
   * The id of `name`, assigned in order of first sighting.
   * @throws PrescientError ERR_TRACE_READ past {@link maxInternedStrings} (or `maxStrings`) distinct strings
   */
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      if (id >= this.#max) {
        throw new PrescientError('ERR_TRACE_READ', `more than ${this.#max} distinct ${this.#what}: at most ${this.#max} are held (use --limit to read a prefix)`);
      }
      const owned = ownString(name);
      this.ids.set(owned, id);
      this.names.push(owned);
    }
    return id;
  }
}
