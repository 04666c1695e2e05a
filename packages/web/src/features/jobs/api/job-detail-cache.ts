import type { QueryClient } from '@tanstack/react-query';
import type { Job } from '@simmer/contracts';
import { jobKeys } from './job-keys';

/**
 * Writes changes (from the stream, a create or an action) into the open job details, as the lists
 * get them; removed jobs become null ("no such job"). Only details already in the cache are touched.
 */
export function keepJobDetailsCurrent(queryClient: QueryClient, jobs: readonly Job[], removedIds: readonly string[] = []): void {
  const details = queryClient.getQueryCache().findAll({ queryKey: jobKeys.details() });
  if (details.length === 0) return;
  const latest = new Map(jobs.map((job) => [job.id, job]));
  const removed = new Set(removedIds);
  for (const query of details) {
    const id = query.queryKey[2];
    if (typeof id !== 'string') continue;
    if (removed.has(id)) queryClient.setQueryData<Job | null>(jobKeys.detail(id), null);
    else if (latest.has(id)) queryClient.setQueryData<Job | null>(jobKeys.detail(id), latest.get(id));
  }
}
