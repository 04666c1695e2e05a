import type { Job, JobStatus } from '@simmer/contracts';

/**
 * For tests: job number `n` (its id ends in n, so ids sort as the numbers do), created at a fixed
 * time, as of change number `seq`.
 */
export function job(n: number, status: JobStatus = 'pending', seq = 1): Job {
  return {
    id: `0193d9a4-0000-7000-8000-${String(n).padStart(12, '0')}`,
    status,
    createdAt: '2026-01-01T00:00:00.000Z',
    runAt: '2026-01-01T00:01:00.000Z',
    resolvedAt: null,
    result: null,
    error: null,
    seq,
  };
}
