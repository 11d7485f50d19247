/**
 * Session routes: the behaviour profile of a session and what the models expect of it.
 *
 * - `POST /v1/sessions/:id/actions` `{ action, key?, user?, segment? }` → 202 `{ session, action, recorded: true }`:
 *   the models observe `action:<action>` (then `key`) as accesses of the session.
 * - `POST /v1/sessions/:id/prefetch` `{ action?, keys?, user?, segment? }` → 202 `{ session, issued, keys,
 *   predicted }`: fetches `keys` and, for an action, the items predicted to follow it (recording the action);
 *   503 ERR_OVERLOADED, fetching none, when they would take the origin past `limits.maxInflightFetches`.
 * - `GET /v1/sessions/:id/predictions?limit=` → `{ session, user?, items, actions }`, probabilities in [0, 1].
 *
 * A session belongs to the first user that uses it; a token bound to a user can use only its own sessions.
 */
import type { FastifyInstance } from 'fastify';
import { Authenticator } from './auth.ts';
import type { RouteDeps } from './routes-items.ts';
import { parseRequest } from './schemas.ts';

/** Predictions answered when the request names no `limit`. */
const defaultLimit = 10;

export function registerSessionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { service, schemas, handlerTimeout } = deps;
  const read = { config: { scope: 'read' as const }, handlerTimeout };

  app.post('/v1/sessions/:id/actions', read, async (request, reply) => {
    const { id } = parseRequest(schemas.idParams, request.params, 'params');
    parseRequest(schemas.emptyQuery, request.query, 'query');
    const body = parseRequest(schemas.actionBody, request.body, 'body');
    const ctx = service.context(id, Authenticator.actFor(request.principal, body.user), body.segment);
    service.recordAction(ctx, body.action, body.key);
    return reply.code(202).send({ session: id, action: body.action, recorded: true });
  });

  app.post('/v1/sessions/:id/prefetch', read, async (request, reply) => {
    const { id } = parseRequest(schemas.idParams, request.params, 'params');
    parseRequest(schemas.emptyQuery, request.query, 'query');
    const body = parseRequest(schemas.prefetchBody, request.body, 'body');
    const ctx = service.context(id, Authenticator.actFor(request.principal, body.user), body.segment);
    const { keys, predicted } = await service.prefetch(ctx, { action: body.action, keys: body.keys });
    return reply.code(202).send({ session: id, issued: keys.length, keys, predicted });
  });

  app.get('/v1/sessions/:id/predictions', read, async (request) => {
    const { id } = parseRequest(schemas.idParams, request.params, 'params');
    const { limit = defaultLimit } = parseRequest(schemas.limitQuery, request.query, 'query');
    const ctx = service.context(id, Authenticator.actFor(request.principal, undefined));
    const { items, actions } = await service.predictions(ctx, limit);
    return { session: id, ...(ctx.user === undefined ? {} : { user: ctx.user }), items, actions };
  });
}
