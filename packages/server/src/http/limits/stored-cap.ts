import type { Clock } from '../../clock.js';
import type { Metrics } from '../../metrics.js';
import type { JobStore } from '../../store/job-store.js';
import { Refusal } from './refusal.js';
import { StoreCount } from './store-count.js';

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
 * Retry-After. Counted as StoreCount counts: the last count from the store, refreshed in the
 * background, plus the creates in flight. In scale-out mode each API
 * process trims as it finds the store full; their removals are safe together.
 */
export class StoredCap {
  /** Jobs in the store, as last counted (plus the creates that finished since), and the creates in flight. */
  private readonly count: StoreCount;
  private trimming: Promise<void> | null = null;

  constructor(
    private readonly store: Pick<JobStore, 'countJobs' | 'removeSettledJobs'>,
    private readonly max: number,
    private readonly clock: Clock,
    private readonly metrics: Pick<Metrics, 'requestsRefused'>,
  ) {
    this.count = new StoreCount(async () => total(await store.countJobs()));
  }

  refresh(): Promise<void> {
    return this.count.refresh();
  }

  /** Runs `create` once the store has room (made by removing old settled jobs if need be), else throws a 503 Refusal. */
  async admit<T extends { created: boolean }>(create: () => Promise<T>): Promise<T> {
    while (this.count.current() >= this.max) {
      const before = this.count.value;
      await (this.trimming ??= this.trim().finally(() => (this.trimming = null)));
      // The trim found nothing to remove, and the creates in flight hold what room there is.
      if (this.count.value >= before && this.count.value + this.count.inFlight >= this.max) {
        this.metrics.requestsRefused.inc({ reason: 'stored_cap' });
        throw new Refusal(
          503,
          `The server keeps at most ${this.max} jobs and all it holds are pending or running; try again shortly.`,
          RETRY_AFTER_MS,
        );
      }
    }
    return this.count.counting(create);
  }

  /** Removes the oldest settled jobs: down to 1 % under the cap, TRIM_BATCH at most. */
  private async trim(): Promise<void> {
    const counts = await this.store.countJobs();
    const stored = total(counts);
    const room = Math.max(1, Math.floor(this.max / 100));
    const excess = stored - this.max + room;
    const removed =
      excess > 0
        ? await this.store.removeSettledJobs({ resolvedBefore: this.clock.now() + ANY_AGE_MS, limit: Math.min(excess, TRIM_BATCH) })
        : 0;
    const settled = stored - counts.pending - counts.running - removed;
    // Removed nothing although settled jobs are left: another process's sweep holds them (PostgreSQL); it makes the room.
    this.count.value = removed === 0 && settled > 0 ? Math.min(stored, Math.max(0, this.max - 1 - this.count.inFlight)) : stored - removed;
  }
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}
