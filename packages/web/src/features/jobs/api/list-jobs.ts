import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';
import type { Job, JobStatus } from '@simmer/contracts';
import { apiRequest } from '../../../lib/api-client';
import { nextCursorFromLink } from '../../../lib/link-header';
import { knownJobs } from './known-jobs';
import type { JobsPage } from './job-cache';

export const JOBS_PAGE_SIZE = 100;

export interface ListJobsParams {
  status: JobStatus | null;
  cursor: string | null;
  limit?: number;
  signal?: AbortSignal;
}

/** `GET /jobs`: one page, newest first, with the cursor of the next page from the `Link` header. */
export async function listJobs({ status, cursor, limit = JOBS_PAGE_SIZE, signal }: ListJobsParams): Promise<JobsPage> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (status) query.set('status', status);
  if (cursor) query.set('cursor', cursor);
  const { data, response } = await apiRequest<Job[]>(`/jobs?${query}`, signal ? { signal } : {});
  // A page fetched before a live event landed must not undo it: keep whichever view is further along.
  const jobs = data
    .filter((job) => !knownJobs.isRemoved(job.id))
    .map((job) => knownJobs.remember(job))
    .filter((job) => status === null || job.status === status);
  return { jobs, nextCursor: nextCursorFromLink(response.headers.get('Link')) };
}

export const jobsListKey = (status: JobStatus | null) => ['jobs', 'list', status ?? 'all'] as const;

export function filterOfListKey(key: readonly unknown[]): JobStatus | null | undefined {
  if (key[0] !== 'jobs' || key[1] !== 'list') return undefined;
  return key[2] === 'all' ? null : (key[2] as JobStatus);
}

export const jobsListQueryOptions = (status: JobStatus | null) =>
  infiniteQueryOptions({
    queryKey: jobsListKey(status),
    queryFn: ({ pageParam, signal }) => listJobs({ status, cursor: pageParam, signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    // The live stream keeps lists current; a reconnect replays what was missed instead of refetching every page.
    staleTime: Infinity,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
  });

export function useJobsList(status: JobStatus | null, enabled: boolean) {
  return useInfiniteQuery({ ...jobsListQueryOptions(status), enabled });
}
