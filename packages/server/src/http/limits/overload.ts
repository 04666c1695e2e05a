import { getHeapStatistics } from 'node:v8';
import underPressure, { TYPE_EVENT_LOOP_DELAY, TYPE_HEAP_USED_BYTES } from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';
import { Refusal } from './refusal.js';

export interface OverloadLimits {
  /** Mean event-loop delay over one sample past which requests are refused. */
  maxEventLoopDelayMs: number;
  /** Heap used past which requests are refused; default 85 % of V8's heap limit. */
  maxHeapUsedBytes: number;
  /** How often the process is sampled. */
  sampleIntervalMs: number;
}

export const DEFAULT_OVERLOAD_LIMITS: OverloadLimits = {
  maxEventLoopDelayMs: 1_000,
  maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * 0.85),
  sampleIntervalMs: 1_000,
};

/** Served even under pressure: an orchestrator must still see the process alive and its metrics. */
const ALWAYS_SERVED = new Set(['/healthz', '/readyz', '/metrics']);
const RETRY_AFTER_MS = 5_000;

/**
 * Sheds load before the process falls over (@fastify/under-pressure): while the event loop lags
 * or the heap is nearly full, requests get 503 + Retry-After instead of piling up in memory.
 */
export async function registerOverloadShedding(
  app: FastifyInstance,
  limits: OverloadLimits,
  metrics: Pick<Metrics, 'requestsRefused'>,
): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxHeapUsedBytes: limits.maxHeapUsedBytes,
    sampleInterval: limits.sampleIntervalMs,
    pressureHandler: (request, _reply, type, value) => {
      if (ALWAYS_SERVED.has(request.url.split('?')[0] ?? '')) return undefined;
      const reason = type === TYPE_EVENT_LOOP_DELAY ? 'event_loop_delay' : type === TYPE_HEAP_USED_BYTES ? 'heap' : 'overloaded';
      metrics.requestsRefused.inc({ reason });
      request.log.debug({ type, value }, 'overloaded: refusing a request');
      // A rejection goes to the error handler, which answers it (a resolved promise would let the request on).
      return Promise.reject(new Refusal(503, 'The server is overloaded right now; try again shortly.', RETRY_AFTER_MS));
    },
  });
}
