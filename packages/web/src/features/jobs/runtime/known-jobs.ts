import type { Job } from '@simmer/contracts';
import { newerView } from '../api/job-cache';

const LIMIT = 50_000;

/**
 * The newest view seen of each job (the one of its latest change, by `seq`), from any source (pages,
 * events, creates). Events and page answers can arrive in any order; consulting this keeps every view
 * at the server's latest.
 * One per jobs runtime (see create-jobs-runtime.ts), so each page load and each test starts empty.
 */
export class KnownJobs {
  private readonly jobs = new Map<string, Job>();
  /** Jobs the server removed (retention): a page fetched before the removal must not bring them back. */
  private readonly removed = new Set<string>();

  constructor(private readonly limit = LIMIT) {}

  /** Records `job` and returns the newest view of it. */
  remember(job: Job): Job {
    const seen = this.jobs.get(job.id);
    const best = seen ? newerView(seen, job) : job;
    if (best !== seen) {
      this.jobs.delete(job.id);
      this.jobs.set(job.id, best);
      if (this.jobs.size > this.limit) {
        const oldest = this.jobs.keys().next().value;
        if (oldest !== undefined) this.jobs.delete(oldest);
      }
    }
    return best;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** The server removed this job for good. */
  forget(id: string): void {
    this.jobs.delete(id);
    this.removed.add(id);
    if (this.removed.size > this.limit) {
      const oldest = this.removed.values().next().value;
      if (oldest !== undefined) this.removed.delete(oldest);
    }
  }

  isRemoved(id: string): boolean {
    return this.removed.has(id);
  }

  /**
   * Forgets every view: after a `reset` the lists are read again from scratch, and views numbered by
   * a store that was replaced must not outrank the new store's.
   */
  clear(): void {
    this.jobs.clear();
  }
}
