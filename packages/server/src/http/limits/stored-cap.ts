import type { Clock } from '../../clock.js';
import type { Metrics } from '../../metrics.js';
import type { JobStore } from '../../store/job-store.js';
import { Refusal } from './refusal.js';

/** How old the count may be before a create asks for a fresh one (in the background). */
const REFRESH_AFTER_MS = 1_000;
/** Pending jobs settle as they fall due, and then make room: a few seconds is a fair first guess. */
const RETRY_AFTER_MS = 5_000;
/** Removals per trim at most: one commit, as one retention batch. */
const TRIM_BATCH = 500;
/** Settled jobs of any age are taken, oldest first: a job settled by a worker whose clock runs ahead included. */
const ANY_AGE_MS = 100 * 365 * 24 * 3600_000;

/**
 * MAX_STORED_JOBS: jobs kept, of any status. A create that finds the store full first makes room
 * by removing the oldest settled jobs early, through the store's retention removal (each one an
 * `event: removed`, as when JOB_RETENTION_MS takes it), a hundredth of the cap at a time so that
 * the creates after it find room; when only pending and running jobs are left, it gets 503 with
 * Retry-After. The count is kept as PendingCap keeps its own: refreshed in the background when
 * older than a second, and taken by each create as it is admitted. In scale-out mode each API
 * process trims as it finds the store full; their removals are safe together.
 */
export class StoredCap {
  /** Jobs in the store, as last counted (plus the creates that finished since). */
  private stored = 0;
  /** Creates admitted and not yet finished: not in the store's count yet. */
  private inFlight = 0;
  private countedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;
  private trimming: Promise<void> | null = null;

  constructor(
    private readonly store: Pick<JobStore, 'countJobs' | 'removeSettledJobs'>,
    private readonly max: number,
    private readonly clock: Clock,
    private readonly metrics: Pick<Metrics, 'requestsRefused'>,
  ) {}

  /** Reads the count now; call once before serving, so the first creates are judged on a real count. */
  async refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const startedAt = Date.now();
      try {
        const counts = await this.store.countJobs();
        this.stored = Object.values(counts).reduce((sum, n) => sum + n, 0);
        this.countedAt = startedAt;
      } catch {
        // The store is away: the create itself will say so; keep judging on the last count.
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** Runs `create` once the store has room (made by removing old settled jobs if need be), else throws a 503 Refusal. */
  async admit<T extends { created: boolean }>(create: () => Promise<T>): Promise<T> {
    if (Date.now() - this.countedAt > REFRESH_AFTER_MS) void this.refresh();
    while (this.stored + this.inFlight >= this.max) {
      const before = this.stored;
      await (this.trimming ??= this.trim().finally(() => (this.trimming = null)));
      // The trim found nothing to remove, and the creates in flight hold what room there is.
      if (this.stored >= before && this.stored + this.inFlight >= this.max) {
        this.metrics.requestsRefused.inc({ reason: 'stored_cap' });
        throw new Refusal(
          503,
          `The server keeps at most ${this.max} jobs and all it holds are pending or running; try again shortly.`,
          RETRY_AFTER_MS,
        );
      }
    }
    this.inFlight += 1;
    try {
      const outcome = await create();
      if (outcome.created) this.stored += 1;
      return outcome;
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Removes the oldest settled jobs: down to 1 % under the cap, TRIM_BATCH at most. */
  private async trim(): Promise<void> {
    const counts = await this.store.countJobs();
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    const room = Math.max(1, Math.floor(this.max / 100));
    const excess = total - this.max + room;
    const removed =
      excess > 0
        ? await this.store.removeSettledJobs({ resolvedBefore: this.clock.now() + ANY_AGE_MS, limit: Math.min(excess, TRIM_BATCH) })
        : 0;
    const settled = total - counts.pending - counts.running - removed;
    // Removed nothing although settled jobs are left: another process's sweep holds them (PostgreSQL); it makes the room.
    this.stored = removed === 0 && settled > 0 ? Math.min(total, Math.max(0, this.max - 1 - this.inFlight)) : total - removed;
  }
}
