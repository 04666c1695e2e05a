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
 *
 * Event-loop delay counts only from the second sample after the app is ready: the samples before
 * also hold the start's own work (compiling every route's schemas), which on a busy host can
 * block the loop for over a second and is not overload. A later sample that still reaches back
 * before ready can only have been delayed by a stall after it, which is.
 */
export async function registerOverloadShedding(
  app: FastifyInstance,
  limits: OverloadLimits,
  metrics: Pick<Metrics, 'requestsRefused'>,
): Promise<void> {
  let delayCountsFrom = Number.POSITIVE_INFINITY;
  app.addHook('onReady', async () => {
    delayCountsFrom = performance.now() + 2 * limits.sampleIntervalMs;
  });
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxHeapUsedBytes: limits.maxHeapUsedBytes,
    sampleInterval: limits.sampleIntervalMs,
    pressureHandler: (request, _reply, type, value) => {
      if (ALWAYS_SERVED.has(request.url.split('?')[0] ?? '')) return undefined;
      let [pressure, measured] = [type, value];
      if (type === TYPE_EVENT_LOOP_DELAY && performance.now() < delayCountsFrom) {
        // under-pressure looks no further once the delay is over its limit, so the heap is looked at here.
        const { heapUsed } = app.memoryUsage();
        if (heapUsed <= limits.maxHeapUsedBytes) return undefined;
        [pressure, measured] = [TYPE_HEAP_USED_BYTES, heapUsed];
      }
      const reason = pressure === TYPE_EVENT_LOOP_DELAY ? 'event_loop_delay' : pressure === TYPE_HEAP_USED_BYTES ? 'heap' : 'overloaded';
      metrics.requestsRefused.inc({ reason });
      request.log.debug({ type: pressure, value: measured }, 'overloaded: refusing a request');
      // A rejection goes to the error handler, which answers it (a resolved promise would let the request on).
      return Promise.reject(new Refusal(503, 'The server is overloaded right now; try again shortly.', RETRY_AFTER_MS));
    },
  });
}
