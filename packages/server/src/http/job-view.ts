import { ATTEMPTS_KEPT, JOB_ERROR_CODES, type Attempt, type Job, type JobError } from '@simmer/contracts';
import type { StoredJob } from '../store/job-store.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A stored job as the API shows it: status for pending/running, result or error once settled, its attempts and its latest change's number. */
export function toJobView(job: StoredJob): Job {
  return {
    id: job.id,
    status: job.status,
    createdAt: iso(job.createdAt),
    runAt: iso(job.runAt),
    resolvedAt: job.resolvedAt === null ? null : iso(job.resolvedAt),
    result: job.result,
    error: publicError(job.error),
    attempts: attemptsOf(job),
    seq: job.updatedSeq,
  };
}

/** The ended attempts and, while the job runs, the running one: oldest first, the newest ATTEMPTS_KEPT. */
function attemptsOf(job: StoredJob): Attempt[] {
  const attempts: Attempt[] = job.endedAttempts.map((attempt) => ({
    startedAt: iso(attempt.startedAt),
    endedAt: iso(attempt.endedAt),
    outcome: attempt.outcome,
    error: publicError(attempt.error),
  }));
  if (job.status === 'running' && job.claimedAt !== null) {
    attempts.push({ startedAt: iso(job.claimedAt), endedAt: null, outcome: null, error: null });
  }
  return attempts.length > ATTEMPTS_KEPT ? attempts.slice(-ATTEMPTS_KEPT) : attempts;
}

const KNOWN_CODES = new Set<string>(JOB_ERROR_CODES);

/** Errors stored by releases before the codes were a closed list may carry another code: shown as `internal_error`. */
function publicError(error: JobError | null): JobError | null {
  if (error === null || KNOWN_CODES.has(error.code)) return error;
  return { code: 'internal_error', message: error.message };
}
