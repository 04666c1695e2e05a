import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { JOB_STATUSES } from '@simmer/contracts';
import type { preHandlerAsyncHookHandler } from 'fastify';
import Type from 'typebox';
import type { Metrics } from '../metrics.js';
import type { JobStore } from '../store/job-store.js';

const Health = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });

/** /healthz (the process answers), /readyz (the store can serve), /metrics (Prometheus). */
export interface HealthRoutesDeps {
  store: JobStore;
  metrics: Metrics;
  isClosing: () => boolean;
  /** Who may read /metrics (see limits/metrics-access.ts). */
  metricsAccess: preHandlerAsyncHookHandler;
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesDeps> = async (app, { store, metrics, isClosing, metricsAccess }) => {
  app.get('/healthz', { schema: { summary: 'Liveness', response: { 200: Health } } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { summary: 'Readiness: store open, reachable and taking new jobs', response: { 200: Health, 503: Health } } },
    async (_request, reply) => {
      if (isClosing()) return reply.code(503).send({ status: 'not ready', reason: 'shutting down' });
      const health = store.health();
      if (health.ready && health.acceptingCreates) return { status: 'ready' };
      return reply.code(503).send({ status: 'not ready', reason: health.reason ?? 'the store cannot serve' });
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: true }, preHandler: metricsAccess }, async (_request, reply) => {
    try {
      const counts = await store.countJobs();
      for (const status of JOB_STATUSES) metrics.jobsByStatus.set({ status }, counts[status]);
    } catch {
      // Still serve process metrics while the store is away; the job gauges keep their last values.
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
};
