/**
 * ARC `.lis` traces: each line `start count ignore request-number` is a read of `count` consecutive 512-byte
 * blocks from `start`, expanded to one request per block, keys `String(start)` ... `String(start + count - 1)`.
 *
 * Why: this is how Megiddo & Modha simulate at page level ("ARC: A Self-Tuning, Low Overhead Replacement Cache",
 * FAST '03, Table III), so hit ratios computed from the expansion are comparable with the paper's.
 */

/** Largest block count accepted on one line: a larger one is taken for corruption rather than expanded. */
export const maxArcBlockCount = 1e7;

/** A parsed ARC line. */
export type ArcRange = { readonly start: number; readonly count: number };

const digits = /^\d+$/;

/** Parses one non-blank `.lis` line, or returns the reason it is malformed. */
export function parseArcLine(text: string): ArcRange | string {
  return scanArcLine(text) ?? explainArcLine(text);
}

/**
 * The fast path: two runs of ASCII digits at the start of the line, separated by spaces or tabs, read without
 * allocating; undefined for anything unusual (the slow path then decides, and explains).
 */
function scanArcLine(text: string): ArcRange | undefined {
  const length = text.length;
  let i = 0;
  while (i < length && isBlank(text.charCodeAt(i))) i++;
  let start = 0;
  const startAt = i;
  for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) start = start * 10 + (c - 48);
  if (i === startAt || i - startAt > 15 || i >= length || !isBlank(text.charCodeAt(i))) return undefined;
  while (i < length && isBlank(text.charCodeAt(i))) i++;
  let count = 0;
  const countAt = i;
  for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) count = count * 10 + (c - 48);
  if (i === countAt || i - countAt > 8 || (i < length && !isBlank(text.charCodeAt(i)))) return undefined;
  if (count < 1 || count > maxArcBlockCount) return undefined;
  return { start, count };
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9;
}

function explainArcLine(text: string): ArcRange | string {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 2) return `expected "start count ...", found ${fields.length} field`;
  const [startText, countText] = fields;
  if (!digits.test(startText)) return `start block ${JSON.stringify(startText)} is not a non-negative integer`;
  if (!digits.test(countText)) return `block count ${JSON.stringify(countText)} is not a non-negative integer`;
  const start = Number(startText);
  const count = Number(countText);
  if (count < 1) return 'block count is 0';
  if (count > maxArcBlockCount) return `block count ${count} is over the limit of ${maxArcBlockCount}`;
  if (!Number.isSafeInteger(start + count)) return `block range ${startText}+${countText} is beyond 2^53`;
  return { start, count };
}
