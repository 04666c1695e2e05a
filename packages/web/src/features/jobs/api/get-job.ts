import { queryOptions, useQuery } from '@tanstack/react-query';
import type { Job } from '@simmer/contracts';
import { ApiError, apiRequest } from '../../../lib/api-client';
import { useJobsRuntime } from '../runtime/jobs-runtime';
import type { KnownJobs } from '../runtime/known-jobs';
import { jobKeys } from './job-keys';

/** `GET /jobs/{id}`: one job, or null when there is none (never was, deleted, or removed by retention). */
export async function getJob(id: string, knownJobs: KnownJobs, signal?: AbortSignal): Promise<Job | null> {
  const mark = knownJobs.mark();
  try {
    const { data } = await apiRequest<Job>(`/jobs/${encodeURIComponent(id)}`, signal ? { signal } : {});
    return knownJobs.rememberSnapshot(data, mark);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) return null;
    throw error;
  }
}

export const jobQueryOptions = (id: string, knownJobs: KnownJobs) =>
  queryOptions({
    queryKey: jobKeys.detail(id),
    queryFn: ({ signal }) => getJob(id, knownJobs, signal),
    // Opened once from the server; the live stream keeps it current after that (job-detail-cache.ts).
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });

/** One job, shown at once from what the page already knows of it while the server's answer comes. */
export function useJob(id: string | null) {
  const { knownJobs } = useJobsRuntime();
  return useQuery({
    ...jobQueryOptions(id ?? '', knownJobs),
    enabled: id !== null,
    placeholderData: () => (id === null ? undefined : knownJobs.get(id)),
  });
}
