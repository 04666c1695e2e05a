import rateLimit, { normalizeIP, type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../../metrics.js';
import { Refusal } from './refusal.js';

/** A route's rate limit, or false for none. Put it in the route's `config.rateLimit`. */
export type RouteRateLimit = RateLimitOptions | false;

export interface RateLimits {
  creates: RouteRateLimit;
  downloads: RouteRateLimit;
  /**
   * Cancel, run now, retry and delete, counted together: one limiter (one count per client) as the
   * routes' onRequest hook, where a `config.rateLimit` would count each route apart. Null: no limit.
   */
  actions: ((request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) | null;
}

/**
 * The client every per-client bound counts (rate limits, event streams, download tracking):
 * `request.ip`, with an IPv6 address taken by its /64, as the rate limiter does, so that one host
 * cannot rotate through its /64 to pass a per-client cap.
 */
export const clientOf = (request: FastifyRequest): string => normalizeIP(request.ip);

/** Distinct clients remembered per limit; past it the least recently seen is forgotten (a fresh window). */
const CLIENTS_TRACKED = 100_000;
const MINUTE_MS = 60_000;

/**
 * Per-client rate limits with @fastify/rate-limit. The client is `request.ip`: the socket's
 * address, or the forwarded one when TRUST_PROXY trusts the peer (IPv6 clients by /64, as one
 * host usually holds a whole /64). Counts are per process: in scale-out mode each API process
 * counts for itself. Registers no limit by itself; routes opt in with `config.rateLimit`.
 */
export async function registerRateLimits(
  app: FastifyInstance,
  perMinute: { creates: number; downloads: number; actions: number },
  metrics: Pick<Metrics, 'requestsRefused'>,
): Promise<RateLimits> {
  await app.register(rateLimit, {
    global: false,
    // The IETF draft's RateLimit-Limit / -Remaining / -Reset, plus Retry-After when refused.
    enableDraftSpec: true,
    cache: CLIENTS_TRACKED,
    errorResponseBuilder: (_request, context) =>
      // The limiter has set Retry-After and the RateLimit-* headers already.
      new Refusal(429, `Too many requests from this client: at most ${context.max} a minute. Try again in ${context.after}.`),
  });
  const limit = (max: number, reason: string): RouteRateLimit =>
    max === 0
      ? false
      : {
          max,
          timeWindow: MINUTE_MS,
          onExceeded: () => metrics.requestsRefused.inc({ reason }),
        };
  return {
    creates: limit(perMinute.creates, 'rate_limited_creates'),
    downloads: limit(perMinute.downloads, 'rate_limited_downloads'),
    actions:
      perMinute.actions === 0
        ? null
        : app.rateLimit({
            max: perMinute.actions,
            timeWindow: MINUTE_MS,
            onExceeded: () => metrics.requestsRefused.inc({ reason: 'rate_limited_actions' }),
          }),
  };
}
