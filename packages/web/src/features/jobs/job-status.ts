import type { JobCounts } from '@simmer/contracts';
import { JOB_STATUSES, type JobStatus } from '@simmer/contracts/constants';

/** What the page calls each status, on pills and filter buttons. */
export const STATUS_LABEL: Readonly<Record<JobStatus, string>> = {
  pending: 'Pending',
  running: 'Running',
  resolved: 'Resolved',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function isJobStatus(value: unknown): value is JobStatus {
  return (JOB_STATUSES as readonly unknown[]).includes(value);
}

/** Jobs in every status. */
export function countAll(counts: JobCounts): number {
  return JOB_STATUSES.reduce((sum, status) => sum + counts[status], 0);
}
