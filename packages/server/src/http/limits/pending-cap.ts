import type { Metrics } from '../../metrics.js';
import type { JobStore } from '../../store/job-store.js';
import { Refusal } from './refusal.js';

/** How old the count may be before a create asks for a fresh one (in the background). */
const REFRESH_AFTER_MS = 1_000;
/** Pending jobs leave as they fall due: a few seconds is a fair first guess for a retry. */
const RETRY_AFTER_MS = 5_000;

/**
 * MAX_PENDING_JOBS: jobs pending or running, past which creates get 503. The count comes from
 * `store.countJobs()`, which on PostgreSQL is a query, so it is not read per create: the last
 * count is kept, refreshed in the background when older than a second, and a create takes its
 * place in it as it is admitted (a replay or a failed create gives it back), so creates in flight
 * together (group commit puts hundreds behind one fsync) cannot pass the cap. Other API processes'
 * creates show up at the next refresh: across a fleet the cap may be passed by what they create
 * in about a second.
 */
export class PendingCap {
  private count = 0;
  private countedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly store: Pick<JobStore, 'countJobs'>,
    private readonly max: number,
    private readonly metrics: Pick<Metrics, 'requestsRefused'>,
  ) {}

  /** Reads the count now; call once before serving, so the first creates are judged on a real count. */
  async refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const startedAt = Date.now();
      try {
        const counts = await this.store.countJobs();
        this.count = counts.pending + counts.running;
        this.countedAt = startedAt;
      } catch {
        // The store is away: the create itself will say so; keep judging on the last count.
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** Runs `create` if the cap has room (else throws a 503 Refusal), counting it from admission. */
  async admit<T extends { created: boolean }>(create: () => Promise<T>): Promise<T> {
    if (Date.now() - this.countedAt > REFRESH_AFTER_MS) void this.refresh();
    if (this.count >= this.max) {
      this.metrics.requestsRefused.inc({ reason: 'pending_cap' });
      throw new Refusal(503, `The server holds as many pending jobs as it takes (${this.max}); try again shortly.`, RETRY_AFTER_MS);
    }
    this.count += 1;
    try {
      const outcome = await create();
      if (!outcome.created) this.count -= 1;
      return outcome;
    } catch (error) {
      this.count -= 1;
      throw error;
    }
  }
}
