/**
 * Item routes: read one key, read many, write, delete.
 *
 * - `GET /v1/items/:key?session=&user=&segment=` → `{ key, value, version, served, from }` (404 ERR_NOT_FOUND
 *   when the origin has no such key). `served` is `hit | miss | stale | prefetched`; the read feeds the models.
 * - `POST /v1/items:batchGet` `{ keys, session?, user?, segment? }` → `{ items: [{ key, found, value?, version,
 *   served }] }`, aligned with `keys`.
 * - `PUT /v1/items/:key` `{ value }` → `{ key, version }` once the journal holds the write.
 * - `DELETE /v1/items/:key` → `{ key, version, deleted: true }` once the journal holds the tombstone.
 */
import type { FastifyInstance } from 'fastify';
import type { ReadResult } from '../cache/cache.ts';
import { PrescientError } from '../errors.ts';
import { Authenticator } from './auth.ts';
import { checkJsonbValue } from '../origin/sql-table.ts';
import { checkValueDepth, parseRequest, type RequestSchemas } from './schemas.ts';
import type { Service } from './service.ts';

/** What the item, session and admin routes are built from. */
export type RouteDeps = {
  readonly service: Service;
  readonly schemas: RequestSchemas;
  /** Time a request may take, in ms (Fastify's per-route `handlerTimeout`: 504 ERR_TIMEOUT past it). */
  readonly handlerTimeout: number;
};

export function registerItemRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { service, schemas, handlerTimeout } = deps;
  const read = { config: { scope: 'read' as const }, handlerTimeout };
  const write = { config: { scope: 'write' as const }, handlerTimeout };

  // The hot route. A hit is answered synchronously (no promise, no timer); only a read that goes to the shared tier
  // or the origin is raced against the request timeout. Fastify's own `handlerTimeout` would arm a timer, an
  // AbortController and a close listener on every request, hits included. The 200 answer has a response schema, so
  // Fastify serialises it with a compiled serializer instead of walking it with JSON.stringify.
  const itemRoute = '/v1/items/:key';
  app.get(itemRoute, { config: { scope: 'read' }, schema: { response: { 200: itemResponseSchema } } }, (request) => {
    const q = schemas.readItem(request.params, request.query);
    const ctx = service.context(q.session, Authenticator.actFor(request.principal, q.user), q.segment);
    const hit = service.readIfPresent(q.key, ctx);
    if (hit !== undefined) return itemAnswer(hit);
    return withTimeout(service.load(q.key, ctx), handlerTimeout, itemRoute).then(itemAnswer);
  });

  app.post('/v1/items::batchGet', read, async (request) => {
    parseRequest(schemas.emptyQuery, request.query, 'query'); // the context goes in the body: a query one would be ignored
    const body = parseRequest(schemas.batchGetBody, request.body, 'body');
    const ctx = service.context(body.session, Authenticator.actFor(request.principal, body.user), body.segment);
    const results = await service.readMany(body.keys, ctx);
    return { items: results.map(itemOf) };
  });

  app.put('/v1/items/:key', write, async (request) => {
    const { key } = parseRequest(schemas.keyParams, request.params, 'params');
    parseRequest(schemas.emptyQuery, request.query, 'query');
    const body = parseRequest(schemas.putBody, request.body, 'body');
    checkValueDepth(body.value);
    // What PostgreSQL jsonb cannot store (\u0000, lone surrogates) is refused here rather than by the flusher later.
    checkJsonbValue(key, body.value);
    const ack = await service.put(key, body.value);
    return { key: ack.key, version: ack.version };
  });

  app.delete('/v1/items/:key', write, async (request) => {
    const { key } = parseRequest(schemas.keyParams, request.params, 'params');
    parseRequest(schemas.emptyQuery, request.query, 'query');
    const ack = await service.delete(key);
    return { key: ack.key, version: ack.version, deleted: true };
  });
}

/** The answer of `GET /v1/items/:key`. @throws PrescientError ERR_NOT_FOUND when the origin has no such key. */
function itemAnswer(r: ReadResult<unknown>): { key: string; value: unknown; version: number; served: string; from: string } {
  if (!r.isFound) throw new PrescientError('ERR_NOT_FOUND', `No item ${JSON.stringify(r.key)}`);
  return { key: r.key, value: r.value, version: r.version, served: r.status, from: r.servedFrom };
}

/** Response schema of `GET /v1/items/:key` (any JSON value; the rest fixed). */
const itemResponseSchema = {
  type: 'object',
  properties: { key: { type: 'string' }, value: {}, version: { type: 'number' }, served: { type: 'string' }, from: { type: 'string' } },
  required: ['key', 'value', 'version', 'served', 'from'],
} as const;

/**
 * `promise`, or ERR_TIMEOUT (504) once `ms` pass first: the request timeout of a read that left the memory tier,
 * with the message Fastify's handler timeout gives.
 */
function withTimeout<T>(promise: Promise<T>, ms: number, route: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new PrescientError('ERR_TIMEOUT', `Request timed out after ${ms} ms on route '${route}'`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function itemOf(r: ReadResult<unknown>): Record<string, unknown> {
  return r.isFound
    ? { key: r.key, found: true, value: r.value, version: r.version, served: r.status }
    : { key: r.key, found: false, version: 0, served: r.status };
}
