/**
 * Option checks shared by every component's constructor: each returns the value (or its default) or throws an
 * InvalidOptionError that names the option and the value, e.g. ``Expected `maxBytes` to be a positive integer,
 * got -1``. Components resolve their options once, through these, into a frozen shape.
 */
import { InvalidOptionError } from './errors.ts';

/**
 * A positive safe integer, at most `max`, or `fallback` when undefined. Sizes that are allocated up front (buffers,
 * rings, tables) pass a `max`: a typo of 1e9 must be an option error, not an out-of-memory abort.
 */
export function positiveInt(name: string, value: unknown, fallback?: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > max) {
    throw new InvalidOptionError(name, max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `a positive integer up to ${max}`, value);
  }
  return value;
}

/**
 * Runs `make` (a collaborator's constructor fed with the options under `prefix`) so that an option error names the
 * option by its whole path: `prefetch.maxBurst`, not `maxBurst`.
 */
export function nestedOptions<T>(prefix: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof InvalidOptionError && !error.option.startsWith(`${prefix}.`)) throw error.under(prefix);
    throw error;
  }
}

/** A non-negative safe integer, or `fallback` when undefined. */
export function nonNegativeInt(name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(name, 'a non-negative integer', value);
  }
  return value;
}

/** A finite number >= 0 (Infinity allowed when `allowInfinity`), or `fallback` when undefined. */
export function nonNegativeNumber(name: string, value: unknown, fallback?: number, allowInfinity = false): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const ok = typeof value === 'number' && value >= 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity));
  if (!ok) throw new InvalidOptionError(name, allowInfinity ? 'a non-negative number or Infinity' : 'a non-negative finite number', value);
  return value as number;
}

/**
 * A version: a non-negative safe integer (or Infinity when `allowInfinity`, "every version"), or `fallback` when
 * undefined. Why not nonNegativeNumber: past 2^53 `v + 1 === v`, so a version there (1e300) cannot be followed by a
 * strictly greater one, and last-writer-wins would keep either of two writes; a fraction fits no bigint column.
 */
export function versionOption(name: string, value: unknown, fallback?: number, allowInfinity = false): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const ok = typeof value === 'number' && value >= 0 && (Number.isSafeInteger(value) || (allowInfinity && value === Infinity));
  if (!ok) throw new InvalidOptionError(name, allowInfinity ? 'a non-negative safe integer or Infinity' : 'a non-negative safe integer', value);
  return value as number;
}

/** A number in [min, max], or `fallback` when undefined. */
export function numberInRange(name: string, value: unknown, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `a number from ${min} to ${max}`, value);
  }
  return value;
}

/**
 * A URL string with one of `schemes` (e.g. `['postgres:', 'postgresql:']`), then `open(url)` (the driver's own
 * parse, which knows forms the WHATWG parser refuses, such as a Unix socket in `?host=`): a scheme or a URL the driver
 * refuses is an option error naming `name`, never the driver's TypeError. The message never echoes the URL (it may
 * hold a password).
 */
export function urlOption<T>(name: string, value: unknown, schemes: readonly string[], open: (url: string) => T): T {
  const expected = `a ${schemes.map((s) => `${s}//`).join(' or ')} URL`;
  if (typeof value !== 'string' || !schemes.some((scheme) => value.startsWith(`${scheme}//`))) {
    throw new InvalidOptionError(name, expected, typeof value === 'string' ? '(a URL of another scheme, or none)' : value);
  }
  try {
    return open(value);
  } catch {
    throw new InvalidOptionError(name, expected, '(a URL the driver refuses)');
  }
}

/** Checks an options argument (named `name`): an object (null, an array or a number is an option error, not a TypeError). */
export function optionsObject(value: unknown, name = 'options'): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidOptionError(name, 'an object', value);
}

/** A non-empty string (a name shown in stats and predictions), or `fallback` when undefined. */
export function nameOption(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(name, 'a non-empty string', value);
  return value;
}

/** A boolean, or `fallback` when undefined. */
export function bool(name: string, value: unknown, fallback?: boolean): boolean {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, 'a boolean', value);
  return value;
}

/** One of the listed strings, or `fallback` when undefined. */
export function oneOf<T extends string>(name: string, value: unknown, choices: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new InvalidOptionError(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}

/** A function, or `fallback` when undefined. */
export function fn<T extends (...args: never[]) => unknown>(name: string, value: unknown, fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'function') throw new InvalidOptionError(name, 'a function', value);
  return value as T;
}

/** An object with the listed methods (duck-typed collaborator such as a clock or an origin). */
export function hasMethods<T>(name: string, value: unknown, methods: readonly string[]): T {
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError(name, `an object with ${methods.join(', ')}`, value);
  for (const m of methods) {
    if (typeof (value as Record<string, unknown>)[m] !== 'function') {
      throw new InvalidOptionError(name, `an object with a \`${m}\` method`, value);
    }
  }
  return value as T;
}
