/**
 * Guesses a trace's format from its name and first lines, and explains the guess.
 *
 * Why: traces come as ARC `.lis` block ranges, delimited click logs with or without a header, one-key-per-line
 * cache traces and one-session-per-line sequence files. Asking the user for the format every time is friction;
 * guessing silently is worse, so every guess carries a sentence saying what was seen. The rules, in order:
 * a `.lis`/`.lis.gz` name or lines of four integers -> arc; a tab, comma or semicolon splitting every sampled line
 * into the same number (>= 2) of fields -> delimited; one token per line -> keys; whitespace-separated tokens, the
 * same count (>= 2) on every line -> delimited on whitespace; varying counts -> sessions.
 */

/** The trace formats `openTrace` reads. */
export type TraceFormat = 'delimited' | 'sessions' | 'keys' | 'arc';

/** A field separator: a literal string, or `null` for runs of whitespace. */
export type Delimiter = string | null;

/** What `guessFormat` concluded. */
export type FormatGuess = {
  readonly format: TraceFormat;
  /** For delimited traces: the separator seen. */
  readonly delimiter: Delimiter;
  /** For delimited traces: whether the first line looks like a header. */
  readonly header: boolean;
  /** One sentence saying what was seen. */
  readonly reason: string;
};

/** How many non-blank lines the guess looks at. */
export const guessSampleLines = 20;

const arcLine = /^\s*\d+\s+\d+\s+\d+\s+\d+\s*$/;
const numeric = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
const candidateDelimiters: ReadonlyArray<readonly [string, string]> = [
  ['\t', 'tab'],
  [',', 'comma'],
  [';', 'semicolon'],
];

/** Splits a line on a delimiter (`null`: runs of whitespace, ignoring leading and trailing whitespace). */
export function splitFields(line: string, delimiter: Delimiter): string[] {
  if (delimiter === null) {
    const trimmed = line.trim();
    return trimmed.length === 0 ? [] : trimmed.split(/\s+/);
  }
  return line.split(delimiter);
}

/** Human name of a delimiter for messages. */
export function delimiterName(delimiter: Delimiter): string {
  if (delimiter === null) return 'whitespace';
  const known = candidateDelimiters.find(([d]) => d === delimiter);
  return known !== undefined ? known[1] : JSON.stringify(delimiter);
}

/**
 * Guesses the format of a trace from its file name and its first non-blank lines (at most `guessSampleLines`
 * are looked at). `lines` must not be empty.
 */
export function guessFormat(fileName: string, lines: readonly string[]): FormatGuess {
  const sample = lines.slice(0, guessSampleLines);
  if (/\.lis(\.gz)?$/i.test(fileName)) {
    return { format: 'arc', delimiter: null, header: false, reason: 'the file name ends in .lis' };
  }
  if (sample.every((line) => arcLine.test(line))) {
    return { format: 'arc', delimiter: null, header: false, reason: `each of the first ${sample.length} lines holds 4 integers (start count - -)` };
  }
  const delimiter = consistentDelimiter(sample);
  if (delimiter !== undefined) {
    const fields = splitFields(sample[0], delimiter).length;
    const header = looksLikeHeader(sample, delimiter);
    return {
      format: 'delimited',
      delimiter,
      header,
      reason: `each of the first ${sample.length} lines splits on ${delimiterName(delimiter)} into ${fields} fields` +
        (header ? '; the first line looks like a header (names above numbers)' : ''),
    };
  }
  const counts = sample.map((line) => splitFields(line, null).length);
  if (counts.every((c) => c === 1)) {
    return { format: 'keys', delimiter: null, header: false, reason: `each of the first ${sample.length} lines holds one token` };
  }
  if (sample.length >= 2 && counts.every((c) => c === counts[0])) {
    const header = looksLikeHeader(sample, null);
    return {
      format: 'delimited',
      delimiter: null,
      header,
      reason: `each of the first ${sample.length} lines holds ${counts[0]} whitespace-separated fields` +
        (header ? '; the first line looks like a header (names above numbers)' : ''),
    };
  }
  return {
    format: 'sessions',
    delimiter: null,
    header: false,
    reason: `the first ${sample.length} lines hold varying numbers (${Math.min(...counts)} to ${Math.max(...counts)}) of whitespace-separated tokens: one session per line`,
  };
}

/** The first of tab, comma, semicolon that splits every sampled line into the same number (>= 2) of fields. */
export function consistentDelimiter(sample: readonly string[]): string | undefined {
  for (const [delimiter] of candidateDelimiters) {
    const first = sample[0].split(delimiter).length;
    if (first >= 2 && sample.every((line) => line.split(delimiter).length === first)) return delimiter;
  }
  return undefined;
}

/**
 * True when some column holds a non-numeric token on the first line and numbers on every later sampled line
 * (`SessionId` above `3`). Needs at least two lines.
 */
export function looksLikeHeader(sample: readonly string[], delimiter: Delimiter): boolean {
  if (sample.length < 2) return false;
  const first = splitFields(sample[0], delimiter);
  const rest = sample.slice(1).map((line) => splitFields(line, delimiter));
  for (let column = 0; column < first.length; column++) {
    if (numeric.test(first[column]) || first[column].trim().length === 0) continue;
    if (rest.every((fields) => column < fields.length && numeric.test(fields[column]))) return true;
  }
  return false;
}
