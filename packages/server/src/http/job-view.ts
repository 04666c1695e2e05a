import type { Job } from '@simmer/contracts';
import type { StoredJob } from '../store/job-store.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A stored job as the API shows it: status for pending/running, result or error once settled, and its latest change's number. */
export function toJobView(job: StoredJob): Job {
  return {
    id: job.id,
    status: job.status,
    createdAt: iso(job.createdAt),
    runAt: iso(job.runAt),
    resolvedAt: job.resolvedAt === null ? null : iso(job.resolvedAt),
    result: job.result,
    error: job.error,
    seq: job.updatedSeq,
  };
}
