import { crc32 } from 'node:zlib';
import {
  CreatedJobSchema,
  DownloadSchema,
  IDEMPOTENCY_KEY_PATTERN,
  JobParamsSchema,
  JobSchema,
  LIST_LIMIT_DEFAULT,
  ListJobsQuerySchema,
  ProblemSchema,
  StatsSchema,
  SHORT_ID_LENGTH,
  type JobStatus,
} from '@simmer/contracts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Clock } from '../clock.js';
import { ClientShareSpentError, ImageSourceBusyError, type ImageSource } from '../images/image-source.js';
import type { DelaySettings } from '../jobs/delay.js';
import { clientKeyOf } from '../jobs/client-keys.js';
import { controlTokenOf } from '../jobs/control-tokens.js';
import { createJob } from '../jobs/create-job.js';
import type { Metrics } from '../metrics.js';
import type { JobStore, StoredJob } from '../store/job-store.js';
import { jobActionsRoutes } from './job-actions-routes.js';
import { toJobView } from './job-view.js';
import type { PendingCap } from './limits/pending-cap.js';
import type { ReadShare } from './limits/read-share.js';
import type { StoredCap } from './limits/stored-cap.js';
import { clientOf, type RateLimits } from './limits/rate-limits.js';
import { Refusal } from './limits/refusal.js';
import { sendProblem } from './problem.js';

export interface JobsRoutesDeps {
  store: JobStore;
  clock: Clock;
  delay: DelaySettings;
  keyTtlMs: number;
  imageSource: ImageSource;
  metrics: Metrics;
  rateLimits: RateLimits;
  pendingCap: PendingCap;
  storedCap: StoredCap;
  readShare: ReadShare;
  /** OPERATOR_TOKEN: may act on every job; null: there is no operator. */
  operatorToken: string | null;
}

const JobParams = JobParamsSchema;
const problems = (...codes: number[]) => Object.fromEntries(codes.map((code) => [code, ProblemSchema]));

/** POST /jobs, GET /jobs, GET /jobs/{id}, POST /jobs/{id}/download, GET /stats, and the actions (job-actions-routes.ts). */
export const jobsRoutes: FastifyPluginAsyncTypebox<JobsRoutesDeps> = async (app, deps) => {
  const { store, metrics } = deps;

  app.post(
    '/jobs',
    {
      schema: {
        summary: 'Create a job',
        description:
          "Creates a pending job due after a random delay. With an Idempotency-Key already used, returns that key's job " +
          'with `Idempotent-Replayed: true` and creates nothing. Acknowledged only once the job is durable. The answer ' +
          "carries the job's `controlToken` (the same on a replay, and in no other answer): `Authorization: Bearer " +
          '<controlToken>` gives the right to cancel, run, retry and delete this job.',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ pattern: IDEMPOTENCY_KEY_PATTERN })) }),
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 202: CreatedJobSchema, ...problems(400, 403, 413, 415, 429, 503) },
      },
      config: { rateLimit: deps.rateLimits.creates },
      // "No body" means the same as `{}`; the schema then rejects anything else.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const { job, created } = await deps.storedCap.admit(() =>
        deps.pendingCap.admit(() =>
          createJob(deps, request.headers['idempotency-key'] ?? null, clientKeyOf(store.tokenKey, clientOf(request))),
        ),
      );
      if (created) metrics.createLatency.observe((performance.now() - started) / 1000);
      else reply.header('Idempotent-Replayed', 'true');
      return reply
        .code(202)
        .header('Location', `/jobs/${job.id}`)
        .send({ ...toJobView(job), controlToken: controlTokenOf(store.tokenKey, job.id) });
    },
  );

  app.get(
    '/jobs',
    {
      schema: {
        summary: 'List jobs, newest first',
        description:
          'Resolved jobs carry their result, the others their status. Paginated with an RFC 8288 `Link: <...>; rel="next"` header. ' +
          '`q` finds a job by its full id, or the jobs whose id ends with a short id (six hex digits, as the page shows it).',
        querystring: ListJobsQuerySchema,
        response: { 200: Type.Array(JobSchema), 304: Type.Null(), ...problems(400, 429, 503) },
      },
    },
    async (request, reply) => {
      const { status, cursor } = request.query;
      const q = request.query.q?.toLowerCase();
      const limit = request.query.limit ?? LIST_LIMIT_DEFAULT;
      // The sequence is read before the list: a change racing the list can only make the tag older, never newer than the body.
      const seq = await store.lastSeq();
      const etag = `"${seq.toString(36)}-${crc32(`${status ?? ''}|${limit}|${cursor ?? ''}|${q ?? ''}`).toString(36)}"`;
      reply.header('ETag', etag).header('Cache-Control', 'no-cache');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);

      // A 304 costs next to nothing; a list, about its rows.
      const client = deps.readShare.charge(request, limit);

      const jobs =
        q === undefined
          ? await store.listJobs({ status, limit: limit + 1, before: cursor })
          : await findJobs(store, q, status, cursor, limit + 1);
      const page = jobs.slice(0, limit);
      deps.readShare.refund(client, limit - page.length);
      if (jobs.length > limit) {
        const next = new URLSearchParams({ limit: String(limit), cursor: page.at(-1)!.id });
        if (status) next.set('status', status);
        if (q) next.set('q', q);
        reply.header('Link', `</jobs?${next.toString()}>; rel="next"`);
      }
      return page.map(toJobView);
    },
  );

  app.get(
    '/jobs/:id',
    {
      schema: {
        summary: 'Get one job',
        params: JobParams,
        response: { 200: JobSchema, ...problems(400, 404, 503) },
      },
    },
    async (request, reply) => {
      const job = await store.getJob(request.params.id);
      if (!job) return sendProblem(reply, 404, `There is no job ${request.params.id}.`);
      return toJobView(job);
    },
  );

  app.post(
    '/jobs/:id/download',
    {
      schema: {
        summary: "Download a resolved job's photo",
        description:
          "Triggers the photo's Unsplash download endpoint with the server's key (as Unsplash's guidelines ask when a user downloads a photo) and returns the file's address.",
        params: JobParams,
        response: { 200: DownloadSchema, ...problems(400, 403, 404, 409, 415, 429, 502, 503) },
      },
      config: { rateLimit: deps.rateLimits.downloads },
    },
    async (request, reply) => {
      const job = await store.getJob(request.params.id);
      if (!job) return sendProblem(reply, 404, `There is no job ${request.params.id}.`);
      if (job.status !== 'resolved' || !job.result)
        return sendProblem(reply, 409, `Job ${job.id} is ${job.status}: only a resolved job has a photo to download.`);
      const { photo, source } = job.result;
      if (source !== deps.imageSource.name) {
        return sendProblem(reply, 503, `This photo came from ${source}, which this server is not configured to reach.`);
      }
      try {
        return { url: await deps.imageSource.trackDownload(photo, clientOf(request), AbortSignal.timeout(15_000)) };
      } catch (error) {
        if (error instanceof ClientShareSpentError) {
          metrics.requestsRefused.inc({ reason: 'tracking_share' });
          throw new Refusal(429, error.message, error.retryAfterMs);
        }
        if (error instanceof ImageSourceBusyError) {
          metrics.requestsRefused.inc({ reason: 'tracking_budget' });
          throw new Refusal(503, error.message, error.retryAfterMs);
        }
        request.log.warn({ err: error, jobId: job.id }, 'download tracking failed');
        return sendProblem(reply, 502, 'Unsplash did not confirm the download; try again shortly.');
      }
    },
  );

  await app.register(jobActionsRoutes, deps);

  app.get(
    '/stats',
    {
      schema: {
        summary: 'Counts per status and the image source in use',
        response: { 200: StatsSchema, ...problems(503) },
      },
    },
    async () => {
      const [counts, lastSeq] = await Promise.all([store.countJobs(), store.lastSeq()]);
      return { counts, imageSource: deps.imageSource.name, lastSeq };
    },
  );
};

/** `GET /jobs?q=`: the job with this full id, or the jobs whose id ends with this short id; newest first, as the list. */
async function findJobs(
  store: JobStore,
  q: string,
  status: JobStatus | undefined,
  before: string | undefined,
  limit: number,
): Promise<StoredJob[]> {
  if (q.length > SHORT_ID_LENGTH) {
    const job = await store.getJob(q);
    return job && (status === undefined || job.status === status) && (before === undefined || job.id < before) ? [job] : [];
  }
  return store.listJobs({ shortId: q, status, before, limit });
}
