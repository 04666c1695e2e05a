import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../../metrics.js';
import { Refusal } from './refusal.js';

/**
 * Who may read /metrics (quota left, heap, open streams): with METRICS_TOKEN set, whoever sends
 * `Authorization: Bearer <token>`; without it, loopback clients only. The client is
 * `request.ip`, so behind a trusted proxy a remote browser is not taken for a local one.
 * Returns a preHandler that throws a 401 or 403 Refusal.
 */
export function metricsAccess(
  token: string | null,
  metrics: Pick<Metrics, 'requestsRefused'>,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = token === null ? null : digest(token);
  return async (request, reply) => {
    if (expected === null) {
      if (isLoopback(request.ip)) return;
      metrics.requestsRefused.inc({ reason: 'metrics_forbidden' });
      throw new Refusal(403, '/metrics answers clients on this machine only (set METRICS_TOKEN to read it from elsewhere).');
    }
    const header = request.headers.authorization ?? '';
    const given = /^Bearer (.+)$/i.exec(header)?.[1];
    if (given !== undefined && timingSafeEqual(digest(given.trim()), expected)) return;
    metrics.requestsRefused.inc({ reason: 'metrics_forbidden' });
    reply.header('WWW-Authenticate', 'Bearer realm="metrics"');
    throw new Refusal(401, '/metrics needs Authorization: Bearer <METRICS_TOKEN>.');
  };
}

/** Equal-length digests, so the comparison takes the same time whatever was sent. */
const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}
