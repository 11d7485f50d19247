/**
 * HttpOrigin: an origin over a JSON HTTP API, one GET per key or, when the API takes many keys in one call,
 * POSTed batches of up to `maxBatch` keys.
 *
 * Why a pool: an origin is called many times a second with small requests, so connection setup would dominate.
 * undici's Pool keeps `connections` keep-alive sockets to the API's host and pipelines requests onto them.
 * Each call carries its own deadline (`timeoutMs`, counted on the injected clock) and aborts the request when
 * it passes. A 404 is an absent key, never an error.
 */
import { Pool } from 'undici';
import { systemClock, type Clock } from '../clock.ts';
import { InvalidOptionError, OriginError, PrescientError } from '../errors.ts';
import { fn, hasMethods, positiveInt } from '../options.ts';
import { isOriginFailure, OriginFailure, type FetchOptions, type Origin, type OriginAnswer, type OriginRecord, type SettledRecordsOrigin } from './origin.ts';

export type HttpOriginOptions = {
  /**
   * Scheme, host, port and an optional path prefix: `http://api.internal:8080/v1`. Credentials (`user:pass@`), a
   * query or a fragment are refused with ERR_INVALID_OPTION (they would not be sent): use `headers` for credentials
   * and a query in `itemPath` / `batchPath`.
   */
  readonly baseUrl: string;
  /** Path of one item under `baseUrl`; `{key}` is replaced by the URL-encoded key. @default '/items/{key}' */
  readonly itemPath?: string;
  /**
   * Path under `baseUrl` that takes many keys in one POST. When set, `getMany` batches up to `maxBatch` keys
   * per call instead of one GET per key. The request body is `batchBody(keys)`; the response is a JSON array
   * of items, or an object whose `items` field is one; each item names its key in `keyField`.
   */
  readonly batchPath?: string;
  /** Builds the batch request body (sent as JSON). @default keys => ({ keys }) */
  readonly batchBody?: (keys: readonly string[]) => unknown;
  /** Most keys in one batch call. @default 100 */
  readonly maxBatch?: number;
  /**
   * Largest response body read, in bytes; a larger one fails its keys with ERR_ORIGIN_FAILED (by its
   * content-length before reading, or once that many bytes have come). A runaway API cannot fill the process's
   * memory. @default 64 MiB
   */
  readonly maxBodyBytes?: number;
  /** Field of a batch item holding its key. @default 'key' */
  readonly keyField?: string;
  /**
   * Field holding the value; omitted: the whole JSON body (or batch item) is the value.
   * @default undefined
   */
  readonly valueField?: string;
  /**
   * Field holding the version (an integer, or a string of digits). When the body lacks it, a numeric ETag
   * (`"17"`, `W/"17"`) is the version; failing both, the version is 0. @default 'version'
   */
  readonly versionField?: string;
  /**
   * Field that marks a deleted item (`true`): the API keeps a tombstone with its version. `getMany` answers such an
   * item as absent; `getRecords` answers the tombstone, so a TieredOrigin does not look a key deleted live up in its
   * archive, and a write-back reader lets another node's newer delete win over a pending write. Without it a 404 (no
   * version) is the only absence. @default undefined
   */
  readonly deletedField?: string;
  /** Deadline of one call in milliseconds; past it the request is aborted with ERR_ORIGIN_TIMEOUT. @default 5000 */
  readonly timeoutMs?: number;
  /** Headers sent with every request (authorisation, tenant). @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** Keep-alive connections to the API host. @default 8 */
  readonly connections?: number;
  /** Time source for the deadline. @default systemClock */
  readonly clock?: Clock;
};

type Fetched = { readonly key: string; readonly record: OriginRecord<unknown> | undefined };

/** An HTTP field name (RFC 9110 token). */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A read-only origin over a JSON HTTP API. Rejects with OriginError: ERR_ORIGIN_TIMEOUT past `timeoutMs`,
 * ERR_ORIGIN_FAILED for a network error, a status other than 2xx/404, or a body that is not JSON; ERR_CLOSED
 * after `close()`. Throws InvalidOptionError at construction for a bad option.
 */
export class HttpOrigin<V = unknown> implements Origin<V>, SettledRecordsOrigin<V> {
  readonly #pool: Pool;
  readonly #prefix: string;
  readonly #itemPath: string;
  readonly #batchPath: string | undefined;
  readonly #batchBody: (keys: readonly string[]) => unknown;
  readonly #maxBatch: number;
  readonly #maxBodyBytes: number;
  readonly #keyField: string;
  readonly #valueField: string | undefined;
  readonly #versionField: string;
  readonly #deletedField: string | undefined;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #clock: Clock;
  #isClosed = false;

  constructor(options: HttpOriginOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new InvalidOptionError('baseUrl', 'an http(s) URL', options.baseUrl);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionError('baseUrl', 'an http(s) URL', options.baseUrl);
    // Requests are made to the URL's origin and path only: credentials or a query here would be dropped silently
    // (and credentials would be sent nowhere), so they are refused, naming the way that works.
    const shown = `${url.protocol}//${url.username === '' && url.password === '' ? '' : '***@'}${url.host}${url.pathname}${url.search === '' ? '' : '?***'}${url.hash === '' ? '' : '#***'}`;
    if (url.username !== '' || url.password !== '') {
      throw new InvalidOptionError('baseUrl', 'a URL without credentials (send them with `headers`, e.g. { authorization })', shown);
    }
    if (url.search !== '' || url.hash !== '') {
      throw new InvalidOptionError('baseUrl', 'a URL without a query or fragment (put a query in `itemPath` / `batchPath`, or send a key with `headers`)', shown);
    }
    this.#prefix = url.pathname.replace(/\/+$/, '');
    this.#itemPath = pathOption('itemPath', options.itemPath ?? '/items/{key}');
    if (!this.#itemPath.includes('{key}')) throw new InvalidOptionError('itemPath', 'a path containing {key}', options.itemPath);
    this.#batchPath = options.batchPath === undefined ? undefined : pathOption('batchPath', options.batchPath);
    this.#batchBody = fn('batchBody', options.batchBody, (keys: readonly string[]) => ({ keys }));
    this.#maxBatch = positiveInt('maxBatch', options.maxBatch, 100);
    this.#maxBodyBytes = positiveInt('maxBodyBytes', options.maxBodyBytes, 64 * 1024 * 1024);
    this.#keyField = fieldOption('keyField', options.keyField, 'key');
    this.#valueField = options.valueField === undefined ? undefined : fieldOption('valueField', options.valueField, '');
    this.#versionField = fieldOption('versionField', options.versionField, 'version');
    this.#deletedField = options.deletedField === undefined ? undefined : fieldOption('deletedField', options.deletedField, '');
    this.#timeoutMs = positiveInt('timeoutMs', options.timeoutMs, 5000);
    if (options.headers !== undefined && (typeof options.headers !== 'object' || options.headers === null || Array.isArray(options.headers)
      || Object.entries(options.headers).some(([name, v]) => !headerName.test(name) || typeof v !== 'string' || /[\r\n\0]/.test(v)))) {
      throw new InvalidOptionError('headers', 'an object of header names (RFC 9110 tokens) to string values without CR, LF or NUL', options.headers);
    }
    this.#headers = { accept: 'application/json', ...options.headers };
    this.#clock = options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']);
    this.#pool = new Pool(url.origin, { connections: positiveInt('connections', options.connections, 8) });
  }

  /** Records aligned with `keys`; 404 and a deleted item answer undefined. Batched by `maxBatch` when `batchPath` is set. */
  async getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    return (await this.#fetch(keys, options, false)).map(live) as Array<OriginRecord<V> | undefined>;
  }

  /** `getMany`, but an item marked deleted (`deletedField`) answers its tombstone `{ key, version, deleted: true }`. */
  async getRecords(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    return (await this.#fetch(keys, options, false)) as Array<OriginRecord<V> | undefined>;
  }

  /** `getManySettled`, answering tombstones as `getRecords` does. */
  getRecordsSettled(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginAnswer<V>>> {
    return this.#fetch(keys, options, true);
  }

  /**
   * As `getMany`, but a key whose request failed (a 500 for that item, a batch call that failed) answers an
   * OriginFailure while the keys that were read answer as usual: one bad item no longer fails every read coalesced
   * with it. Rejects as `getMany` does when no key could be read.
   */
  async getManySettled(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginAnswer<V>>> {
    return (await this.#fetch(keys, options, true)).map(live);
  }

  async #fetch(keys: readonly string[], options: FetchOptions | undefined, isSettled: boolean): Promise<Array<OriginAnswer<V>>> {
    if (this.#isClosed) throw new PrescientError('ERR_CLOSED', 'HttpOrigin is closed');
    if (keys.length === 0) return [];
    const unique = [...new Set(keys)];
    const controller = new AbortController();
    let isTimedOut = false;
    const timer = this.#clock.setTimer(this.#timeoutMs, () => { isTimedOut = true; controller.abort(); });
    const onAbort = (): void => controller.abort();
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    if (options?.signal?.aborted === true) controller.abort();
    const coded = (failed: readonly string[], error: unknown): OriginError => isTimedOut
      ? new OriginError(failed, new PrescientError('ERR_TIMEOUT', `No answer within timeoutMs ${this.#timeoutMs}`, { cause: error }), 'ERR_ORIGIN_TIMEOUT')
      : error instanceof OriginError ? error : new OriginError(failed, error);
    try {
      const groups = this.#batchPath === undefined ? unique.map((key) => [key]) : chunks(unique, this.#maxBatch);
      const call = (group: readonly string[]): Promise<Fetched[]> =>
        this.#batchPath === undefined ? this.#getOne(group[0], controller.signal).then((f) => [f]) : this.#getBatch(group, controller.signal);
      const found = new Map<string, OriginAnswer<V>>();
      if (!isSettled) {
        for (const f of (await Promise.all(groups.map(call))).flat()) found.set(f.key, f.record as OriginRecord<V> | undefined);
      } else {
        const settled = await Promise.allSettled(groups.map(call));
        if (settled.every((s) => s.status === 'rejected')) throw (settled[0] as PromiseRejectedResult).reason;
        settled.forEach((s, i) => {
          if (s.status === 'fulfilled') for (const f of s.value) found.set(f.key, f.record as OriginRecord<V> | undefined);
          else for (const key of groups[i]) found.set(key, new OriginFailure(coded([key], s.reason)));
        });
      }
      return keys.map((key) => found.get(key));
    } catch (error) {
      throw coded(keys, error);
    } finally {
      this.#clock.clearTimer(timer);
      options?.signal?.removeEventListener('abort', onAbort);
      // One failed request fails the batch: abort the others so they do not hold pool connections.
      controller.abort();
    }
  }

  /** Closes the connection pool; later calls reject with ERR_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    await this.#pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #getOne(key: string, signal: AbortSignal): Promise<Fetched> {
    // `.` and `..` survive encodeURIComponent and a server or proxy would resolve them as path steps: encode the dots.
    const segment = key === '.' || key === '..' ? key.replaceAll('.', '%2E') : encodeURIComponent(key);
    const path = this.#prefix + this.#itemPath.replaceAll('{key}', segment);
    const res = await this.#pool.request({ method: 'GET', path, headers: this.#headers, signal });
    if (res.statusCode === 404) {
      await res.body.dump();
      // dump() resolves when the deadline (or the caller) aborted a body that never ended: that is no answer.
      signal.throwIfAborted();
      return { key, record: undefined };
    }
    const body = await this.#json(res, [key]);
    const etag = res.headers.etag;
    return { key, record: this.#record(key, body, typeof etag === 'string' ? etag : undefined) };
  }

  async #getBatch(keys: readonly string[], signal: AbortSignal): Promise<Fetched[]> {
    const res = await this.#pool.request({
      method: 'POST',
      path: this.#prefix + (this.#batchPath as string),
      headers: { ...this.#headers, 'content-type': 'application/json' },
      body: JSON.stringify(this.#batchBody(keys)),
      signal,
    });
    const body = await this.#json(res, keys);
    const items = Array.isArray(body) ? body : (body as { items?: unknown } | null)?.items;
    if (!Array.isArray(items)) throw new OriginError(keys, new Error('Batch response is neither an array nor { items: [] }'));
    const wanted = new Set(keys);
    const fetched: Fetched[] = keys.map((key) => ({ key, record: undefined }));
    const index = new Map(keys.map((key, i) => [key, i]));
    for (const item of items) {
      const key = (item as Record<string, unknown> | null)?.[this.#keyField];
      if (typeof key !== 'string' || !wanted.has(key)) continue;
      const at = index.get(key) as number;
      const record = this.#record(key, item, undefined);
      // A key answered twice keeps its higher version (last writer by version), whatever the order of the items.
      const held = fetched[at].record;
      if (held === undefined || record.version > held.version) fetched[at] = { key, record };
    }
    return fetched;
  }

  async #json(res: Awaited<ReturnType<Pool['request']>>, keys: readonly string[]): Promise<unknown> {
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      throw new OriginError(keys, new Error(`HTTP ${res.statusCode}`));
    }
    const declared = Number(res.headers['content-length']);
    if (declared > this.#maxBodyBytes) {
      res.body.destroy();
      throw new OriginError(keys, new Error(`Response body of ${declared} bytes is over maxBodyBytes (${this.#maxBodyBytes})`));
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res.body) {
      bytes += (chunk as Buffer).length;
      if (bytes > this.#maxBodyBytes) {
        res.body.destroy();
        throw new OriginError(keys, new Error(`Response body is over maxBodyBytes (${this.#maxBodyBytes})`));
      }
      chunks.push(chunk as Buffer);
    }
    try {
      return JSON.parse(Buffer.concat(chunks, bytes).toString('utf8'));
    } catch (error) {
      throw new OriginError(keys, new Error('Response body is not JSON', { cause: error }));
    }
  }

  /**
   * The record of `key` in `body`; version from the version field, else the ETag's digits, else 0. A version field
   * that is not a safe integer >= 0 reads as absent too: failing the key instead would fail every key fetched in the
   * same call (this origin answers a call whole), other clients' reads included.
   */
  #record(key: string, body: unknown, etag: string | undefined): OriginRecord<unknown> {
    const fields = typeof body === 'object' && body !== null ? body as Record<string, unknown> : {};
    const version = toVersion(fields[this.#versionField]) ?? toVersion(etagDigits(etag)) ?? 0;
    if (this.#deletedField !== undefined && fields[this.#deletedField] === true) return { key, value: undefined, version, deleted: true };
    return { key, value: this.#valueField === undefined ? body : fields[this.#valueField], version };
  }
}

/** A tombstone read as absence (what `getMany` answers); anything else as it is. */
function live<V>(answer: OriginAnswer<V>): OriginAnswer<V> {
  return answer !== undefined && !isOriginFailure(answer) && answer.deleted === true ? undefined : answer;
}

function toVersion(raw: unknown): number | undefined {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function etagDigits(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : /^(?:W\/)?"?(\d+)"?$/.exec(etag)?.[1];
}

function pathOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/')) throw new InvalidOptionError(name, 'a path starting with /', value);
  return value;
}

function fieldOption(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(name, 'a non-empty field name', value);
  return value;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
