/**
 * `openTrace`: a re-readable, streaming source of requests from a trace file (delimited, sessions, keys or ARC,
 * optionally gzipped), with the format guessed and explained when not given.
 *
 * Why: the simulator reads a trace several times (once to plan and build the future for offline baselines, once
 * per policy), and real traces run to millions of requests, so a source re-opens the file on every pass and never
 * holds more than a chunk of it. Malformed lines are counted with their line numbers and skipped, or, in strict
 * mode, stop the pass with a TraceParseError naming the file and line.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { InvalidOptionError, PrescientError, TraceParseError } from '../errors.ts';
import { bool, nonNegativeInt, oneOf } from '../options.ts';
import { parseArcLine } from './arc-reader.ts';
import { namesColumns, parseDelimitedLine, resolveLayout, type ColumnRef, type DelimitedLayout, type TimeUnit } from './delimited-reader.ts';
import {
  consistentDelimiter,
  delimiterName,
  guessFormat,
  headerClause,
  guessSampleLines,
  looksLikeHeader,
  splitFields,
  type Delimiter,
  type TraceFormat,
} from './format-guess.ts';
import { lineBatches, maxLineChars, overlongLine, peekLines } from './line-batches.ts';
import type { TraceRequest } from './trace-request.ts';

export type { TraceRequest } from './trace-request.ts';
export type { TraceFormat } from './format-guess.ts';
export type { ColumnRef, TimeUnit } from './delimited-reader.ts';

/** How to read a trace. Every field is optional: what is missing is guessed and the guess reported. */
export type TraceOptions = {
  /** The format; guessed from the file name and first lines when absent (delimited when columns are given). */
  readonly format?: TraceFormat;
  /** Key column (delimited): a 0-based index (number or digit string) or a header name. @default 0, or a header column named like key/item/page/url/object */
  readonly key?: ColumnRef;
  /** Session column (delimited). @default none, or a header column named like session/session_id/case */
  readonly session?: ColumnRef;
  /** User column (delimited). @default none, or a header column named like user/user_id */
  readonly user?: ColumnRef;
  /** Time column (delimited). @default none, or a header column named like time/timestamp/ts/eventdate */
  readonly time?: ColumnRef;
  /** Field separator (delimited): any string; `'tab'` or `'\t'` (backslash, t) mean a tab. @default guessed: tab, comma, semicolon or whitespace */
  readonly delimiter?: string;
  /** Whether the first non-blank line is a header (delimited). @default guessed: names above numbers */
  readonly header?: boolean;
  /** Throw TraceParseError (ERR_TRACE_PARSE) on the first malformed line instead of counting and skipping it. @default false */
  readonly strict?: boolean;
  /** How times are written. @default 'auto' */
  readonly timeUnit?: TimeUnit;
  /** Stop each pass after this many requests. @default no limit */
  readonly limit?: number;
};

/** A malformed line: 1-based line number and what was wrong. */
export type MalformedLine = { readonly line: number; readonly reason: string };

/** Counts of the last pass. */
export type TraceStats = {
  /** Lines read, blank lines and the header included. */
  readonly lines: number;
  /** Requests yielded. */
  readonly requests: number;
  /** Malformed lines skipped. */
  readonly malformed: number;
  /** The first `maxMalformedReported` malformed lines. */
  readonly firstMalformed: readonly MalformedLine[];
};

/** How many malformed lines a pass keeps for reporting. */
export const maxMalformedReported = 10;

/** Requests per batch at most: bounds the memory an ARC line expansion can take at once. */
const maxBatchRequests = 8192;

/** A re-readable trace. Each iteration re-opens the file and is a fresh pass. */
export interface TraceSource extends AsyncIterable<TraceRequest> {
  readonly path: string;
  /** The format read. */
  readonly format: TraceFormat;
  /** True when the format, delimiter, header or columns were inferred rather than given. */
  readonly guessed: boolean;
  /** What was inferred and from what; empty when nothing was. */
  readonly guessReason: string;
  /** One pass over the trace in batches of requests (faster than request by request; never an empty batch). */
  batches(): AsyncGenerator<TraceRequest[], void, undefined>;
  /** Counts of the last pass that ended (completed, stopped at `limit` or stopped by the consumer); zeros before any. */
  stats(): TraceStats;
}

type Plan = {
  format: TraceFormat;
  layout: DelimitedLayout | undefined;
  header: boolean;
  notes: string[];
};

/**
 * Opens a trace for reading. Reads the first lines to guess what was not given, so a bad option (an unknown
 * column name, a name without a header) fails here rather than on the first pass.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad or contradictory option
 * @throws PrescientError ERR_TRACE_NOT_FOUND when `path` is not a readable file
 * @throws PrescientError ERR_TRACE_EMPTY when the format must be guessed and the file has no non-blank line
 */
export async function openTrace(path: string, options: TraceOptions = {}): Promise<TraceSource> {
  const format = options.format === undefined ? undefined : oneOf('format', options.format, ['delimited', 'sessions', 'keys', 'arc']);
  const timeUnit = oneOf('timeUnit', options.timeUnit, ['auto', 's', 'ms', 'iso'], 'auto');
  const strict = bool('strict', options.strict, false);
  const header = options.header === undefined ? undefined : bool('header', options.header, false);
  const limit = options.limit === undefined ? Infinity : nonNegativeInt('limit', options.limit);
  const delimiter = options.delimiter === undefined ? undefined : delimiterOption(options.delimiter);
  const columnsGiven = (['key', 'session', 'user', 'time'] as const).filter((c) => options[c] !== undefined);
  if (format !== undefined && format !== 'delimited') {
    for (const name of [...columnsGiven, ...(options.delimiter !== undefined ? ['delimiter' as const] : [])]) {
      throw new InvalidOptionError(name, `absent with format '${format}' (columns apply to delimited traces)`, options[name]);
    }
  }
  await checkReadable(path);
  const sample = await peekLines(path, guessSampleLines);
  const plan = planTrace(path, sample, { format, header, delimiter, timeUnit, options, columnsGiven });
  return new FileTraceSource(path, plan, strict, limit);
}

function planTrace(
  path: string,
  sample: string[],
  given: {
    format: TraceFormat | undefined;
    header: boolean | undefined;
    delimiter: Delimiter | undefined;
    timeUnit: TimeUnit;
    options: TraceOptions;
    columnsGiven: readonly string[];
  },
): Plan {
  const notes: string[] = [];
  let format = given.format;
  let guessedDelimiter: Delimiter | undefined;
  let guessedHeader: boolean | undefined;
  if (format === undefined) {
    if (sample.length === 0) throw new PrescientError('ERR_TRACE_EMPTY', `${path}: no non-blank line to guess the format from`);
    if (given.columnsGiven.length > 0 || given.delimiter !== undefined) {
      format = 'delimited';
      notes.push(`format delimited because ${[...given.columnsGiven, ...(given.delimiter !== undefined ? ['delimiter'] : [])].join(', ')} was given`);
    } else {
      const guess = guessFormat(basename(path), sample);
      format = guess.format;
      guessedDelimiter = guess.format === 'delimited' ? guess.delimiter : undefined;
      guessedHeader = guess.format === 'delimited' ? guess.header : undefined;
      const overruled = given.header === false && guess.format === 'delimited' && guess.header;
      notes.push(`format ${guess.format}: ${overruled ? guess.reason.replace(headerClause, '; the first line looks like a header, but --no-header reads it as data') : guess.reason}`);
    }
  }
  if (format !== 'delimited') {
    // A header line above keys, sessions or block ranges is skipped when the caller says there is one, or when a
    // guessed one-key-per-line file starts with a column name (`object_id`).
    let header = given.header === true;
    const first = sample[0]?.trim();
    const isName = first !== undefined && namesColumns([first]) && !sample.slice(1).some((line) => line.trim() === first);
    if (given.header === undefined && given.format === undefined && format === 'keys' && isName) {
      header = true;
      notes.push(`header: the first line (${sample[0].trim()}) names a column`);
    }
    return { format, layout: undefined, header, notes };
  }

  let delimiter = given.delimiter ?? guessedDelimiter;
  if (delimiter === undefined && sample.length > 0) {
    delimiter = consistentDelimiter(sample) ?? null;
    notes.push(`delimiter ${delimiterName(delimiter)}`);
  }
  delimiter ??= null;
  let header = given.header ?? guessedHeader;
  if (header === undefined) {
    header = looksLikeHeader(sample, delimiter);
    if (header) notes.push('header: the first line looks like one (names above numbers)');
  }
  // Columns given by index say the caller reads the file as it is: no header is inferred from names then.
  const byIndex = given.columnsGiven.length > 0 && given.columnsGiven.every((c) => /^\d+$/.test(String(given.options[c as keyof TraceOptions])));
  if (header === false && given.header === undefined && !byIndex && sample.length > 0 && namesColumns(splitFields(sample[0], delimiter))) {
    header = true;
    notes.push('header: the first line names columns');
  }
  if (header && sample.length === 0) throw new PrescientError('ERR_TRACE_EMPTY', `${path}: no header line`);
  const names = header ? splitFields(sample[0], delimiter).map((name) => name.trim()) : undefined;
  const { layout, notes: columnNotes } = resolveLayout(given.options, names, delimiter, given.timeUnit);
  notes.push(...columnNotes);
  for (const column of given.columnsGiven) {
    const index = layout[column as 'key' | 'session' | 'user' | 'time'];
    if (names !== undefined && index >= names.length) throw new InvalidOptionError(column, `a column index below ${names.length} (the header names ${names.length} columns)`, given.options[column as keyof TraceOptions]);
  }
  if (!header) notes.push(`no header line${given.options.key === undefined ? ': key = column 0' : ''}`);
  return { format, layout, header, notes };
}

class FileTraceSource implements TraceSource {
  readonly path: string;
  readonly format: TraceFormat;
  readonly guessed: boolean;
  readonly guessReason: string;
  #plan: Plan;
  #strict: boolean;
  #limit: number;
  #last: TraceStats = Object.freeze({ lines: 0, requests: 0, malformed: 0, firstMalformed: Object.freeze([]) });

  constructor(path: string, plan: Plan, strict: boolean, limit: number) {
    this.path = path;
    this.format = plan.format;
    this.guessed = plan.notes.length > 0;
    this.guessReason = plan.notes.join('; ');
    this.#plan = plan;
    this.#strict = strict;
    this.#limit = limit;
  }

  stats(): TraceStats {
    return this.#last;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TraceRequest> {
    // Hand-written rather than `yield*` over batches: an async generator pays several promise turns per item,
    // this pays one, which doubles the per-request rate.
    const batches = this.batches();
    let batch: TraceRequest[] = [];
    let next = 0;
    const iterator: AsyncIterableIterator<TraceRequest> = {
      async next(): Promise<IteratorResult<TraceRequest>> {
        while (next >= batch.length) {
          const result = await batches.next();
          if (result.done === true) return { done: true, value: undefined };
          batch = result.value;
          next = 0;
        }
        return { done: false, value: batch[next++] };
      },
      async return(): Promise<IteratorResult<TraceRequest>> {
        await batches.return();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  async *batches(): AsyncGenerator<TraceRequest[], void, undefined> {
    const { format, layout } = this.#plan;
    const limit = this.#limit;
    const strict = this.#strict;
    const path = this.path;
    let lines = 0;
    let requests = 0;
    let malformed = 0;
    const firstMalformed: MalformedLine[] = [];
    let headerPending = this.#plan.header;
    const bad = (line: number, reason: string): void => {
      if (strict) throw new TraceParseError(path, line, reason);
      malformed++;
      if (firstMalformed.length < maxMalformedReported) firstMalformed.push(Object.freeze({ line, reason }));
    };
    try {
      if (limit === 0) return;
      let out: TraceRequest[] = [];
      for await (const batch of lineBatches(path)) {
        for (const text of batch) {
          const line = ++lines;
          // A blank line is nothing, except in a one-key-per-line trace: there it is a request without its key.
          if (text.trim().length === 0) {
            if (format === 'keys' && !headerPending) bad(line, 'empty line where a key was expected');
            continue;
          }
          // An overlong line is never the header: the plan was made from the lines around it (peekLines skips it).
          if (text === overlongLine) {
            bad(line, `line longer than ${maxLineChars} characters`);
            continue;
          }
          if (headerPending) {
            headerPending = false;
            continue;
          }
          if (format === 'keys') {
            // A key never holds whitespace here: a line of several tokens is another format's line, not one key.
            const key = text.trim();
            if (/\s/.test(key)) {
              bad(line, `expected one key, found ${key.split(/\s+/).length} whitespace-separated tokens`);
              continue;
            }
            out.push({ key, line });
            requests++;
          } else if (format === 'arc') {
            const range = parseArcLine(text);
            if (typeof range === 'string') {
              bad(line, range);
              continue;
            }
            const end = Math.min(range.start + range.count, range.start + (limit - requests));
            for (let block = range.start; block < end; block++) {
              out.push({ key: String(block), line });
              if (out.length >= maxBatchRequests) {
                yield out;
                out = [];
              }
            }
            requests += end - range.start;
          } else if (format === 'sessions') {
            const session = String(line);
            for (const key of text.trim().split(/\s+/)) {
              out.push({ key, session, line });
              requests++;
              if (requests >= limit) break;
            }
          } else {
            const request = parseDelimitedLine(text, line, layout as DelimitedLayout);
            if (typeof request === 'string') bad(line, request);
            else {
              out.push(request);
              requests++;
            }
          }
          if (requests >= limit) break;
        }
        if (out.length > 0) {
          yield out;
          out = [];
        }
        if (requests >= limit) break;
      }
      if (out.length > 0) yield out;
    } finally {
      this.#last = Object.freeze({ lines, requests, malformed, firstMalformed: Object.freeze(firstMalformed) });
    }
  }
}

function delimiterOption(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError('delimiter', "a non-empty string ('tab' or '\\t' for a tab)", value);
  return value === 'tab' || value === '\\t' ? '\t' : value;
}

async function checkReadable(path: string): Promise<void> {
  let isFile = false;
  try {
    isFile = (await stat(path)).isFile();
  } catch (error) {
    throw new PrescientError('ERR_TRACE_NOT_FOUND', `${path}: no such trace file`, { cause: error });
  }
  if (!isFile) throw new PrescientError('ERR_TRACE_NOT_FOUND', `${path}: not a file`);
}
