import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';
import type { Job } from '@simmer/contracts';
import { LIST_LIMIT_DEFAULT, type JobStatus } from '@simmer/contracts/constants';
import { apiRequest } from '../../../lib/api-client';
import { nextCursorFromLink } from '../../../lib/link-header';
import { useJobsRuntime } from '../runtime/jobs-runtime';
import type { KnownJobs } from '../runtime/known-jobs';
import type { JobsPage } from './job-cache';
import { jobKeys } from './job-keys';

export const JOBS_PAGE_SIZE = LIST_LIMIT_DEFAULT;

export interface ListJobsParams {
  status: JobStatus | null;
  cursor: string | null;
  /** Every job seen so far, so a page never shows an older view of a job than the page already has. */
  knownJobs: KnownJobs;
  limit?: number;
  signal?: AbortSignal;
}

/** `GET /jobs`: one page, newest first, with the cursor of the next page from the `Link` header. */
export async function listJobs({ status, cursor, knownJobs, limit = JOBS_PAGE_SIZE, signal }: ListJobsParams): Promise<JobsPage> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (status) query.set('status', status);
  if (cursor) query.set('cursor', cursor);
  const mark = knownJobs.mark();
  const { data, response } = await apiRequest<Job[]>(`/jobs?${query}`, signal ? { signal } : {});
  // A page fetched before a live event landed must not undo it: keep whichever view is later.
  const jobs = data
    .filter((job) => !knownJobs.isRemoved(job.id))
    .map((job) => knownJobs.rememberSnapshot(job, mark))
    .filter((job) => status === null || job.status === status);
  return { jobs, nextCursor: nextCursorFromLink(response.headers.get('Link')) };
}

export const jobsListQueryOptions = (status: JobStatus | null, knownJobs: KnownJobs) =>
  infiniteQueryOptions({
    queryKey: jobKeys.list(status),
    queryFn: ({ pageParam, signal }) => listJobs({ status, cursor: pageParam, knownJobs, signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    // The live stream keeps lists current; a reconnect replays what was missed instead of refetching every page.
    staleTime: Infinity,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
    // Every view in a list is already shared: applyJobChanges keeps each unchanged job (and page) as
    // it was, and a fetched page takes each job's view from KnownJobs. TanStack's deep comparison on
    // every write walked every loaded job of every list instead: the page's costliest script in a
    // storm (a third of it, profiled).
    structuralSharing: false,
  });

export function useJobsList(status: JobStatus | null, enabled: boolean) {
  const { knownJobs } = useJobsRuntime();
  return useInfiniteQuery({ ...jobsListQueryOptions(status, knownJobs), enabled });
}
