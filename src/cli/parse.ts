/**
 * Flag value parsers for commander: each throws a coded usage error naming the bad value.
 */
import { InvalidArgumentError } from 'commander';

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

export function parseNonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

export function parseFraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a number between 0 and 1, got ${JSON.stringify(value)}`);
  return n;
}

/** A comma-separated list of positive integers ("1,5,20"), each kept once. */
export function parseIntList(value: string): number[] {
  return [...new Set(value.split(',').map((part) => parsePositiveInt(part.trim())))];
}

/** A parser of positive integers up to `max`. */
export function positiveIntUpTo(max: number): (value: string) => number {
  return (value) => {
    const n = parsePositiveInt(value);
    if (n > max) throw new InvalidArgumentError(`expected at most ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** A comma-separated list of non-empty strings. */
export function parseList(value: string): string[] {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new InvalidArgumentError(`expected a comma-separated list, got ${JSON.stringify(value)}`);
  return parts;
}
