import { JobActionBodySchema, JobParamsSchema, JobSchema, ProblemSchema, type JobAction } from '@simmer/contracts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Clock } from '../clock.js';
import type { ActionResult, JobStore } from '../store/job-store.js';
import type { Metrics } from '../metrics.js';
import { toJobView } from './job-view.js';
import { jobAccess } from './limits/job-access.js';
import type { PendingCap } from './limits/pending-cap.js';
import type { RateLimits } from './limits/rate-limits.js';
import { sendProblem } from './problem.js';

export interface JobActionsRoutesDeps {
  store: JobStore;
  clock: Clock;
  metrics: Metrics;
  rateLimits: RateLimits;
  /** OPERATOR_TOKEN: may act on every job; null: there is no operator. */
  operatorToken: string | null;
  /** MAX_PENDING_JOBS: a retried job is pending again, so a retry is admitted as a create is. */
  pendingCap: PendingCap;
}

const problems = (...codes: number[]) => Object.fromEntries(codes.map((code) => [code, ProblemSchema]));

/** What each action is, for the reference and for a 409's words. */
const ACTIONS: Record<JobAction, { summary: string; description: string; appliesTo: string }> = {
  cancel: {
    summary: 'Cancel a job',
    description:
      'A pending or running job becomes `cancelled`: a running photo call is aborted, and no result is written after. ' +
      'Cancelling a cancelled job answers 200 and changes nothing.',
    appliesTo: 'only a pending or running job can be cancelled',
  },
  run: {
    summary: 'Run a pending job now',
    description: 'A pending job becomes due now, and a worker claims it at once.',
    appliesTo: 'only a pending job can be run now',
  },
  retry: {
    summary: 'Retry a failed or cancelled job',
    description: 'A failed or cancelled job goes back to `pending`, due now, without its error; its attempts stay.',
    appliesTo: 'only a failed or cancelled job can be retried',
  },
};

const RIGHTS = " Needs `Authorization: Bearer <token>`: the job's `controlToken` (from its `POST /jobs` answer) or the operator token.";

/**
 * POST /jobs/{id}/cancel | run | retry and DELETE /jobs/{id}. Each answers only once its change is
 * durable. In order: another site's Origin 403 (cross-site.ts), the per-client action rate limit
 * 429, a malformed id 400, no credentials 401, a token that is not this job's nor the operator's
 * 403 (job-access.ts), a retry past MAX_PENDING_JOBS 503, no such job 404, a status the action
 * does not apply to 409.
 */
export const jobActionsRoutes: FastifyPluginAsyncTypebox<JobActionsRoutesDeps> = async (app, deps) => {
  const { store, clock } = deps;
  const access = jobAccess(() => store.tokenKey, deps.operatorToken, deps.metrics);
  const rateLimit = deps.rateLimits.actions ?? [];
  const perform: Record<JobAction, (id: string, at: number) => Promise<ActionResult>> = {
    cancel: (id, at) => store.cancelJob(id, at),
    run: (id, at) => store.runJobNow(id, at),
    retry: async (id, at) => {
      const { result } = await deps.pendingCap.admit(async () => {
        const result = await store.retryJob(id, at);
        return { result, created: result.kind === 'done' };
      });
      return result;
    },
  };

  for (const action of Object.keys(ACTIONS) as JobAction[]) {
    const { summary, description, appliesTo } = ACTIONS[action];
    app.post(
      `/jobs/:id/${action}`,
      {
        schema: {
          summary,
          description: description + RIGHTS,
          params: JobParamsSchema,
          headers: Type.Object({ authorization: Type.Optional(Type.String()) }),
          body: Type.Optional(JobActionBodySchema),
          response: { 200: JobSchema, ...problems(400, 401, 403, 404, 409, 413, 415, 429, 503) },
        },
        onRequest: rateLimit,
        // "No body" means the same as `{}`; the schema then rejects anything else.
        preValidation: async (request) => {
          if (request.body === undefined) request.body = {};
        },
        preHandler: access,
      },
      async (request, reply) => {
        const { id } = request.params;
        const result = await perform[action](id, clock.now());
        switch (result.kind) {
          case 'not-found':
            return sendProblem(reply, 404, `There is no job ${id}.`);
          case 'conflict':
            return sendProblem(reply, 409, `Job ${id} is ${result.job.status}: ${appliesTo}.`);
          default:
            if (result.kind === 'done') request.log.info({ jobId: id, action, status: result.job.status }, 'job action');
            return toJobView(result.job);
        }
      },
    );
  }

  app.delete(
    '/jobs/:id',
    {
      schema: {
        summary: 'Delete a job',
        description:
          'Removes a job whatever its status (a pending or running job is cancelled first: a running photo call is aborted). ' +
          'The job is then 404, and `/events` sends `event: removed`.' +
          RIGHTS,
        params: JobParamsSchema,
        headers: Type.Object({ authorization: Type.Optional(Type.String()) }),
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 413, 415, 429, 503) },
      },
      onRequest: rateLimit,
      preHandler: access,
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await store.deleteJob(id))) return sendProblem(reply, 404, `There is no job ${id}.`);
      request.log.info({ jobId: id, action: 'delete' }, 'job action');
      return reply.code(204).send(null);
    },
  );
};
