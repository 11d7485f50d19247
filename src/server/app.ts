/**
 * The HTTP service: a Fastify app over a Service, with authentication, per-token rate limiting, one error shape
 * for every failure, the item, session and admin routes, the metrics and the live dashboard.
 *
 * Request life: the dashboard's hook (copies `?token=` on its own routes) -> the route's guard (authentication,
 * scope check, rate limit) -> the route, which parses its input (zod, or a hand-written check with the same rules on
 * the item read) and calls the service -> one log line at debug (no hook at all below debug). Anything
 * thrown on the way becomes `{ "error": { "code", "message" } }` with the status of its code (http-errors.ts).
 */
import { pino } from 'pino';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ErrorCode } from '../errors.ts';
import { systemClock } from '../clock.ts';
import { Authenticator, type Principal, type RouteScope } from './auth.ts';
import { receiveSlackMs, type ServerConfig } from './config.ts';
import { registerDashboard } from './dashboard.ts';
import { errorBody, httpError, statusOf, toHttpError } from './http-errors.ts';
import { ServerMetrics } from './metrics.ts';
import { RateLimiter } from './rate-limit.ts';
import { registerAdminRoutes } from './routes-admin.ts';
import { registerItemRoutes } from './routes-items.ts';
import { registerSessionRoutes } from './routes-sessions.ts';
import { requestSchemas } from './schemas.ts';
import { Service, type ServiceOverrides } from './service.ts';

export type { ServiceOverrides } from './service.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts as (set by the authentication hook). */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Scope the route requires. Routes that declare none require `admin` (dashboard routes: `read`). */
    scope?: RouteScope;
    /** Set by the dashboard on its routes. */
    dashboard?: boolean;
  }
}

/** A running (or ready to run) service. */
export type PrescientServer = {
  readonly app: FastifyInstance;
  readonly service: Service;
  readonly metrics: ServerMetrics;
  /** Binds `config.host:config.port`; resolves with the base URL (`http://127.0.0.1:8787`). */
  listen(): Promise<string>;
  /**
   * Graceful stop: stops accepting connections, lets requests in flight finish, then flushes every acknowledged
   * write to the origin and closes the stores. Idempotent.
   */
  close(): Promise<void>;
};

/** While shutting down, idle keep-alive connections are closed this often, in ms. */
const idleSweepMs = 50;

/**
 * Builds the service and the app from `config` (see `resolveConfig`) and starts the stores. The app is ready
 * (routes registered) when this resolves; call `listen()` to bind, or use `app.inject` in-process.
 * @throws the store errors of `Service.start` (ERR_ORIGIN_FAILED, ERR_JOURNAL_FAILED, ...).
 */
export async function createServer(config: ServerConfig, overrides: ServiceOverrides = {}): Promise<PrescientServer> {
  const metrics = new ServerMetrics();
  const logger = overrides.logDestination === undefined ? pino({ level: config.logLevel }) : pino({ level: config.logLevel }, overrides.logDestination);
  const service = await Service.start({ config, overrides, logger, onOriginFetch: (ms, purpose, isOk) => metrics.observeOrigin(ms, purpose, isOk) });
  const { limits } = config;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request comes from our onResponse hook, at debug; Fastify's own two lines at info are off.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify gives every request a pino child logger bound to its id (pino's slower path, as Fastify passes an
    // options object): the largest allocation of ours on the hit path, and so a share of every scavenge pause.
    // Requests share the server's logger instead; the few lines we write per request carry `reqId` themselves.
    childLoggerFactory: (parent: FastifyBaseLogger) => parent,
    bodyLimit: limits.bodyLimitBytes,
    requestTimeout: limits.requestTimeoutMs + receiveSlackMs,
    // Requests that reach the server while it shuts down are answered by our own hook below, in our error shape
    // (Fastify's return503OnClosing answers with a body of its own).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Keys may be percent-encoded (each character can take three), and one too long must reach the route, whose key
    // check names the limit (ERR_INVALID_KEY): the router's own refusal said only "not a valid url component". Node
    // bounds the whole request line by its 16 KiB header limit anyway.
    routerOptions: { maxParamLength: Math.max(16 * 1024, config.cache.maxKeyLength * 3) },
    // What Node's HTTP parser refuses (a header without a colon, a garbage request line, oversized headers) is
    // answered in our error shape and counted, not with Fastify's default body.
    clientErrorHandler: (error, socket) => {
      const code = (error as { code?: unknown }).code;
      if (code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const [status, errorCode, message] = code === 'HPE_HEADER_OVERFLOW'
        ? (['431 Request Header Fields Too Large', 'ERR_PAYLOAD_TOO_LARGE', 'Request headers too large'] as const)
        : (['400 Bad Request', 'ERR_BAD_REQUEST', 'Malformed HTTP request'] as const);
      metrics.countError(errorCode);
      const body = JSON.stringify(errorBody(errorCode, message));
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    },
    // Errors raised before routing (a URL that does not decode) get the same shape as every other error.
    frameworkErrors: (error, _request, reply) => {
      const { status, body } = toHttpError(error);
      metrics.countError(body.error.code);
      void (reply as FastifyReply).code(status).send(body);
    },
  });
  // JSON only: a text/plain body was parsed as a string and refused with a confusing schema error; now 415.
  app.removeContentTypeParser('text/plain');
  // JSON bodies must be UTF-8 (invalid bytes were stored as U+FFFD, silently); an empty one (a DELETE from a client
  // that sets the JSON content type on every request) is no body. Fastify's own parser does the rest, with its
  // prototype-poisoning checks.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      // Bodies are not decompressed here: a gzipped one read as text was refused as bad JSON, a plain one sent with
      // the header was taken as it came.
      done(httpError('ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${JSON.stringify(encoding)} is not accepted: send the body as it is`), undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(httpError('ERR_BAD_REQUEST', 'The body is not valid UTF-8'), undefined);
      return;
    }
    if (text.length === 0) done(null, undefined);
    else parseJson(request, text, done);
  });
  const auth = new Authenticator(config.tokens);
  const limiter = new RateLimiter({ perSecond: limits.rateLimit.perSecond, burst: limits.rateLimit.burst, clock: overrides.clock ?? systemClock });

  const sendError = (reply: FastifyReply, code: ErrorCode, message: string): FastifyReply => {
    metrics.countError(code);
    return reply.code(statusOf(code)).send(errorBody(code, message));
  };

  let isClosing = false;
  // A request read while shutting down (pipelined, or on a keep-alive connection not yet closed): 503 before
  // anything else runs, `ERR_NOT_READY` from /readyz as when the stores are down, `ERR_CLOSED` elsewhere. The
  // onSend hook below closes its connection.
  app.addHook('onRequest', (request, reply, done) => {
    if (!isClosing) {
      done();
      return;
    }
    const isReadiness = request.url === '/readyz' || request.url.startsWith('/readyz?');
    sendError(reply, isReadiness ? 'ERR_NOT_READY' : 'ERR_CLOSED', 'The server is shutting down');
  });

  app.decorateRequest('principal', undefined as unknown as Principal);
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toHttpError(error);
    metrics.countError(body.error.code);
    // Load shedding is the server working as meant: a warning without a stack, not an error line per refused request.
    if (body.error.code === 'ERR_OVERLOADED' || body.error.code === 'ERR_CLOSED') request.log.warn({ reqId: request.id, code: body.error.code, status }, 'request shed');
    else if (status >= 500) request.log.error({ reqId: request.id, err: error, code: body.error.code }, 'request failed');
    else request.log.info({ reqId: request.id, code: body.error.code, status, reason: body.error.message }, 'request refused');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 'ERR_NOT_FOUND', `No route ${request.method} ${request.url.split('?', 1)[0].slice(0, 200)}`));

  // Authentication, scope and rate limit: one onRequest hook per route, attached as the route is registered with
  // its scope fixed, rather than one global hook that looks the route's config up on every request (Fastify's
  // `request.routeOptions` builds a fresh object per call). Routes that declare no scope require `admin`
  // (dashboard routes: `read`); `public` routes and unknown URLs (the 404 handler) get no hook. Registered before
  // the dashboard so its routes are guarded too; route hooks run after the dashboard's global `?token=` hook.
  const guards = new Set<unknown>();
  app.addHook('onRoute', (route) => {
    const scope: RouteScope = route.config?.scope ?? (route.config?.dashboard === true ? 'read' : 'admin');
    if (scope === 'public') return;
    const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    // Fastify derives the HEAD route from the GET route's options, hook included: do not guard it twice.
    if (hooks.some((hook) => guards.has(hook))) return;
    const guard = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void => {
      let principal: Principal;
      try {
        principal = auth.authenticate(request.headers.authorization);
        Authenticator.require(principal, scope);
      } catch (error) {
        // A refused credential costs the client address a token of its own bucket, so guessing is rate limited too.
        const code = (error as { code?: unknown }).code;
        const waitMs = code === 'ERR_UNAUTHORIZED' ? limiter.take(`refused:${request.ip}`) : 0;
        if (waitMs > 0) void reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
        done(waitMs > 0 ? httpError('ERR_RATE_LIMITED', `Too many refused credentials from this address; retry in ${waitMs} ms`) : (error as Error));
        return;
      }
      request.principal = principal;
      const waitMs = limiter.take(auth.isOpen ? `ip:${request.ip}` : principal.name);
      if (waitMs > 0) {
        void reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
        // Answered here: the route does not run (a callback hook that answers does not call `done`).
        sendError(reply, 'ERR_RATE_LIMITED', `Rate limit of ${limits.rateLimit.perSecond} requests a second exceeded; retry in ${waitMs} ms`);
        return;
      }
      done();
    };
    guards.add(guard);
    route.onRequest = [...hooks, guard];
  });

  registerDashboard(app, {
    cache: service.cache,
    service,
    // The same rule as GET /v1/sessions/:id/predictions: a token bound to a user sees only that user's sessions.
    sessionContext: (request, session) => service.context(session, Authenticator.actFor(request.principal, undefined)),
  });

  // Responses sent while shutting down close their connection, so keep-alive clients do not hold the server open.
  // Callback hooks throughout the request path: an async hook costs a promise and a microtask turn per request.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (isClosing) void reply.header('connection', 'close');
    done(null, payload);
  });
  // One log line per request at debug. Below debug the hook is not registered at all: it would cost a hook run
  // per request to write nothing. (The level is fixed by the config when the server starts.)
  if (logger.isLevelEnabled('debug')) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.debug({ reqId: request.id, method: request.method, url: (request.query as Record<string, unknown> | undefined)?.token === undefined ? request.url : `${request.url.split('?', 1)[0]}?…`, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, 'request');
      done();
    });
  }

  const schemas = requestSchemas(config.cache.maxKeyLength, limits.maxBatchKeys);
  const deps = { service, schemas, handlerTimeout: limits.requestTimeoutMs };
  registerItemRoutes(app, deps);
  registerSessionRoutes(app, deps);
  registerAdminRoutes(app, { ...deps, metrics });

  try {
    await app.ready();
  } catch (error) {
    await service.close().catch(() => {});
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    app,
    service,
    metrics,
    async listen(): Promise<string> {
      const url = await app.listen({ port: config.port, host: config.host });
      // Fastify names the first interface (127.0.0.1) for a wildcard bind; say where the socket really is.
      const bound = app.server.address();
      if (bound === null || typeof bound === 'string') return url;
      return `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        isClosing = true;
        // Connections that finish a request after close began go idle; close them as they do.
        const sweep = setInterval(() => app.server.closeIdleConnections(), idleSweepMs);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
          await service.close();
        }
      })();
      return closing;
    },
  };
}
