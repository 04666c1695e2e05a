import type { InfiniteData } from '@tanstack/react-query';
import type { Job, JobStatus } from '@simmer/contracts';
import { furtherAlong } from '../job-progress';

export interface JobsPage {
  jobs: Job[];
  /** Cursor for the next (older) page, from the `Link: rel="next"` header; null on the last page. */
  nextCursor: string | null;
}

export type JobsPages = InfiniteData<JobsPage, string | null>;

/** Newest first: ids are UUIDv7, so their lexical order is their creation order. */
export function isNewer(a: Job, b: Job): boolean {
  return a.id > b.id;
}

/**
 * Applies job changes (from the live stream or a create) to one cached list, in place of a refetch.
 * A job already listed is replaced (or dropped when it no longer matches `filter`); a job not listed
 * is inserted at its place when that place is inside the loaded range, or left for a later page.
 * Returns `data` itself when nothing changed, so subscribers do not re-render.
 */
export function applyJobChanges(data: JobsPages | undefined, changes: readonly Job[], filter: JobStatus | null): JobsPages | undefined {
  if (!data || changes.length === 0) return data;
  const pending = new Map<string, Job>();
  for (const job of changes) {
    const seen = pending.get(job.id);
    pending.set(job.id, seen ? furtherAlong(seen, job) : job);
  }
  let changed = false;
  const pages = data.pages.map((page) => {
    if (!page.jobs.some((job) => pending.has(job.id))) return page;
    const jobs: Job[] = [];
    for (const job of page.jobs) {
      const change = pending.get(job.id);
      if (!change) {
        jobs.push(job);
        continue;
      }
      pending.delete(job.id);
      const next = furtherAlong(job, change);
      if (next !== job) changed = true;
      if (filter === null || next.status === filter) jobs.push(next);
      else changed = true;
    }
    return jobs.length === page.jobs.length && jobs.every((job, i) => job === page.jobs[i]) ? page : { ...page, jobs };
  });

  const inserts = [...pending.values()].filter((job) => filter === null || job.status === filter).sort((a, b) => (a.id < b.id ? 1 : -1));
  const hasMore = (data.pages.at(-1)?.nextCursor ?? null) !== null;
  for (const job of inserts) {
    const pageIndex = pages.findIndex((page) => page.jobs.some((listed) => isNewer(job, listed)));
    if (pageIndex === -1) {
      // Older than everything loaded: it belongs on a page not fetched yet, unless this is the end.
      if (hasMore || pages.length === 0) continue;
      const last = pages.length - 1;
      const page = pages[last]!;
      pages[last] = { ...page, jobs: [...page.jobs, job] };
    } else {
      const page = pages[pageIndex]!;
      const at = page.jobs.findIndex((listed) => isNewer(job, listed));
      pages[pageIndex] = { ...page, jobs: [...page.jobs.slice(0, at), job, ...page.jobs.slice(at)] };
    }
    changed = true;
  }
  return changed ? { ...data, pages } : data;
}

/**
 * Drops removed jobs (retention) from one cached list. Returns `data` itself when none of them was
 * listed, so subscribers do not re-render.
 */
export function removeJobs(data: JobsPages | undefined, ids: ReadonlySet<string>): JobsPages | undefined {
  if (!data || ids.size === 0) return data;
  let changed = false;
  const pages = data.pages.map((page) => {
    if (!page.jobs.some((job) => ids.has(job.id))) return page;
    changed = true;
    return { ...page, jobs: page.jobs.filter((job) => !ids.has(job.id)) };
  });
  return changed ? { ...data, pages } : data;
}
