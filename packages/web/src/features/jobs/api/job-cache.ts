import type { InfiniteData } from '@tanstack/react-query';
import type { Job, JobStatus } from '@simmer/contracts';
import { furtherAlong } from '../job-progress';

export interface JobsPage {
  jobs: Job[];
  /** Cursor for the next (older) page, from the `Link: rel="next"` header; null on the last page. */
  nextCursor: string | null;
}

export type JobsPages = InfiniteData<JobsPage, string | null>;

/**
 * Of two views of the same job, the newer: the one of the later change (`seq`), whatever order they
 * arrived in, so a late answer never undoes a newer event and every move the server reports shows,
 * backwards ones included (`running → pending`, a claim given back; a retry). A view without a
 * number (from a server older than the field) is ordered by its attempts and the state machine.
 */
export function newerView(current: Job, incoming: Job): Job {
  if (incoming === current) return current;
  if (typeof current.seq === 'number' && typeof incoming.seq === 'number') return incoming.seq > current.seq ? incoming : current;
  return furtherAlong(current, incoming);
}

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
    pending.set(job.id, seen ? newerView(seen, job) : job);
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
      const next = newerView(job, change);
      if (next !== job) changed = true;
      if (filter === null || next.status === filter) jobs.push(next);
      else changed = true;
    }
    return jobs.length === page.jobs.length && jobs.every((job, i) => job === page.jobs[i]) ? page : { ...page, jobs };
  });

  // New to this list: each goes to the first page holding an older job, at its place (one merge per
  // page, so a burst of new jobs costs one pass, not one copy of the page each).
  const inserts = [...pending.values()].filter((job) => filter === null || job.status === filter).sort((a, b) => (a.id < b.id ? 1 : -1));
  let next = 0;
  for (let p = 0; p < pages.length && next < inserts.length; p++) {
    const page = pages[p]!;
    const oldest = page.jobs.at(-1);
    if (!oldest || !isNewer(inserts[next]!, oldest)) continue;
    const jobs: Job[] = [];
    for (const listed of page.jobs) {
      while (next < inserts.length && isNewer(inserts[next]!, listed)) jobs.push(inserts[next++]!);
      jobs.push(listed);
    }
    pages[p] = { ...page, jobs };
    changed = true;
  }
  // Older than everything loaded: they belong on a page not fetched yet, unless this is the end.
  const hasMore = (data.pages.at(-1)?.nextCursor ?? null) !== null;
  if (next < inserts.length && !hasMore && pages.length > 0) {
    const last = pages.length - 1;
    const page = pages[last]!;
    pages[last] = { ...page, jobs: [...page.jobs, ...inserts.slice(next)] };
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
