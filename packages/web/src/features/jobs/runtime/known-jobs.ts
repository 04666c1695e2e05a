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
  /** Each job's latest view, and the tick at which it was learned; least recently changed first. */
  private readonly jobs = new Map<string, { job: Job; tick: number }>();
  /** Jobs the server removed (retention): a page fetched before the removal must not bring them back. */
  private readonly removed = new Set<string>();
  private tick = 0;

  constructor(private readonly limit = LIMIT) {}

  /** Records `job` and returns the newer of it and the view already known (`newerView`). */
  remember(job: Job): Job {
    const seen = this.jobs.get(job.id)?.job;
    return this.keep(seen ? newerView(seen, job) : job, seen);
  }

  /** Taken before a request whose answer is a snapshot (a list page, a search, a job): pass it to rememberSnapshot. */
  mark(): number {
    return this.tick;
  }

  /**
   * Records `job` from a snapshot requested at `mark`. A view learned since then (an event, an
   * action's answer) counts as the later arrival: where the two views alone cannot tell which is
   * newer (a job cancelled, or cancelled and retried, with the same attempts), it wins over the
   * snapshot, which may have been read before it.
   */
  rememberSnapshot(job: Job, mark: number): Job {
    const known = this.jobs.get(job.id);
    if (!known || known.tick <= mark) return this.remember(job);
    return this.keep(newerView(job, known.job), known.job);
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id)?.job;
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

  private keep(best: Job, seen: Job | undefined): Job {
    if (best === seen) return best;
    this.tick += 1;
    this.jobs.delete(best.id);
    this.jobs.set(best.id, { job: best, tick: this.tick });
    if (this.jobs.size > this.limit) {
      const oldest = this.jobs.keys().next().value;
      if (oldest !== undefined) this.jobs.delete(oldest);
    }
    return best;
  }

  /**
   * Forgets every view: after a `reset` the lists are read again from scratch, and views numbered by
   * a store that was replaced must not outrank the new store's.
   */
  clear(): void {
    this.jobs.clear();
  }
}
