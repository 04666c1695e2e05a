import type { Metrics } from '../../metrics.js';
import type { JobStore } from '../../store/job-store.js';
import { Refusal } from './refusal.js';
import { StoreCount } from './store-count.js';

/** Pending jobs leave as they fall due: a few seconds is a fair first guess for a retry. */
const RETRY_AFTER_MS = 5_000;

/**
 * MAX_PENDING_JOBS: jobs pending or running, past which creates get 503. Counted as StoreCount
 * counts: the last count from the store, refreshed in the background, plus the creates in flight.
 * Other API processes' creates show up at the next refresh: across a fleet the cap may be passed by
 * what they create in about a second.
 */
export class PendingCap {
  private readonly count: StoreCount;

  constructor(
    store: Pick<JobStore, 'countJobs'>,
    private readonly max: number,
    private readonly metrics: Pick<Metrics, 'requestsRefused'>,
  ) {
    this.count = new StoreCount(async () => {
      const counts = await store.countJobs();
      return counts.pending + counts.running;
    });
  }

  refresh(): Promise<void> {
    return this.count.refresh();
  }

  /** Runs `create` if the cap has room (else throws a 503 Refusal), counting it from admission. */
  admit<T extends { created: boolean }>(create: () => Promise<T>): Promise<T> {
    if (this.count.current() >= this.max) {
      this.metrics.requestsRefused.inc({ reason: 'pending_cap' });
      throw new Refusal(503, `The server holds as many pending jobs as it takes (${this.max}); try again shortly.`, RETRY_AFTER_MS);
    }
    return this.count.counting(create);
  }
}
