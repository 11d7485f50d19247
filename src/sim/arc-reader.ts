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
