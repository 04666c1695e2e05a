import type { Logger } from 'pino';
import { backoffDelay } from '../backoff.js';
import type { Metrics } from '../metrics.js';
import type { JobStore, Outcome, StoredJob } from '../store/job-store.js';
import { runJob, type RunJobDeps } from './run-job.js';

export interface SchedulerOptions extends RunJobDeps {
  store: JobStore;
  metrics: Metrics;
  /** At most this many jobs run at once in this process. */
  concurrency: number;
  leaseMs: number;
  /** Names this process in claims. */
  owner: string;
}

/** The longest the scheduler sleeps without looking again; a safety net should a wake-up be missed. */
const MAX_SLEEP_MS = 30_000;
/** After a store error, wait this long before trying again. */
const ERROR_RETRY_MS = 1_000;

/**
 * Runs due jobs: one timer, set for the store's next due time (or a lease that ends), plus a
 * wake-up on every commit so a new or reclaimable job is seen at once. Claims at most as many
 * jobs as it has free slots; each claim is held under a lease that is renewed while the job runs.
 */
export class Scheduler {
  private readonly running = new Map<string, { stop: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private wakeAgain = false;
  private stopped = true;
  private unsubscribe: (() => void) | null = null;
  private readonly logger: Logger;

  constructor(private readonly options: SchedulerOptions) {
    this.logger = options.logger.child({ component: 'scheduler' });
  }

  get runningCount(): number {
    return this.running.size;
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.options.store.onCommit(() => this.wake());
    this.wake();
  }

  /** Looks for due jobs now (coalesced: at most one look at a time, plus one more if asked meanwhile). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.wakeAgain = true;
      return;
    }
    void this.tick();
  }

  /**
   * Stops claiming, lets running jobs finish for up to `graceMs`, then abandons the rest: their
   * claims stay in the store and are taken again (at once by the next file-store process, or
   * when the lease ends for PostgreSQL workers).
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    const all = Promise.all([...this.running.values()].map((run) => run.done));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([all, grace]);
    for (const run of this.running.values()) run.stop.abort(new Error('shutting down'));
    await all;
  }

  private async tick(): Promise<void> {
    const { store, clock } = this.options;
    this.ticking = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let sleepMs: number | null;
    try {
      do {
        this.wakeAgain = false;
        const free = this.options.concurrency - this.running.size;
        if (free > 0) {
          const claimed = await store.claimDueJobs({
            now: clock.now(),
            limit: free,
            leaseMs: this.options.leaseMs,
            owner: this.options.owner,
          });
          for (const job of claimed) this.start1(job);
          if (claimed.length === free) this.wakeAgain = true;
        }
      } while (this.wakeAgain && !this.stopped && this.running.size < this.options.concurrency);
      const next = await store.nextWakeAt();
      sleepMs = next === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, next - clock.now()));
    } catch (error) {
      this.logger.error({ err: error }, 'could not claim jobs; retrying');
      sleepMs = ERROR_RETRY_MS;
    } finally {
      this.ticking = false;
    }
    if (this.stopped) return;
    // With every slot busy, a finishing job wakes us; there is nothing to wait for until then.
    if (this.running.size >= this.options.concurrency) return;
    if (this.wakeAgain) {
      this.wake();
      return;
    }
    this.timer = setTimeout(() => this.wake(), sleepMs);
  }

  private start1(job: StoredJob): void {
    const stop = new AbortController();
    const done = this.run(job, stop).finally(() => {
      this.running.delete(job.id);
      this.wake();
    });
    this.running.set(job.id, { stop, done });
  }

  private async run(job: StoredJob, stop: AbortController): Promise<void> {
    const { store, clock, metrics, leaseMs } = this.options;
    const logger = this.logger.child({ jobId: job.id, attempt: job.attempts });
    const token = job.claimToken!;
    metrics.runLateness.observe(Math.max(0, clock.now() - job.runAt) / 1000);

    const renewal = setInterval(() => {
      store.renewLease(job.id, token, clock.now() + leaseMs).then(
        (held) => {
          if (!held) stop.abort(new Error('claim lost'));
        },
        (error: unknown) => logger.warn({ err: error }, 'could not renew the lease; will try again'),
      );
    }, leaseMs / 3);
    try {
      const outcome = await runJob(job, { ...this.options, logger }, stop.signal);
      if (outcome) await this.settle(job, token, outcome, stop.signal, logger);
    } finally {
      clearInterval(renewal);
    }
  }

  /** Writes the outcome, retrying while the store is unreachable and the claim may still hold. */
  private async settle(job: StoredJob, token: string, outcome: Outcome, stop: AbortSignal, logger: Logger): Promise<void> {
    const { store, metrics } = this.options;
    for (let attempt = 0; !stop.aborted; attempt++) {
      try {
        const settled = await store.settleJob(job.id, token, outcome);
        if (settled) {
          metrics.jobsSettled.inc({ status: settled.status });
          logger.debug({ status: settled.status }, 'job settled');
        } else {
          logger.info('claim lost before the outcome was written; the job will run again elsewhere');
        }
        return;
      } catch (error) {
        logger.warn({ err: error, attempt }, 'could not write the outcome; retrying');
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, { baseMs: 200, maxMs: 5_000 })));
      }
    }
  }
}
