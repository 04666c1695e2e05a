import type { Job } from '@simmer/contracts';
import { furtherAlong } from '../job-progress';

const LIMIT = 50_000;

/**
 * The furthest-along state seen for each job, from any source (pages, events, creates).
 * Events and page answers can arrive in any order; consulting this keeps every view monotonic.
 * One per jobs runtime (see create-jobs-runtime.ts), so each page load and each test starts empty.
 */
export class KnownJobs {
  private readonly jobs = new Map<string, Job>();
  /** Jobs the server removed (retention): a page fetched before the removal must not bring them back. */
  private readonly removed = new Set<string>();

  constructor(private readonly limit = LIMIT) {}

  /** Records `job` and returns the furthest-along view of it. */
  remember(job: Job): Job {
    const seen = this.jobs.get(job.id);
    const best = seen ? furtherAlong(seen, job) : job;
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
}
