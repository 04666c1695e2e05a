import type { Attempt, Job, JobStatus } from '@simmer/contracts';

/**
 * For tests: job number `n` (its id ends in n, so ids sort as the numbers do), created at a fixed
 * time, with the attempt its status implies: one running for `running`, one ended for `resolved`
 * and `failed`, none for `pending` and `cancelled`.
 * Its view is as of change number `seq`.
 */
export function job(n: number, status: JobStatus = 'pending', seq = 1): Job {
  const runAt = '2026-01-01T00:01:00.000Z';
  const endedAt = '2026-01-01T00:01:02.000Z';
  const attempts: Attempt[] =
    status === 'running'
      ? [{ startedAt: runAt, endedAt: null, outcome: null, error: null }]
      : status === 'resolved' || status === 'failed'
        ? [{ startedAt: runAt, endedAt, outcome: status, error: null }]
        : [];
  return {
    id: `0193d9a4-0000-7000-8000-${String(n).padStart(12, '0')}`,
    status,
    createdAt: '2026-01-01T00:00:00.000Z',
    runAt,
    resolvedAt: status === 'resolved' || status === 'failed' ? endedAt : null,
    result: null,
    error: null,
    attempts,
    seq,
  };
}
