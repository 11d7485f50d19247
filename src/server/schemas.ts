/**
 * Request schemas: every route parses its params, query and body here before anything reaches the engine, so
 * keys, identifiers, numbers and values have one definition of "valid" and one kind of error (ERR_BAD_REQUEST or
 * ERR_INVALID_KEY, 400, naming the field). Objects are strict: an unknown field is an error, not ignored.
 */
import { z } from 'zod';
import type { ErrorCode } from '../errors.ts';
import { PrescientError } from '../errors.ts';
import { idPattern } from './config.ts';

/**
 * Characters a key may hold: letters, digits and `._:/@+=,;!*~$()-`. Enough for `user:42/orders`, `blk-9`,
 * `a.b@c`; no spaces, quotes, backslashes, control or non-ASCII characters, so a key is safe in a URL path, a
 * log line, a Redis key and a Prometheus label alike.
 */
export const keyPattern = /^[A-Za-z0-9._:/@+=,;!*~$()-]+$/;

/**
 * Keys starting with this prefix name actions in the behaviour profiles (`action:checkout`), not items: the
 * item routes refuse them so an item can never collide with an action.
 */
export const actionPrefix = 'action:';

/**
 * Deepest nesting accepted in a stored value. JSON.stringify recurses, so a value nested thousands deep could
 * overflow the stack when answered or journaled; 64 levels is far beyond any document shape seen in practice.
 */
export const maxValueDepth = 64;

/** The schemas of every route, built for the key-length limit of a server. */
export type RequestSchemas = ReturnType<typeof requestSchemas>;

const id = z.string().regex(idPattern, 'expected 1 to 128 letters, digits or ._:@-');
/** A count in a query string: digits only (no signs, exponents, fractions or spaces), 1 to 100. */
const limitParam = z
  .string()
  .regex(/^\d{1,3}$/, 'expected an integer from 1 to 100')
  .transform(Number)
  .pipe(z.int().min(1).max(100));
const action = z.string().regex(/^[A-Za-z0-9._:/@+=,;!*~$()-]{1,128}$/, 'expected 1 to 128 characters among letters, digits and ._:/@+=,;!*~$()-');

/** Builds the schemas for keys of at most `maxKeyLength` characters and batches of at most `maxBatchKeys` keys. */
export function requestSchemas(maxKeyLength: number, maxBatchKeys: number) {
  const key = z
    .string()
    .min(1, 'expected a non-empty key')
    .max(maxKeyLength, `expected at most ${maxKeyLength} characters`)
    .regex(keyPattern, 'expected letters, digits and ._:/@+=,;!*~$()- only')
    .refine((k) => !k.startsWith(actionPrefix), `keys starting with "${actionPrefix}" are reserved for actions`);
  const keys = z.array(key).min(1).max(maxBatchKeys);
  const readContext = { session: id.optional(), user: id.optional(), segment: id.optional() };
  const keyParams = z.strictObject({ key });
  const readQuery = z.strictObject(readContext);
  return {
    key,
    keyParams,
    idParams: z.strictObject({ id }),
    readQuery,
    readItem: readItemParser(maxKeyLength, keyParams, readQuery),
    batchGetBody: z.strictObject({ keys, ...readContext }),
    putBody: z.strictObject({ value: z.unknown() }).refine((b) => b.value !== undefined, { message: 'expected a `value` field', path: ['value'] }),
    actionBody: z.strictObject({ action, key: key.optional(), user: id.optional(), segment: id.optional() }),
    prefetchBody: z
      .strictObject({ action: action.optional(), keys: keys.optional(), user: id.optional(), segment: id.optional() })
      .refine((b) => b.action !== undefined || b.keys !== undefined, 'expected `action`, `keys` or both'),
    limitQuery: z.strictObject({ limit: limitParam.optional() }),
    emptyQuery: z.strictObject({}),
  };
}

/** What `GET /v1/items/:key` reads: the key and the read context named in the query. */
export type ReadItemRequest = { readonly key: string; readonly session?: string; readonly user?: string; readonly segment?: string };

/** Query fields `GET /v1/items/:key` accepts. */
const readQueryFields: ReadonlySet<string> = new Set(['session', 'user', 'segment']);

/**
 * The parser of the hottest route, `GET /v1/items/:key`: the same rules as `keyParams` and `readQuery`, checked by
 * hand. Why: zod costs about a microsecond and a few objects per parse, a visible share of a cache hit served over
 * HTTP (bench/server-throughput.ts). Valid input never reaches zod; invalid input is handed to `parseRequest` with
 * the zod schemas, so the error codes and messages are exactly theirs.
 */
function readItemParser(maxKeyLength: number, keyParams: z.ZodType, readQuery: z.ZodType): (params: unknown, query: unknown) => ReadItemRequest {
  const isKey = (k: unknown): k is string => typeof k === 'string' && k.length > 0 && k.length <= maxKeyLength && keyPattern.test(k) && !k.startsWith(actionPrefix);
  const isId = (v: unknown): v is string => typeof v === 'string' && idPattern.test(v);
  return (params, query) => {
    const key = (params as { key?: unknown } | undefined)?.key;
    if (!isKey(key) || Object.keys(params as object).length !== 1) parseRequest(keyParams, params, 'params');
    const q = (query ?? {}) as Record<string, unknown>;
    for (const field in q) {
      if (!readQueryFields.has(field) || !isId(q[field])) {
        parseRequest(readQuery, query, 'query');
        break;
      }
    }
    return { key: key as string, session: q.session as string | undefined, user: q.user as string | undefined, segment: q.segment as string | undefined };
  };
}

/**
 * Parses `input` with `schema`; throws a coded 400 naming the first bad field of `part` ("body.keys.3: ...").
 * Key errors carry ERR_INVALID_KEY, the rest ERR_BAD_REQUEST.
 */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown, part: 'params' | 'query' | 'body'): z.output<S> {
  const result = schema.safeParse(input ?? (part === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [part, ...issue.path.map(String)].join('.');
  const last = issue.path[issue.path.length - 1];
  const isKey = last === 'key' || (issue.path[0] === 'keys' && typeof last === 'number');
  const code: ErrorCode = isKey ? 'ERR_INVALID_KEY' : 'ERR_BAD_REQUEST';
  const message = issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` : issue.message;
  throw new PrescientError(code, `${path}: ${message}`);
}

/**
 * Throws ERR_INVALID_VALUE when `value` nests deeper than `maxValueDepth`. Iterative and bounded by the size of
 * the value, which the body limit already bounds.
 */
export function checkValueDepth(value: unknown): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth > maxValueDepth) throw new PrescientError('ERR_INVALID_VALUE', `body.value: nested deeper than ${maxValueDepth} levels`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
}
