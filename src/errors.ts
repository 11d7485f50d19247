/**
 * Every coded error Prescient throws. Callers branch on `code`, never on message text; the HTTP layer maps codes
 * to statuses in one table. Programmer mistakes (bad options) throw at construction; operational faults (an origin
 * that fails, a malformed trace line) throw the operational codes below with the underlying error as `cause`.
 */

/** The stable error codes. Adding one is fine; renaming one is a breaking change. */
export type ErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_KEY'
  | 'ERR_INVALID_VALUE'
  | 'ERR_VALUE_TOO_LARGE'
  | 'ERR_INVALID_CONTEXT'
  | 'ERR_ORIGIN_FAILED'
  | 'ERR_ORIGIN_TIMEOUT'
  | 'ERR_ORIGIN_READ_ONLY'
  | 'ERR_TIER_FAILED'
  | 'ERR_CLOSED'
  | 'ERR_TRACE_PARSE'
  | 'ERR_TRACE_EMPTY'
  | 'ERR_TRACE_NOT_FOUND'
  | 'ERR_TRACE_READ'
  | 'ERR_WRITE_FAILED'
  | 'ERR_JOURNAL_FAILED'
  | 'ERR_JOURNAL_CORRUPT'
  | 'ERR_CLOCK_DRIFT'
  | 'ERR_CHANGE_FEED_FAILED'
  | 'ERR_INVALID_NOTICE'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_BAD_REQUEST'
  | 'ERR_NOT_FOUND'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_FORBIDDEN'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_RATE_LIMITED'
  | 'ERR_OVERLOADED'
  | 'ERR_TIMEOUT'
  | 'ERR_NOT_READY'
  | 'ERR_USAGE'
  | 'ERR_LISTEN_FAILED'
  | 'ERR_DEMO_FAILED'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_INTERNAL';

/** Base class of every error Prescient throws on purpose. */
export class PrescientError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PrescientError';
    this.code = code;
  }
}

/** An option passed to a constructor is missing, of the wrong type or out of range, or contradicts another. */
export class InvalidOptionError extends PrescientError {
  readonly option: string;
  readonly expected: string;
  readonly value: unknown;
  constructor(option: string, expected: string, value: unknown) {
    super('ERR_INVALID_OPTION', `Expected \`${option}\` to be ${expected}, got ${describe(value)}`);
    this.name = 'InvalidOptionError';
    this.option = option;
    this.expected = expected;
    this.value = value;
  }

  /** The same error for the option nested under `prefix` (`prefix.option`). */
  under(prefix: string): InvalidOptionError {
    return new InvalidOptionError(`${prefix}.${this.option}`, this.expected, this.value);
  }
}

/** A cache key is not a non-empty string within the allowed length and characters. */
export class InvalidKeyError extends PrescientError {
  readonly key: unknown;
  constructor(key: unknown, reason: string) {
    super('ERR_INVALID_KEY', `Invalid key ${describe(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
    this.key = key;
  }
}

/** A value is larger than the cache accepts (`maxEntryBytes`). */
export class ValueTooLargeError extends PrescientError {
  readonly key: string;
  readonly sizeBytes: number;
  readonly maxBytes: number;
  constructor(key: string, sizeBytes: number, maxBytes: number) {
    super('ERR_VALUE_TOO_LARGE', `Value for key ${describe(key)} is ${sizeBytes} bytes, over the limit of ${maxBytes}`);
    this.name = 'ValueTooLargeError';
    this.key = key;
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

/** Keys for a message: the first three, quoted, and how many more (`"a", "b", "c" and 2 more`). */
export function describeKeys(keys: readonly string[]): string {
  const more = keys.length > 3 ? ` and ${keys.length - 3} more` : '';
  return `${keys.slice(0, 3).map((k) => JSON.stringify(k)).join(', ')}${more}`;
}

/** The origin failed to answer for some keys, and no stale copy could be served in its place. */
export class OriginError extends PrescientError {
  readonly keys: readonly string[];
  constructor(keys: readonly string[], cause: unknown, code: 'ERR_ORIGIN_FAILED' | 'ERR_ORIGIN_TIMEOUT' = 'ERR_ORIGIN_FAILED') {
    super(code, `Origin failed for ${describeKeys(keys)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'OriginError';
    this.keys = keys;
  }
}

/** A trace line could not be parsed. `line` is 1-based. */
export class TraceParseError extends PrescientError {
  readonly line: number;
  readonly file: string;
  constructor(file: string, line: number, reason: string) {
    super('ERR_TRACE_PARSE', `${file}:${line}: ${reason}`);
    this.name = 'TraceParseError';
    this.line = line;
    this.file = file;
  }
}

/** Short, bounded rendering of a value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 61)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return `an object`;
}

/** True when `error` is a PrescientError with the given code. */
export function isPrescientError(error: unknown, code?: ErrorCode): error is PrescientError {
  return error instanceof PrescientError && (code === undefined || error.code === code);
}
