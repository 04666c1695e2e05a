import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../../metrics.js';
import { Refusal } from './refusal.js';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * No cross-site writes. A POST with no body or a `text/plain` one is a CORS "simple request": a
 * browser sends it from any website without asking first, so CORS alone does not stop another
 * site from making its visitors create jobs here. On every state-changing request:
 * - an `Origin` that is neither this server's own (its Host, or X-Forwarded-Host from a trusted
 *   proxy) nor in ALLOWED_ORIGINS gets 403; with no Origin, `Sec-Fetch-Site: cross-site` does too;
 * - a body type other than application/json gets 415, before any of it is read.
 * Clients that are not browsers (curl, scripts) send no Origin and are not affected.
 */
export function registerCrossSiteGuard(
  app: FastifyInstance,
  allowedOrigins: readonly string[],
  metrics: Pick<Metrics, 'requestsRefused'>,
): void {
  const allowed = new Set(allowedOrigins);
  app.addHook('onRequest', (request, _reply, done) => {
    if (!STATE_CHANGING.has(request.method)) return done();
    const origin = request.headers.origin;
    const crossSite =
      origin === undefined ? request.headers['sec-fetch-site'] === 'cross-site' : !allowed.has(origin) && !isOwnOrigin(origin, request);
    if (crossSite) {
      metrics.requestsRefused.inc({ reason: 'cross_site' });
      return done(new Refusal(403, `Requests from ${origin ?? 'another site'} may not change anything here.`));
    }
    const type = request.headers['content-type'];
    if (type !== undefined && type.split(';', 1)[0]!.trim().toLowerCase() !== 'application/json') {
      return done(new Refusal(415, `Content-Type ${type} is not supported: send application/json or no body.`));
    }
    done();
  });
}

/**
 * CORS for ALLOWED_ORIGINS (@fastify/cors), so their pages can call the API from the browser:
 * preflights answered, the API's own headers readable. Not registered without any: the page
 * itself is same-origin and needs none.
 */
export async function registerAllowedOrigins(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  if (allowedOrigins.length === 0) return;
  await app.register(cors, {
    origin: [...allowedOrigins],
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Idempotency-Key', 'Last-Event-ID', 'If-None-Match', 'Authorization'],
    exposedHeaders: [
      'Location',
      'Link',
      'ETag',
      'Idempotent-Replayed',
      'Retry-After',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
    ],
    maxAge: 600,
  });
}

/** Same host and port as the request was addressed to; the scheme is not compared, as a TLS-terminating proxy may hide it. */
function isOwnOrigin(origin: string, request: FastifyRequest): boolean {
  try {
    return new URL(origin).host === request.host.toLowerCase();
  } catch {
    // `Origin: null` (sandboxed frames, some redirects) or garbage: not this page.
    return false;
  }
}
