import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
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

/** The latest sample: what the limits are compared with. */
export interface OverloadSample {
  eventLoopDelayMs: number;
  heapUsedBytes: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The overload sampler's latest reading (limits/overload.ts). */
    overloadSample(): OverloadSample;
  }
}

/** Served even under pressure: an orchestrator must still see the process alive and its metrics. */
const ALWAYS_SERVED = new Set(['/healthz', '/readyz', '/metrics']);
const RETRY_AFTER_MS = 5_000;
/** The event-loop delay histogram's resolution: its mean never falls below it, so it is taken off. */
const RESOLUTION_MS = 10;

/**
 * Sheds load before the process falls over: while the event loop lags or the heap is nearly full,
 * requests get 503 + Retry-After instead of piling up in memory.
 *
 * The sampler reads only what opens no file: the event-loop delay histogram and V8's heap
 * statistics. (@fastify/under-pressure, used before, read `process.memoryUsage()`, whose resident
 * set size comes from /proc/self/stat: with every descriptor taken it threw EMFILE from its timer
 * and the process died.) A sample that throws anyway is logged and the last one kept.
 *
 * Event-loop delay counts only from the second sample after the app is ready: the samples before
 * also hold the start's own work (compiling every route's schemas), which on a busy host can
 * block the loop for over a second and is not overload. A later sample that still reaches back
 * before ready can only have been delayed by a stall after it, which is.
 */
export function registerOverloadShedding(
  app: FastifyInstance,
  limits: OverloadLimits,
  metrics: Pick<Metrics, 'requestsRefused'>,
  logger: Pick<Logger, 'warn'>,
): void {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const sample: OverloadSample = { eventLoopDelayMs: 0, heapUsedBytes: 0 };
  let sampledAt = performance.now();
  let delayCountsFrom = Number.POSITIVE_INFINITY;
  let failing = false;

  const take = (): void => {
    try {
      // No sample in a whole interval: the loop was blocked throughout.
      const mean = histogram.count === 0 ? Number.POSITIVE_INFINITY : histogram.mean / 1e6;
      sample.eventLoopDelayMs = Math.max(0, mean - RESOLUTION_MS);
      histogram.reset();
      sample.heapUsedBytes = getHeapStatistics().used_heap_size;
      sampledAt = performance.now();
      failing = false;
    } catch (error) {
      if (!failing) logger.warn({ err: error }, 'overload sample failed; judging on the last one');
      failing = true;
    }
  };
  const timer = setInterval(take, limits.sampleIntervalMs);
  timer.unref();
  app.decorate('overloadSample', () => ({ ...sample }));

  app.addHook('onReady', async () => {
    delayCountsFrom = performance.now() + 2 * limits.sampleIntervalMs;
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    histogram.disable();
  });
  app.addHook('onRequest', (request, _reply, done) => {
    const lagging = sample.eventLoopDelayMs > limits.maxEventLoopDelayMs && sampledAt >= delayCountsFrom;
    const heapFull = sample.heapUsedBytes > limits.maxHeapUsedBytes;
    if ((!lagging && !heapFull) || ALWAYS_SERVED.has(request.url.split('?', 1)[0]!)) return done();
    const reason = lagging ? 'event_loop_delay' : 'heap';
    metrics.requestsRefused.inc({ reason });
    request.log.debug({ reason, ...sample }, 'overloaded: refusing a request');
    done(new Refusal(503, 'The server is overloaded right now; try again shortly.', RETRY_AFTER_MS));
  });
}
