/**
 * The contract's plain values, with no schema library: the page imports this entry
 * (`@simmer/contracts/constants`) so typebox stays out of its bundle, and the schemas in job.ts,
 * problem.ts and events.ts are built from these same values. Change a value here, and only here.
 */

export const JOB_STATUSES = ['pending', 'running', 'resolved', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * The job state machine: every move from one status to another that the server may report, and
 * nothing else. `running → pending` is a claim given back (a worker stopping, or claims that waited
 * too long behind busy slots); a claim whose lease ended is taken again as `running → running`, which
 * is no transition. `pending | running → cancelled` is a cancel; `failed | cancelled → pending` a
 * retry. Removal (delete, retention) can happen from any status and is not listed.
 */
export const JOB_TRANSITIONS = [
  ['pending', 'running'],
  ['running', 'pending'],
  ['running', 'resolved'],
  ['running', 'failed'],
  ['pending', 'cancelled'],
  ['running', 'cancelled'],
  ['failed', 'pending'],
  ['cancelled', 'pending'],
] as const satisfies readonly (readonly [JobStatus, JobStatus])[];

/** Whether the state machine allows `from → to` (a status to itself is no transition, and allowed). */
export function isAllowedTransition(from: JobStatus, to: JobStatus): boolean {
  return from === to || JOB_TRANSITIONS.some(([a, b]) => a === from && b === to);
}

/** Statuses a job does not leave by itself: it ends in one of these, and only an action (retry) or a removal moves it on. */
export const FINAL_STATUSES = ['resolved', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];

/**
 * What a person may do to a job (`POST /jobs/{id}/<action>`; removal is `DELETE /jobs/{id}`), and the
 * statuses each applies to. Cancel on a job already cancelled answers `200`, unchanged; any other
 * status not listed answers `409`. Delete applies to every status.
 */
export const JOB_ACTIONS = ['cancel', 'run', 'retry'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];
export const JOB_ACTION_FROM = {
  cancel: ['pending', 'running', 'cancelled'],
  run: ['pending'],
  retry: ['failed', 'cancelled'],
} as const satisfies Record<JobAction, readonly JobStatus[]>;

/** Whether `action` applies to a job in `status` (delete applies to any status and is not listed). */
export function isActionAllowed(action: JobAction, status: JobStatus): boolean {
  return (JOB_ACTION_FROM[action] as readonly JobStatus[]).includes(status);
}

/**
 * Every `error.code` a failed job can carry, and nothing else. Each has one fixed public sentence
 * (the job's `error.message`); the upstream detail goes to the server's log only.
 * - `unsplash_unauthorized`: Unsplash refused the server's access key (401).
 * - `unsplash_forbidden`: Unsplash refused to give a photo (403, not a rate limit).
 * - `unsplash_not_found`: Unsplash found no photo to give (404).
 * - `unsplash_rejected`: another 4xx answer that retrying will not change.
 * - `unsplash_bad_response`: an answer that is not a usable photo.
 * - `retry_limit_exceeded`: transient trouble (network, 5xx, rate limit) outlasted the job's time.
 * - `photo_share_spent`: Unsplash's photo supply is short and the client that created the job has
 *   taken its share of it (UNSPLASH_CLIENT_SHARE_PERCENT); a retry later gets a photo.
 * - `internal_error`: anything else that went wrong on the server.
 */
export const JOB_ERROR_CODES = [
  'unsplash_unauthorized',
  'unsplash_forbidden',
  'unsplash_not_found',
  'unsplash_rejected',
  'unsplash_bad_response',
  'retry_limit_exceeded',
  'photo_share_spent',
  'internal_error',
] as const;
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];

/**
 * How one attempt (one claim of a job) ended; null in the job's `attempts` while it runs.
 * - `resolved` / `failed`: the attempt settled the job.
 * - `retrying`: the attempt failed in a way that is tried again by a later attempt (the job stays pending).
 * - `cancelled`: the job was cancelled (or deleted) while this attempt ran; its result, if any, was dropped.
 * - `given-back`: the worker gave the claim back unstarted or while stopping (the job went back to pending).
 * - `lease-expired`: the worker stopped renewing its lease (it died or stalled) and another claim took the job.
 */
export const ATTEMPT_OUTCOMES = ['resolved', 'failed', 'retrying', 'cancelled', 'given-back', 'lease-expired'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** A job keeps its last this-many attempts (oldest first); older ones are dropped. */
export const ATTEMPTS_KEPT = 20;

/** A job's short id, as the page shows it: the last this-many hex digits of its id. */
export const SHORT_ID_LENGTH = 6;

/** `GET /jobs?q=`: a full job id or a short id (either case). */
export const JOB_QUERY_PATTERN =
  '^(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12})$';

/** A job's control token (`POST /jobs` answer, `controlToken`) is at least this long. */
export const CONTROL_TOKEN_MIN_LENGTH = 16;

/** UUIDv7, lower-case, as generated by the server. Validated on every route. */
export const JOB_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';

export const IMAGE_SOURCES = ['unsplash', 'demo'] as const;
export type ImageSourceName = (typeof IMAGE_SOURCES)[number];

/** `GET /jobs?limit=`: the page size when none is asked for, and the largest one allowed. */
export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 1000;

/** `Idempotency-Key`: 1-255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7e]{1,255}$';

/** The content type of every error answer (RFC 9457 problem details). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * `GET /events` (text/event-stream). Every change is `id: <seq>`, `event: job`, `data: <Job>`;
 * a job removed (deleted, or by retention) is `id: <seq>`, `event: removed`, `data: {"id": ...}`.
 * `event: reset` means the requested `Last-Event-ID` cannot be replayed: reload the list.
 * `event: ready` is sent once a stream has replayed everything after its resume point.
 */
export const EVENT_JOB = 'job';
export const EVENT_REMOVED = 'removed';
export const EVENT_RESET = 'reset';
export const EVENT_READY = 'ready';
