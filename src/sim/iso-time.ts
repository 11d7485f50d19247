/**
 * parseIsoTimeMs: strict ISO 8601 date-times for trace time columns and `--train-until`.
 *
 * Why: `Date.parse` accepts far more than ISO 8601 (`abc-1` and `1-2` became dates in 2001), and reads a date-time
 * without an offset in the machine's time zone, so the same trace replayed differently under another `TZ`. Only
 * the ISO shape is accepted here, and a time without an offset is UTC, wherever it runs.
 */

/**
 * `YYYY-MM-DD`, optionally followed by `T` (or a space) and `hh:mm`, optional `:ss`, an optional fraction of a
 * second (`.` or `,`), and an optional `Z` or `±hh:mm` / `±hhmm` offset.
 */
const isoPattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Milliseconds since the epoch of a strict ISO 8601 date or date-time (see {@link isoPattern}); a time without an
 * offset is UTC. Undefined for anything else, a field out of range (month 13, 31 April, 24:00) included.
 */
export function parseIsoTimeMs(token: string): number | undefined {
  const m = isoPattern.exec(token.trim());
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCDate() !== day) return undefined;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const hh = Number(zone.slice(1, 3));
    const mm = Number(zone.slice(-2));
    if (hh > 23 || mm > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hh * 60 + mm);
  }
  // Milliseconds from the first three digits, the rest as a fraction of one: `.266` is 266 exactly, not 266.00000000000003.
  const fractionMs = m[7] === undefined ? 0 : Number(`${m[7].slice(0, 3).padEnd(3, '0')}.${m[7].slice(3) || '0'}`);
  return date.getTime() + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + fractionMs;
}
