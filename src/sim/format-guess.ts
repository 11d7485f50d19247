/**
 * Guesses a trace's format from its name and first lines, and explains the guess.
 *
 * Why: traces come as ARC `.lis` block ranges, delimited click logs with or without a header, one-key-per-line
 * cache traces and one-session-per-line sequence files. Asking the user for the format every time is friction;
 * guessing silently is worse, so every guess carries a sentence saying what was seen. The rules, in order:
 * a `.lis`/`.lis.gz` name or lines of four space-separated integers -> arc; a tab, comma or semicolon splitting lines into the same
 * number (>= 2) of fields -> delimited; one token per line -> keys; whitespace-separated tokens, the same count
 * (>= 2) on every line -> delimited on whitespace; varying counts -> sessions. The first two rules need only 80%
 * of the sampled lines to agree, so a malformed line near the top does not derail the guess.
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

/** Share of sampled lines that must agree on a shape (4 integers, a field count): a malformed line or two is tolerated. */
const consistentShare = 0.8;

/** ARC `.lis` lines separate their four integers by spaces: a tab-separated file of four numbers is a table. */
const arcLine = /^ *\d+ +\d+ +\d+ +\d+ *$/;
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

/** What a guess reason says of a first line that looks like a header. */
export const headerClause = '; the first line looks like a header (names above numbers)';

/**
 * Guesses the format of a trace from its file name and its first non-blank lines (at most `guessSampleLines`
 * are looked at). `lines` must not be empty.
 */
export function guessFormat(fileName: string, lines: readonly string[]): FormatGuess {
  const sample = lines.slice(0, guessSampleLines);
  if (/\.lis(\.gz)?$/i.test(fileName)) {
    return { format: 'arc', delimiter: null, header: false, reason: 'the file name ends in .lis' };
  }
  if (sample.filter((line) => arcLine.test(line)).length >= consistentShare * sample.length) {
    return { format: 'arc', delimiter: null, header: false, reason: `the first ${sample.length} lines hold 4 integers (start count - -)` };
  }
  const delimiter = consistentDelimiter(sample);
  if (delimiter !== undefined) {
    const fields = modeCount(sample.map((line) => splitFields(line, delimiter).length)).value;
    const header = looksLikeHeader(sample, delimiter);
    return {
      format: 'delimited',
      delimiter,
      header,
      reason: `the first ${sample.length} lines split on ${delimiterName(delimiter)} into ${fields} fields` +
        (header ? headerClause : ''),
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
        (header ? headerClause : ''),
    };
  }
  return {
    format: 'sessions',
    delimiter: null,
    header: false,
    reason: `the first ${sample.length} lines hold varying numbers (${Math.min(...counts)} to ${Math.max(...counts)}) of whitespace-separated tokens: one session per line`,
  };
}

/**
 * The first of tab, comma, semicolon that splits most sampled lines (`consistentShare` of them) into the same
 * number (>= 2) of fields.
 */
export function consistentDelimiter(sample: readonly string[]): string | undefined {
  for (const [delimiter] of candidateDelimiters) {
    const mode = modeCount(sample.map((line) => line.split(delimiter).length));
    if (mode.value >= 2 && mode.count >= consistentShare * sample.length) return delimiter;
  }
  return undefined;
}

/** The most frequent value and how often it occurs (ties: the first seen). */
function modeCount(values: readonly number[]): { value: number; count: number } {
  const counts = new Map<number, number>();
  let best = { value: 0, count: 0 };
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > best.count) best = { value: v, count: c };
  }
  return best;
}

/**
 * True when some column holds a non-numeric token on the first line and numbers on every later sampled line that
 * has that column (`SessionId` above `3`). Needs at least two lines.
 */
export function looksLikeHeader(sample: readonly string[], delimiter: Delimiter): boolean {
  if (sample.length < 2) return false;
  const first = splitFields(sample[0], delimiter);
  const rest = sample.slice(1).map((line) => splitFields(line, delimiter));
  for (let column = 0; column < first.length; column++) {
    if (numeric.test(first[column]) || first[column].trim().length === 0) continue;
    const below = rest.filter((fields) => column < fields.length).map((fields) => fields[column]);
    if (below.length > 0 && below.every((token) => numeric.test(token))) return true;
  }
  return false;
}
