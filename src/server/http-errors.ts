/**
 * The one table that maps error codes to HTTP statuses, and the translation of every error a request can meet —
 * Prescient's coded errors, Fastify's own (bad JSON, body too large, unsupported media type, handler timeout) and
 * anything unexpected — into the body every error response carries: `{ "error": { "code", "message" } }`.
 */
import type { ErrorCode } from '../errors.ts';
import { describeKeys, OriginError, PrescientError } from '../errors.ts';

/** The JSON body of every error response. */
export type ErrorBody = { readonly error: { readonly code: ErrorCode; readonly message: string } };

/** An error as the server answers it. */
export type HttpError = { readonly status: number; readonly body: ErrorBody };

/**
 * Status of each code. A code missing here answers 500: a code reaching a client unmapped is a bug, never a
 * reason to guess. 502/504 blame the store behind the service; 503 says "try again later".
 */
export const statusByCode: Readonly<Partial<Record<ErrorCode, number>>> = Object.freeze({
  ERR_BAD_REQUEST: 400,
  ERR_INVALID_KEY: 400,
  ERR_INVALID_VALUE: 400,
  ERR_INVALID_CONTEXT: 400,
  ERR_UNAUTHORIZED: 401,
  ERR_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_ORIGIN_READ_ONLY: 405,
  ERR_VALUE_TOO_LARGE: 413,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_RATE_LIMITED: 429,
  ERR_INTERNAL: 500,
  ERR_JOURNAL_CORRUPT: 500,
  ERR_ORIGIN_FAILED: 502,
  ERR_OVERLOADED: 503,
  ERR_NOT_READY: 503,
  ERR_CLOSED: 503,
  ERR_TIER_FAILED: 503,
  ERR_WRITE_FAILED: 503,
  ERR_JOURNAL_FAILED: 503,
  ERR_CHANGE_FEED_FAILED: 503,
  // Another node's write notice that could not be read (never a client's input): reported, never thrown to a client.
  ERR_INVALID_NOTICE: 500,
  // The local clock is behind versions already written: a server fault (fix its clock), not the client's conflict.
  ERR_CLOCK_DRIFT: 503,
  ERR_TIMEOUT: 504,
  ERR_ORIGIN_TIMEOUT: 504,
});

/** Fastify's error codes, translated to ours. Anything else Fastify raises with a 4xx status is ERR_BAD_REQUEST. */
const fastifyCodes: Readonly<Record<string, ErrorCode>> = Object.freeze({
  FST_ERR_CTP_BODY_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'ERR_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'ERR_BAD_REQUEST',
  FST_ERR_BAD_URL: 'ERR_BAD_REQUEST',
  FST_ERR_HANDLER_TIMEOUT: 'ERR_TIMEOUT',
  FST_ERR_NOT_FOUND: 'ERR_NOT_FOUND',
});

/** Longest message sent to a client (an origin's error text could be long or hold whole values). */
const maxMessageLength = 500;

/** Status for `code` (500 for a code not in the table). */
export function statusOf(code: ErrorCode): number {
  return statusByCode[code] ?? 500;
}

/** Builds the error body for `code`. */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message: message.length > maxMessageLength ? `${message.slice(0, maxMessageLength - 3)}...` : message } };
}

/**
 * Translates any thrown value into the status and body to answer. Unexpected errors (no code we know, status
 * 5xx) become ERR_INTERNAL with a generic message, origin failures a generic message naming their keys, and the
 * stores' failures a generic message: their text stays in the log, never in the response.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof PrescientError) return { status: statusOf(error.code), body: errorBody(error.code, clientMessage(error)) };
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; statusCode?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : 'Bad request';
  const mapped = typeof e.code === 'string' ? fastifyCodes[e.code] : undefined;
  if (mapped !== undefined) return { status: statusOf(mapped), body: errorBody(mapped, message) };
  if (error instanceof SyntaxError || (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)) {
    const status = typeof e.statusCode === 'number' && e.statusCode === 413 ? 413 : 400;
    const code: ErrorCode = status === 413 ? 'ERR_PAYLOAD_TOO_LARGE' : 'ERR_BAD_REQUEST';
    return { status, body: errorBody(code, message) };
  }
  return { status: 500, body: errorBody('ERR_INTERNAL', 'Internal error') };
}

/**
 * The message a client sees for `error`. An origin's failure carries the store's own text (a driver message, a host
 * name, a SQL fragment, a credential in a connection string): clients get a generic message naming only the keys,
 * and the full error stays in the log (the app's error handler logs every 5xx at error level with its code and cause).
 */
function clientMessage(error: PrescientError): string {
  const store = storeFailures[error.code];
  if (store !== undefined) return store;
  if (error.code !== 'ERR_ORIGIN_FAILED' && error.code !== 'ERR_ORIGIN_TIMEOUT') return error.message;
  const what = error.code === 'ERR_ORIGIN_TIMEOUT' ? 'The origin did not answer in time' : 'The origin failed';
  return error instanceof OriginError && error.keys.length > 0 ? `${what} for ${describeKeys(error.keys)}` : what;
}

/** Failures of the stores behind the service: their text (a Redis host, a file path, a driver message) stays in the log. */
const storeFailures: Readonly<Partial<Record<ErrorCode, string>>> = Object.freeze({
  ERR_TIER_FAILED: 'The shared cache tier failed',
  ERR_WRITE_FAILED: 'The write could not be stored',
  ERR_JOURNAL_FAILED: 'The write journal failed',
  ERR_JOURNAL_CORRUPT: 'The write journal is damaged',
  ERR_CHANGE_FEED_FAILED: 'The change feed failed',
});

/** A PrescientError with `code`, for handlers to throw. */
export function httpError(code: ErrorCode, message: string): PrescientError {
  return new PrescientError(code, message);
}
