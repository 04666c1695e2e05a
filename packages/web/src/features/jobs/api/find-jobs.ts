import { queryOptions, useQuery } from '@tanstack/react-query';
import type { Job } from '@simmer/contracts';
import { apiRequest } from '../../../lib/api-client';
import { shortId } from '../../../lib/format';
import { useJobsRuntime } from '../runtime/jobs-runtime';
import type { KnownJobs } from '../runtime/known-jobs';
import { jobKeys } from './job-keys';

/**
 * `GET /jobs?q=`: the job whose full id is `query`, or the jobs whose short id (the last six hex
 * digits, as cards show it) is `query`, whether or not their cards are loaded.
 */
export async function findJobs(query: string, knownJobs: KnownJobs, signal?: AbortSignal): Promise<Job[]> {
  const mark = knownJobs.mark();
  const { data } = await apiRequest<Job[]>(`/jobs?${new URLSearchParams({ q: query })}`, signal ? { signal } : {});
  // Only what the query names, whatever the server sends (one that does not know `q` answers with every job).
  return data
    .filter((job) => (job.id === query || shortId(job.id) === query) && !knownJobs.isRemoved(job.id))
    .map((job) => knownJobs.rememberSnapshot(job, mark));
}

export const findJobsQueryOptions = (query: string, knownJobs: KnownJobs) =>
  queryOptions({
    queryKey: jobKeys.search(query),
    queryFn: ({ signal }) => findJobs(query, knownJobs, signal),
    // Each search asks the server again: a job may have been made or removed since the last.
    staleTime: 0,
    gcTime: 60_000,
  });

/** The jobs `query` names; nothing is asked while `query` is null (no search made yet). */
export function useFindJobs(query: string | null) {
  const { knownJobs } = useJobsRuntime();
  return useQuery({ ...findJobsQueryOptions(query ?? '', knownJobs), enabled: query !== null });
}
