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

  app.get('/v1/items/:key', read, async (request) => {
    const { key } = parseRequest(schemas.keyParams, request.params, 'params');
    const q = parseRequest(schemas.readQuery, request.query, 'query');
    const ctx = service.context(q.session, Authenticator.actFor(request.principal, q.user), q.segment);
    const r = await service.read(key, ctx);
    if (!r.isFound) throw new PrescientError('ERR_NOT_FOUND', `No item ${JSON.stringify(key)}`);
    return { key, value: r.value, version: r.version, served: r.status, from: r.servedFrom };
  });

  app.post('/v1/items::batchGet', read, async (request) => {
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

function itemOf(r: ReadResult<unknown>): Record<string, unknown> {
  return r.isFound
    ? { key: r.key, found: true, value: r.value, version: r.version, served: r.status }
    : { key: r.key, found: false, version: 0, served: r.status };
}
