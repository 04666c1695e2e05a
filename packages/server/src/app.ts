import { existsSync } from 'node:fs';
import type { Http2SecureServer } from 'node:http2';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyHttp2SecureOptions,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Config } from './config/config.js';
import type { ImageSource } from './images/image-source.js';
import type { Metrics } from './metrics.js';
import type { JobStore } from './store/job-store.js';
import { demoImagesRoutes } from './http/demo-images-routes.js';
import { docsRoutes } from './http/docs-routes.js';
import { answerClientError } from './http/client-errors.js';
import { registerErrorHandlers } from './http/error-handler.js';
import { EVENT_BACKLOG_LIMIT_BYTES, EventHub } from './http/events/event-hub.js';
import { eventsRoutes } from './http/events-routes.js';
import { healthRoutes } from './http/health-routes.js';
import { closeHttp2SessionsOnClose } from './http/http2-sessions.js';
import { jobsRoutes } from './http/jobs-routes.js';
import { registerAllowedOrigins, registerCrossSiteGuard } from './http/limits/cross-site.js';
import { connectionLimits, guardConnections } from './http/limits/connections.js';
import { registerForwardedForCheck, trustProxyFn } from './http/limits/forwarded-for.js';
import { registerHostCheck } from './http/limits/host-names.js';
import { metricsAccess } from './http/limits/metrics-access.js';
import { DEFAULT_OVERLOAD_LIMITS, registerOverloadShedding, type OverloadLimits } from './http/limits/overload.js';
import { PendingCap } from './http/limits/pending-cap.js';
import { registerRateLimits } from './http/limits/rate-limits.js';
import { ReadShare } from './http/limits/read-share.js';
import { StoredCap } from './http/limits/stored-cap.js';
import { Refusal } from './http/limits/refusal.js';
import { StreamCaps } from './http/limits/stream-caps.js';
import { sendProblem } from './http/problem.js';
import { registerDecimalQueryIntegers } from './http/query-integers.js';
import { SECURITY_HEADERS, securityHeaders } from './http/security-headers.js';
import type { TlsCredentials } from './http/tls.js';
import { webRoutes } from './http/web-routes.js';

export interface AppDeps {
  config: Readonly<Config>;
  store: JobStore;
  imageSource: ImageSource;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** With a certificate, HTTPS with HTTP/2 (HTTP/1.1 for clients that do not offer h2); null: plain HTTP/1.1. */
  tls: TlsCredentials | null;
  /** When to shed load; tests lower them. */
  overload?: OverloadLimits;
}

/** While shutting down: another process (or this one, restarted) takes the request in a moment. */
const CLOSING_RETRY_AFTER_MS = 2_000;

/**
 * Plain HTTP/1.1, or with a certificate HTTPS where ALPN picks HTTP/2 (a browser then multiplexes
 * every tab's requests and streams over one connection) and HTTP/1.1 stays for the rest.
 */
function serverOptions(tls: TlsCredentials | null): Partial<FastifyHttp2SecureOptions<Http2SecureServer>> {
  if (tls === null) return {};
  return {
    http2: true,
    https: { allowHTTP1: true, cert: tls.cert, key: tls.key },
    // An idle HTTP/2 connection is closed after this (a live /events stream is never idle: heartbeats).
    http2SessionTimeout: 72_000,
  };
}

/** Bodies are empty or `{}`; anything bigger is abuse. */
const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * Builds the HTTP app: routes, schemas, error handling, live events. Never listens (main.ts
 * does), so tests can build as many as they like. A worker process serves only health and metrics.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, store, logger, metrics } = deps;
  const trustProxy = trustProxyFn(config.trustProxy);
  let closing = false;

  const app = Fastify({
    // The HTTP/2 server differs to the routes only in its raw request and response, which only
    // /events touches (events-routes.ts): the app keeps the HTTP/1.1 server's typings.
    ...(serverOptions(deps.tls) as object),
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- widens pino's Logger so the app is a plain FastifyInstance
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request logs would cost more than the requests; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // Idle keep-alive sockets close (longer than a load balancer's usual 60 s); slow requests: see limits/connections.ts.
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: 256 },
    // Who the client is (request.ip) for every per-client limit: the socket's address, or the
    // forwarded one only from peers TRUST_PROXY names.
    trustProxy: trustProxy ?? false,
    // Fastify's own 503 while closing is a bare JSON body; the hook below answers a problem document instead.
    return503OnClosing: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    // Bad URLs and over-long path parameters, caught by the router before any route runs.
    frameworkErrors(error, _request, reply) {
      const status = error.statusCode ?? 400;
      // No onRequest hook has run: the security headers are set here.
      reply.headers(SECURITY_HEADERS);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the router's reply type is narrower than FastifyReply
      void sendProblem(reply as FastifyReply, status, status === 414 ? 'The URL is too long.' : 'The URL is not valid.');
    },
    // Requests too malformed for Fastify, or too slow to arrive: a problem document, as every answer.
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // registerHostCheck answers a request without Host with a problem document; Node's own check answers a bare 400.
  (app.server as { requireHostHeader?: boolean }).requireHostHeader = false;
  guardConnections(app.server, connectionLimits(config), { trustedPeer: trustProxy, metrics, logger });

  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      const error = new Error('The request body is not valid JSON.') as FastifyError;
      error.statusCode = 400;
      done(error, undefined);
    }
  });
  registerErrorHandlers(app);
  registerDecimalQueryIntegers(app);
  securityHeaders(app);
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    reply.header('Connection', 'close');
    done(new Refusal(503, 'The server is shutting down; try again shortly.', CLOSING_RETRY_AFTER_MS));
  });
  if (trustProxy) registerForwardedForCheck(app, trustProxy, metrics);
  registerHostCheck(app, { allowedHosts: config.allowedHosts, listenHost: config.host }, metrics);
  registerOverloadShedding(app, deps.overload ?? DEFAULT_OVERLOAD_LIMITS, metrics, logger);
  registerCrossSiteGuard(app, config.allowedOrigins, metrics);
  await registerAllowedOrigins(app, config.allowedOrigins);
  const rateLimits = await registerRateLimits(
    app,
    { creates: config.rateLimitCreates, downloads: config.rateLimitDownloads, actions: config.rateLimitActions },
    metrics,
  );
  await docsRoutes(app);

  await app.register(healthRoutes, {
    store,
    metrics,
    isClosing: () => closing,
    metricsAccess: metricsAccess(config.metricsToken, metrics),
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  if (deps.tls) closeHttp2SessionsOnClose(app);

  if (config.role !== 'worker') {
    const hub = new EventHub({
      store,
      logger,
      metrics,
      replayLimit: config.eventsReplayLimit,
      heartbeatMs: config.eventsHeartbeatMs,
      stallTimeoutMs: config.eventsStallTimeoutMs,
      maxBufferedBytes: EVENT_BACKLOG_LIMIT_BYTES,
    });
    const streamCaps = new StreamCaps({
      maxStreams: config.eventsMaxStreams,
      maxStreamsPerClient: config.eventsMaxStreamsPerClient,
      metrics,
    });
    const pendingCap = new PendingCap(store, config.maxPendingJobs, metrics);
    const storedCap = new StoredCap(store, config.maxStoredJobs, deps.clock, metrics);
    app.addHook('onReady', async () => {
      hub.start();
      await Promise.all([pendingCap.refresh(), storedCap.refresh()]);
    });
    app.addHook('preClose', async () => hub.close());
    await app.register(jobsRoutes, {
      store,
      clock: deps.clock,
      imageSource: deps.imageSource,
      metrics,
      rateLimits,
      pendingCap,
      storedCap,
      readShare: new ReadShare(config.listRowsPerSecond, deps.clock, metrics),
      delay: { minMs: config.jobDelayMinMs, maxMs: config.jobDelayMaxMs, stepMs: config.jobDelayStepMs },
      keyTtlMs: config.idempotencyKeyTtlMs,
      operatorToken: config.operatorToken,
    });
    await app.register(eventsRoutes, { hub, caps: streamCaps });
    await app.register(demoImagesRoutes);
    if (config.webRoot && existsSync(config.webRoot)) await app.register(webRoutes, { root: config.webRoot });
  }
  return app;
}
