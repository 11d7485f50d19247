/**
 * Delimited traces (TSV, CSV, `;`-separated, whitespace columns): which column holds what, and one line -> one
 * request.
 *
 * Why: click logs and event logs name their columns differently (`ItemId`, `item_id`, `activity`), so columns can
 * be given by index or by header name, and when none is given a header is searched for the usual names. Times
 * arrive as Unix seconds with a fraction, milliseconds or ISO 8601 strings; `auto` tells them apart by shape
 * (numbers below 1e11 are seconds: 1e11 s is the year 5138, 1e11 ms is 1973). ISO is read strictly, without an
 * offset as UTC (iso-time.ts); a time before 1970 or after the year 3000 is a malformed line, not a replay that
 * fails as a whole on a virtual time span no double can hold.
 */
import { InvalidOptionError } from '../errors.ts';
import type { TraceRequest } from './trace-request.ts';
import { splitFields, type Delimiter } from './format-guess.ts';
import { parseIsoTimeMs } from './iso-time.ts';

/** A column given by 0-based index (number or digit string) or by header name. */
export type ColumnRef = string | number;

/** How a time column is written. `auto`: a number is seconds below 1e11, else ms; anything else must be ISO 8601. */
export type TimeUnit = 'auto' | 's' | 'ms' | 'iso';

/** Resolved column layout of a delimited trace; -1 means "no such column". */
export type DelimitedLayout = {
  readonly delimiter: Delimiter;
  readonly key: number;
  readonly session: number;
  readonly user: number;
  readonly time: number;
  readonly timeUnit: TimeUnit;
};

/** Columns asked for by the caller. */
export type ColumnChoice = {
  readonly key?: ColumnRef;
  readonly session?: ColumnRef;
  readonly user?: ColumnRef;
  readonly time?: ColumnRef;
};

/** Seconds/milliseconds boundary for `auto` times (see the file comment). */
const secondsBelow = 1e11;

/**
 * Plausible trace times, in ms since the epoch: from 1970 to the year 3000. Outside them a value is a unit mistake
 * or garbage (1e300, twenty nines), and one such line would stretch the replay's virtual time beyond use.
 */
const earliestTimeMs = 0;
const latestTimeMs = Date.UTC(3000, 0, 1);

/** Header names searched, in order, when a column is not given (compared lower-case without `_`, `-`, spaces). */
const wellKnownNames: Readonly<Record<keyof ColumnChoice, readonly string[]>> = {
  key: ['key', 'item', 'itemid', 'page', 'pageid', 'url', 'object', 'objectid', 'activity', 'action', 'event'],
  session: ['session', 'sessionid', 'case', 'caseid'],
  user: ['user', 'userid', 'visitor', 'visitorid', 'customer', 'customerid'],
  time: ['time', 'timestamp', 'ts', 'tsms', 'timems', 'eventdate', 'eventtime', 'datetime', 'date'],
};

/** Values of a session or user column that mean "none". */
const absentIds = new Set(['', 'NA', 'N/A', 'null', 'NULL']);

const numericToken = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_-]+/g, '');
}

/** Every name a column is searched by (normalized). */
const knownNames: ReadonlySet<string> = new Set(Object.values(wellKnownNames).flat());

/**
 * True when every one of `fields` is a column name the readers know (`user`, `SessionId`, `page`, ...): a header
 * where the rows below hold no numbers to set it apart, or none at all. Every field, not one: a data row such as
 * `s1,page` must not pass for a header.
 */
export function namesColumns(fields: readonly string[]): boolean {
  return fields.length > 0 && fields.every((f) => knownNames.has(normalizeName(f)));
}

/**
 * Resolves the caller's column choices against the header (if any) into indices. Throws InvalidOptionError
 * (ERR_INVALID_OPTION) for a name without a header, an unknown name or a bad index. `notes` says what was picked
 * by name when the caller gave nothing.
 */
export function resolveLayout(
  choice: ColumnChoice,
  header: readonly string[] | undefined,
  delimiter: Delimiter,
  timeUnit: TimeUnit,
): { layout: DelimitedLayout; notes: string[] } {
  const notes: string[] = [];
  const resolve = (option: keyof ColumnChoice, taken: readonly number[]): number => {
    const ref = choice[option];
    if (ref !== undefined) return columnIndex(option, ref, header);
    if (header === undefined) return option === 'key' ? 0 : -1;
    const normalized = header.map(normalizeName);
    for (const name of wellKnownNames[option]) {
      const index = normalized.indexOf(name);
      if (index >= 0 && !taken.includes(index)) {
        notes.push(`${option} = column ${index} (${header[index]})`);
        return index;
      }
    }
    if (option !== 'key') return -1;
    let free = 0;
    while (taken.includes(free) && free < header.length - 1) free++;
    notes.push(`key = column ${free} (${header[free]}): no column is named like a key, the first one not used otherwise`);
    return free;
  };
  const session = resolve('session', []);
  const user = resolve('user', [session]);
  const time = resolve('time', [session, user]);
  const key = resolve('key', [session, user, time]);
  const layout = { delimiter, key, session, user, time, timeUnit };
  return { layout, notes };
}

function columnIndex(option: string, ref: ColumnRef, header: readonly string[] | undefined): number {
  if (typeof ref === 'number') {
    if (!Number.isSafeInteger(ref) || ref < 0) throw new InvalidOptionError(option, 'a column name or a 0-based column index', ref);
    return ref;
  }
  if (typeof ref !== 'string' || ref.length === 0) throw new InvalidOptionError(option, 'a column name or a 0-based column index', ref);
  if (/^\d+$/.test(ref)) return Number(ref);
  if (header === undefined) throw new InvalidOptionError(option, 'a column index (names need `header: true`)', ref);
  const exact = header.indexOf(ref);
  if (exact >= 0) return exact;
  const loose = header.findIndex((name) => name.trim().toLowerCase() === ref.toLowerCase());
  if (loose >= 0) return loose;
  throw new InvalidOptionError(option, `a column index or one of the header's names (${header.join(', ')})`, ref);
}

/**
 * Milliseconds since the epoch for a time token, or undefined when it does not parse in `unit`.
 */
export function parseTimeMs(token: string, unit: TimeUnit): number | undefined {
  if (token.length === 0) return undefined;
  if (unit === 'iso') return parseIsoTimeMs(token);
  if (numericToken.test(token)) {
    const n = Number(token);
    if (!Number.isFinite(n)) return undefined;
    if (unit === 's') return n * 1000;
    if (unit === 'ms') return n;
    return Math.abs(n) < secondsBelow ? n * 1000 : n;
  }
  return unit === 'auto' ? parseIsoTimeMs(token) : undefined;
}

/** Parses one non-blank line into a request, or returns the reason it is malformed. */
export function parseDelimitedLine(text: string, line: number, layout: DelimitedLayout): TraceRequest | string {
  const fields = splitFields(text, layout.delimiter);
  if (layout.key >= fields.length) return `expected a key in column ${layout.key}, found ${fields.length} fields`;
  const key = fields[layout.key].trim();
  if (key.length === 0) return `empty key in column ${layout.key}`;
  let session: string | undefined;
  let user: string | undefined;
  let timeMs: number | undefined;
  if (layout.session >= 0) {
    if (layout.session >= fields.length) return `expected a session in column ${layout.session}, found ${fields.length} fields`;
    const value = fields[layout.session].trim();
    if (!absentIds.has(value)) session = value;
  }
  if (layout.user >= 0) {
    if (layout.user >= fields.length) return `expected a user in column ${layout.user}, found ${fields.length} fields`;
    const value = fields[layout.user].trim();
    if (!absentIds.has(value)) user = value;
  }
  if (layout.time >= 0) {
    if (layout.time >= fields.length) return `expected a time in column ${layout.time}, found ${fields.length} fields`;
    const token = fields[layout.time].trim();
    timeMs = parseTimeMs(token, layout.timeUnit);
    if (timeMs === undefined) return `cannot read time ${JSON.stringify(token)} as ${layout.timeUnit === 'auto' ? 'an ISO 8601 date or a number' : layout.timeUnit}`;
    if (!(timeMs >= earliestTimeMs && timeMs <= latestTimeMs)) return `time ${JSON.stringify(token)} is outside 1970 to the year 3000`;
  }
  const request: { key: string; session?: string; user?: string; timeMs?: number; line: number } = { key, line };
  if (session !== undefined) request.session = session;
  if (user !== undefined) request.user = user;
  if (timeMs !== undefined) request.timeMs = timeMs;
  return request;
}
