/**
 * Operational and per-user routes.
 *
 * - `GET /healthz` (public) → `{ status: "ok" }` while the process serves.
 * - `GET /readyz` (public) → `{ status: "ready" }`, or 503 ERR_NOT_READY until the stores answer (and once
 *   shutdown begins). The origin's answer is reused for a second (ReadinessProbe), so polling it costs the origin
 *   at most one read a second.
 * - `GET /metrics` (admin) → Prometheus text, names prefixed `prescient_`.
 * - `GET /v1/users/:id/shadow?limit=` (read; a token bound to a user sees only its own) → `{ user, items }`.
 */
import type { FastifyInstance } from 'fastify';
import { errorBody, statusOf } from './http-errors.ts';
import { Authenticator } from './auth.ts';
import type { ServerMetrics } from './metrics.ts';
import type { RouteDeps } from './routes-items.ts';
import { parseRequest } from './schemas.ts';

/** Items answered when the request names no `limit`. */
const defaultLimit = 50;

export function registerAdminRoutes(app: FastifyInstance, deps: RouteDeps & { readonly metrics: ServerMetrics }): void {
  const { service, schemas, metrics, handlerTimeout } = deps;

  app.get('/healthz', { config: { scope: 'public' } }, async () => ({ status: 'ok' }));

  // Not ready is a state, not a failed request: logged once when it begins (warn) and when it ends (info), not at
  // error with a stack on every probe of an orchestrator polling through an outage.
  let wasReady: boolean | undefined;
  app.get('/readyz', { config: { scope: 'public' }, handlerTimeout }, async (request, reply) => {
    const isReady = await service.isReady();
    if (isReady !== wasReady) {
      if (isReady) request.log.info({ reqId: request.id }, 'ready: the stores answer');
      else request.log.warn({ reqId: request.id, code: 'ERR_NOT_READY' }, 'not ready: the stores do not answer');
      wasReady = isReady;
    }
    if (isReady) return { status: 'ready' };
    metrics.countError('ERR_NOT_READY');
    return reply.code(statusOf('ERR_NOT_READY')).send(errorBody('ERR_NOT_READY', 'The stores are not ready'));
  });

  app.get('/metrics', { config: { scope: 'admin' }, handlerTimeout }, async (request, reply) => {
    parseRequest(schemas.emptyQuery, request.query, 'query');
    await metrics.refresh({ cache: service.cache, l2: service.l2, serviceStats: () => service.dashboardStats() });
    return reply.type(metrics.contentType).send(await metrics.render());
  });

  app.get('/v1/users/:id/shadow', { config: { scope: 'read' }, handlerTimeout }, async (request) => {
    const { id } = parseRequest(schemas.idParams, request.params, 'params');
    const { limit = defaultLimit } = parseRequest(schemas.limitQuery, request.query, 'query');
    const user = Authenticator.actFor(request.principal, id) ?? id;
    return { user, items: service.shadow(user, limit) };
  });
}
