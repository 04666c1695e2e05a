import Type, { type Static, type TInteger, type TLiteral, type TUnion } from 'typebox';
import {
  ATTEMPT_OUTCOMES,
  ATTEMPTS_KEPT,
  CONTROL_TOKEN_MIN_LENGTH,
  IMAGE_SOURCES,
  JOB_ERROR_CODES,
  JOB_ID_PATTERN,
  JOB_QUERY_PATTERN,
  JOB_STATUSES,
  LIST_LIMIT_DEFAULT,
  LIST_LIMIT_MAX,
  type JobStatus,
} from './constants.js';

/** `anyOf` one `const` per value (the schema once written out by hand), typed as the tuple of those literals. */
function literalUnion<const Values extends readonly string[]>(values: Values): TUnion<LiteralsOf<Values>> {
  // map() loses the tuple type that Static<> needs to name each literal; the cast restores it.
  return Type.Union(values.map((value) => Type.Literal(value))) as unknown as TUnion<LiteralsOf<Values>>;
}
type LiteralsOf<Values extends readonly string[]> = { -readonly [I in keyof Values]: TLiteral<Values[I]> };

export const JobStatusSchema = literalUnion(JOB_STATUSES);

export const JobIdSchema = Type.String({ pattern: JOB_ID_PATTERN, description: 'UUIDv7 job id' });

// Absolute (Unsplash) or same-origin (demo catalog) addresses.
const Url = Type.String({ minLength: 1 });

export const PhotoSchema = Type.Object(
  {
    id: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    color: Type.Union([Type.String(), Type.Null()]),
    blurHash: Type.Union([Type.String(), Type.Null()]),
    width: Type.Integer(),
    height: Type.Integer(),
    urls: Type.Object({ raw: Url, full: Url, regular: Url, small: Url, thumb: Url }),
    /** The photo's page on Unsplash (or the demo catalog's page for demo photos). */
    link: Url,
    author: Type.Object({ name: Type.String(), url: Url }),
    /** Unsplash's `links.download_location`, triggered (with the key, by the server) when a user downloads; null for demo photos. */
    downloadLocation: Type.Union([Url, Type.Null()]),
  },
  { $id: 'Photo' },
);
export type Photo = Static<typeof PhotoSchema>;

export const ImageSourceNameSchema = literalUnion(IMAGE_SOURCES);

export const JobResultSchema = Type.Object({
  photo: PhotoSchema,
  source: ImageSourceNameSchema,
});
export type JobResult = Static<typeof JobResultSchema>;

export const JobErrorCodeSchema = literalUnion(JOB_ERROR_CODES);

export const JobErrorSchema = Type.Object({ code: JobErrorCodeSchema, message: Type.String() });
export type JobError = Static<typeof JobErrorSchema>;

const Timestamp = Type.String({ format: 'date-time' });

export const AttemptOutcomeSchema = literalUnion(ATTEMPT_OUTCOMES);

/** One claim of a job by a worker: when it started and ended, how it ended, and the error it ended with. */
export const AttemptSchema = Type.Object(
  {
    startedAt: Timestamp,
    /** null while the attempt runs. */
    endedAt: Type.Union([Timestamp, Type.Null()]),
    /** null while the attempt runs. */
    outcome: Type.Union([AttemptOutcomeSchema, Type.Null()]),
    /** The error a `failed` attempt ended with; null otherwise. */
    error: Type.Union([JobErrorSchema, Type.Null()]),
  },
  { $id: 'Attempt' },
);
export type Attempt = Static<typeof AttemptSchema>;

export const JobSchema = Type.Object(
  {
    id: JobIdSchema,
    status: JobStatusSchema,
    createdAt: Timestamp,
    runAt: Timestamp,
    resolvedAt: Type.Union([Timestamp, Type.Null()]),
    result: Type.Union([JobResultSchema, Type.Null()]),
    error: Type.Union([JobErrorSchema, Type.Null()]),
    /** The job's last attempts (claims), oldest first, at most ATTEMPTS_KEPT. */
    attempts: Type.Array(AttemptSchema, { maxItems: ATTEMPTS_KEPT }),
    /**
     * The sequence number of the job's latest change (the `id:` of its latest `/events` frame). Of
     * two views of one job the higher `seq` is the newer, whichever arrived last.
     */
    seq: Type.Integer({ minimum: 0 }),
  },
  { $id: 'Job' },
);
/** A job as the API shows it. */
export type Job = Static<typeof JobSchema>;

/**
 * `POST /jobs` → `202` (and its idempotent replays): the job plus its control token, which gives
 * the right to act on this job (`Authorization: Bearer <controlToken>`). No other answer carries it.
 */
export const CreatedJobSchema = Type.Object(
  {
    ...JobSchema.properties,
    controlToken: Type.String({ minLength: CONTROL_TOKEN_MIN_LENGTH }),
  },
  { $id: 'CreatedJob' },
);
export type CreatedJob = Static<typeof CreatedJobSchema>;

export const JobCountsSchema = Type.Object(
  Object.fromEntries(JOB_STATUSES.map((status) => [status, Type.Integer()])) as { [Status in JobStatus]: TInteger },
);
export type JobCounts = Static<typeof JobCountsSchema>;

/** `GET /stats`: what the page shows above the grid. */
export const StatsSchema = Type.Object({
  counts: JobCountsSchema,
  imageSource: ImageSourceNameSchema,
  lastSeq: Type.Integer(),
});
export type Stats = Static<typeof StatsSchema>;

export const ListJobsQuerySchema = Type.Object(
  {
    status: Type.Optional(JobStatusSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIST_LIMIT_MAX, default: LIST_LIMIT_DEFAULT })),
    cursor: Type.Optional(JobIdSchema),
    /** A full job id, or a short id (the last six hex digits): only the jobs it names. */
    q: Type.Optional(Type.String({ pattern: JOB_QUERY_PATTERN })),
  },
  { additionalProperties: false },
);
export type ListJobsQuery = Static<typeof ListJobsQuerySchema>;

/** The path parameters of every `/jobs/{id}...` route. */
export const JobParamsSchema = Type.Object({ id: JobIdSchema });
export type JobParams = Static<typeof JobParamsSchema>;

/**
 * `POST /jobs/{id}/cancel | run | retry` (no body, or `{}`) → `200` with the job as it is now;
 * `DELETE /jobs/{id}` → `204`. `Authorization: Bearer <controlToken | operator token>`.
 */
export const JobActionBodySchema = Type.Object({}, { additionalProperties: false });
export const JobActionResponseSchema = JobSchema;

export const DownloadSchema = Type.Object({ url: Url });
export type Download = Static<typeof DownloadSchema>;
