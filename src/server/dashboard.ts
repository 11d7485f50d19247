/**
 * The live dashboard: `GET /` serves one static page (plain HTML, inline script and SVG, no build step, no fetch
 * beyond this server), `GET /v1/dashboard/events` streams the DashboardFeed's points as server-sent events, and
 * `GET /v1/dashboard/snapshot` answers the same JSON once. Both take `?session=` to add the top predicted keys for
 * that session, and `?token=` because EventSource cannot send an Authorization header: a route-level onRequest hook
 * copies it into `authorization: Bearer <token>` on these routes only, before the app's guard on the route runs.
 *
 * Why SSE and sampling: the page needs a point a second, one way; SSE is plain HTTP (works through the same auth and
 * proxies) and reconnects by itself. Points are sampled once for every viewer; a stream that asks for a session adds
 * one `cache.predict` call per point.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cache } from '../cache/cache.ts';
import type { ReadContext } from '../context.ts';
import { idPattern } from './config.ts';
import { httpError } from './http-errors.ts';
import type { Clock } from '../clock.ts';
import { DashboardFeed, type DashboardPoint } from './dashboard-feed.ts';

export type { DashboardPoint, LatencySummary, ReadCounts } from './dashboard-feed.ts';
export { DashboardFeed, LatencyHistogram } from './dashboard-feed.ts';

/** What the dashboard shows: the service's cache, and optionally the service for extra gauges. */
export type DashboardSource = {
  readonly cache: Cache<unknown>;
  /**
   * The service; when it has a `dashboardStats(): Record<string, number>` method (write-back queue, journal bytes,
   * ...), each point carries its result as `service`.
   */
  readonly service?: unknown;
  /**
   * The context the asking request may see `session`'s predictions in; throws (ERR_FORBIDDEN) when it may not, e.g.
   * a token bound to one user asking for another user's session. Without it, any session's predictions are shown.
   */
  readonly sessionContext?: (request: FastifyRequest, session: string) => ReadContext;
};

export type DashboardOptions = {
  /** Time between points, in ms. @default 1000 */
  readonly intervalMs?: number;
  /** Points kept and sent to a new viewer. @default 120 */
  readonly historyLength?: number;
  /** Time source. @default systemClock */
  readonly clock?: Clock;
  /**
   * Which requests' latency feeds the percentiles: routes whose pattern starts with this, registered after
   * `registerDashboard`. @default '/v1/items' (single and batch reads).
   */
  readonly latencyRoutePrefix?: string;
};

/** One predicted key for the chosen session. */
export type DashboardPrediction = { readonly key: string; readonly probability: number };

/** The JSON of `/v1/dashboard/snapshot` and of the first SSE event (`event: history`). */
export type DashboardSnapshot = {
  readonly intervalMs: number;
  readonly points: readonly DashboardPoint[];
  readonly latest: DashboardPoint;
  /** Totals and gauges as of this answer (per-interval fields cover the time since `latest`). */
  readonly now: DashboardPoint;
  readonly session?: string;
  readonly predictions?: readonly DashboardPrediction[];
  readonly service?: Readonly<Record<string, number>>;
};

/** Top predicted keys shown per session. */
const predictionLimit = 10;
/** Browser reconnect delay after a dropped stream, in ms (the SSE `retry:` field). */
const reconnectMs = 2000;
/**
 * Bytes a stream may have queued unsent before it is dropped: about a hundred points. A viewer that stopped reading
 * (a suspended tab behind a proxy) must not make the server buffer without bound; the browser reconnects on its own.
 */
const maxQueuedBytes = 512 * 1024;
/**
 * Event streams open at once. Each costs a model prediction and a JSON document per tick and holds a session slot:
 * past this many, a new one is answered 429 (the browser retries); a dashboard has a handful of viewers.
 */
const maxStreams = 64;
/** Refusals of the auth guard and rate limit: no read happened, so no read latency to record. */
const refusedStatus = new Set([401, 403, 429]);

const pagePath = new URL('./dashboard-page.html', import.meta.url);

/** Dashboard route patterns (for an auth hook that wants to treat them apart). */
export const dashboardRoutes = Object.freeze(['/', '/v1/dashboard/events', '/v1/dashboard/snapshot']);

/**
 * Registers the page, the event stream and the snapshot on `app`, and the hooks that feed latencies and copy a
 * `?token=` query parameter into the Authorization header for these routes. Sampling starts when the app is ready
 * and stops (streams ended) when it closes. Route config carries `{ dashboard: true }`.
 * Returns the feed (the demo records latencies into it when it reads in-process).
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad option; Error when the page file is missing.
 */
export function registerDashboard(app: FastifyInstance, source: DashboardSource, options: DashboardOptions = {}): DashboardFeed {
  const { cache } = source;
  const feed = new DashboardFeed({
    cache,
    clock: options.clock,
    intervalMs: options.intervalMs,
    historyLength: options.historyLength,
    onError: (error) => app.log.warn({ err: error }, 'dashboard sampling failed'),
  });
  const page = readFileSync(pagePath);
  const prefix = options.latencyRoutePrefix ?? '/v1/items';
  const serviceStats = statsOf(source.service);
  const streams = new Set<FastifyReply>();

  // Latency is timed only on the read routes, by a hook attached to each as it is registered (routes registered
  // before registerDashboard are not timed): other requests pay nothing.
  const recordLatency = (_request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (!refusedStatus.has(reply.statusCode)) feed.recordLatency(reply.elapsedTime);
    done();
  };
  app.addHook('onRoute', (route) => {
    // Reads only: GET (and HEAD) of a key, and the batch read, which is a POST; not writes nor deletes.
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const isRead = methods.includes('GET') || route.url.endsWith(':batchGet');
    if (!route.url.startsWith(prefix) || !isRead) return;
    const hooks = route.onResponse;
    route.onResponse = hooks === undefined ? [recordLatency] : [...(Array.isArray(hooks) ? hooks : [hooks]), recordLatency];
  });
  app.addHook('onReady', (done) => {
    feed.start();
    done();
  });
  app.addHook('preClose', (done) => {
    feed.close();
    for (const reply of streams) reply.raw.end();
    streams.clear();
    done();
  });

  // `?token=` stands in for the Authorization header on the dashboard's own routes only: a route-level hook, which
  // runs before the guard the app attaches to each route, so other requests pay nothing for it.
  const tokenFromQuery = (request: FastifyRequest, _reply: FastifyReply, done: () => void): void => {
    if (request.headers.authorization === undefined) {
      const token = (request.query as Record<string, unknown> | undefined)?.token;
      if (typeof token === 'string' && token !== '') request.headers.authorization = `Bearer ${token}`;
    }
    done();
  };
  const config = { dashboard: true };
  const routeOptions = { config, onRequest: tokenFromQuery };
  app.get('/', routeOptions, (_request, reply) => {
    void reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
      .send(page);
  });

  /** The whole picture now: every kept point, the current interval, and the session's predictions when asked. */
  const snapshotNow = (ctx: ReadContext | undefined, session: string | undefined): DashboardSnapshot => ({
    intervalMs: feed.intervalMs,
    points: feed.history(),
    latest: feed.latest(),
    now: feed.current(),
    ...predictionsFor(cache, ctx, session),
    ...serviceField(serviceStats),
  });
  /** The session's context for this request, checked by the source (throws ERR_FORBIDDEN before anything is sent). */
  const contextOf = (request: FastifyRequest, session: string | undefined): ReadContext | undefined =>
    session === undefined ? undefined : (source.sessionContext?.(request, session) ?? { session });

  app.get('/v1/dashboard/snapshot', routeOptions, (request, reply) => {
    const query = parseQuery(request);
    void reply.header('cache-control', 'no-store').send(snapshotNow(contextOf(request, query.session), query.session));
  });

  app.get('/v1/dashboard/events', routeOptions, (request, reply) => {
    const query = parseQuery(request);
    const ctx = contextOf(request, query.session);
    if (streams.size >= maxStreams) {
      throw withStatus(httpError('ERR_RATE_LIMITED', `The dashboard serves at most ${maxStreams} event streams at once; retry later`), 429);
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (request.method === 'HEAD') {
      // The headers a GET would get, and no stream (Node never flushes a HEAD answer that stays open).
      raw.end();
      return;
    }
    const history = snapshotNow(ctx, query.session);
    raw.write(`retry: ${reconnectMs}\nevent: history\ndata: ${JSON.stringify(history)}\n\n`);
    streams.add(reply);
    const unsubscribe = feed.subscribe((point) => {
      if (raw.writableLength > maxQueuedBytes) {
        raw.destroy();
        end();
        return;
      }
      const message = { ...point, ...predictionsFor(cache, ctx, query.session), ...serviceField(serviceStats) };
      raw.write(`data: ${JSON.stringify(message)}\n\n`);
    });
    // Either close ends the stream: a response queued behind another on a pipelined connection has no socket and
    // never emits its own 'close' when the client goes, but its request does (each such stream kept its listener
    // and up to maxQueuedBytes until restart).
    let isEnded = false;
    const end = (): void => {
      if (isEnded) return;
      isEnded = true;
      unsubscribe();
      streams.delete(reply);
    };
    raw.once('close', end);
    request.raw.once('close', end);
  });
  return feed;
}

/**
 * Checks the query (only `session` and `token`, strings of sane length).
 * @throws PrescientError ERR_BAD_REQUEST, answered (and counted) by the server's error handler.
 */
function parseQuery(request: FastifyRequest): { session: string | undefined } {
  const q = (request.query ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(q)) {
    if (name !== 'session' && name !== 'token') throw badRequest(`Unknown query parameter \`${name.slice(0, 64)}\``);
    if (typeof value !== 'string') throw badRequest(`Expected \`${name}\` to be given once`);
    if (name === 'session' && value !== '' && !idPattern.test(value)) {
      throw badRequest('Expected `session` to be 1 to 128 letters, digits or ._:@-, as every route takes it');
    }
  }
  const session = q.session;
  return { session: typeof session === 'string' && session !== '' ? session : undefined };
}

/** `error` with the status Fastify's default error handler answers where the dashboard is used alone. */
function withStatus(error: Error, statusCode: number): Error {
  return Object.assign(error, { statusCode });
}

/** ERR_BAD_REQUEST, answered 400 (see withStatus). */
function badRequest(message: string): Error {
  return withStatus(httpError('ERR_BAD_REQUEST', message), 400);
}

/** The predictions for `ctx` (the service's model context of `session`), shown under the id the client sent. */
function predictionsFor(cache: Cache<unknown>, ctx: ReadContext | undefined, session: string | undefined): { session?: string; predictions?: DashboardPrediction[] } {
  if (ctx?.session === undefined || session === undefined) return {};
  try {
    const predictions = cache.predict(ctx, predictionLimit).map((p) => ({ key: p.key, probability: p.probability }));
    return { session, predictions };
  } catch {
    // A closed cache or a model failure shows as no predictions; the page must keep streaming the rest.
    return { session, predictions: [] };
  }
}

function statsOf(service: unknown): (() => Record<string, number>) | undefined {
  if (typeof service !== 'object' || service === null) return undefined;
  const method = (service as { dashboardStats?: unknown }).dashboardStats;
  return typeof method === 'function' ? () => method.call(service) as Record<string, number> : undefined;
}

function serviceField(stats: (() => Record<string, number>) | undefined): { service?: Record<string, number> } {
  if (stats === undefined) return {};
  try {
    return { service: stats() };
  } catch {
    return {};
  }
}
