import type { Logger } from 'pino';
import { backoffDelay } from '@simmer/contracts/backoff';
import { sleep, type Timer } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { JobStore, Outcome, StoredJob } from '../store/job-store.js';
import { LeaseKeeper } from './lease-keeper.js';
import { runJob, type RunJobDeps } from './run-job.js';

export interface SchedulerOptions extends RunJobDeps {
  store: JobStore;
  metrics: Metrics;
  /** At most this many jobs run at once in this process. */
  concurrency: number;
  /**
   * Claims taken ahead into a local queue beyond the running ones (default 0), so a finishing job's
   * slot is filled without waiting for the store. Worth it when the store is a round trip away.
   */
  prefetch?: number;
  /**
   * Outcomes that may wait to be written while their slots already run the next jobs (default:
   * concurrency): past it, no job starts until writes catch up, so a store that cannot be written
   * (an outage) does not have more photos taken for outcomes that may be lost with their lease.
   */
  maxUnsettled?: number;
  leaseMs: number;
  /** Names this process in claims. */
  owner: string;
}

/** The longest the scheduler sleeps without looking again; a safety net should a wake-up be missed. */
const MAX_SLEEP_MS = 30_000;
/** After a store error, wait this long before trying again. */
const ERROR_RETRY_MS = 1_000;

interface Run {
  job: StoredJob;
  stop: AbortController;
  /** False once the job has its outcome and only the write is left: its slot is free then. */
  inSlot: boolean;
  /** Settles when the job has run and its outcome is written (or abandoned). */
  done: Promise<void>;
}

/**
 * Runs due jobs. Claims (one claim statement at a time, as many jobs as it has room for) go into
 * a local queue; jobs start from the queue as slots free up; a job frees its slot when it has its
 * outcome, and the outcome is written meanwhile (outcomes that end together share a write, and a
 * slot never waits on the store; at most `maxUnsettled` wait, and the lease is kept until the
 * write lands). It looks for jobs when the store says jobs became
 * due (at once, or with a timer for their runAt), when a slot frees up, and when a claim came back
 * short (then at the store's next due time); never by polling.
 *
 * Stopping, in order: no more claims; a claim in flight lands and is given back with the queue;
 * running jobs finish (up to a grace) and their outcomes are written; the rest are abandoned to
 * their lease. Only then does `stop` resolve: the store may be closed after it, not before.
 */
export class Scheduler {
  /** Claims waiting for a slot, oldest first. */
  private readonly queue: { job: StoredJob; queuedAt: number }[] = [];
  /** Every started job until its outcome is written: in a slot, or waiting for its write. */
  private readonly running = new Map<string, Run>();
  private inSlots = 0;
  private claiming: Promise<void> | null = null;
  /**
   * Set when queued claims were given back for waiting too long (every slot is busy with long
   * jobs): claiming ahead waits until a slot frees, or the same claims would come straight back
   * here instead of going to a worker with room.
   */
  private prefetchHeld = false;
  private claimAgain = false;
  private timer: Timer | null = null;
  private timerAt = Infinity;
  private stopped = true;
  private unsubscribe: (() => void) | null = null;
  private unsubscribeClaimsEnded: (() => void) | null = null;
  private readonly logger: Logger;
  private readonly leases: LeaseKeeper;
  private readonly prefetch: number;
  private readonly maxUnsettled: number;

  constructor(private readonly options: SchedulerOptions) {
    this.logger = options.logger.child({ component: 'scheduler' });
    this.prefetch = options.prefetch ?? 0;
    this.maxUnsettled = options.maxUnsettled ?? options.concurrency;
    this.leases = new LeaseKeeper({ ...options, logger: this.logger, beforeRound: () => this.releaseStale() });
  }

  /** Jobs running in a slot now (at most `concurrency`). */
  get runningCount(): number {
    return this.inSlots;
  }

  /** Jobs with an outcome not yet written. */
  get unsettledCount(): number {
    return this.running.size - this.inSlots;
  }

  /**
   * Starts looking for due jobs. Resolves once the first look is over and the jobs it started have
   * their outcomes written (or were given up): a process may hold back work that would block its
   * event loop until then.
   */
  start(): Promise<void> {
    const { store } = this.options;
    this.stopped = false;
    this.unsubscribe = store.onJobsDue((runAt) => this.dueAt(runAt));
    // A cancel or a delete ended a claim this process may hold: its work stops now, its outcome unwritten.
    this.unsubscribeClaimsEnded = store.onClaimsEnded((claims) => {
      for (const claim of claims) this.ended(claim.id, claim.claimToken);
    });
    this.leases.start();
    this.wake();
    return (this.claiming ?? Promise.resolve()).then(async () => {
      await Promise.allSettled([...this.running.values()].map((run) => run.done));
    });
  }

  /** Looks for due jobs now (one claim at a time, plus one more if asked meanwhile). */
  wake(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = this.claim().finally(() => {
      this.claiming = null;
    });
  }

  /** Stops (see the class comment); running jobs get `graceMs` on the clock to finish, none with 0. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.clearTimer();
    await this.claiming; // its jobs land in the queue, given back below
    await this.giveBack(this.queue.splice(0).map(({ job }) => job));
    const all = Promise.all([...this.running.values()].map((run) => run.done));
    if (graceMs > 0 && this.running.size > 0) {
      // A timer that holds the process open: a job waiting on an unref'd timer (a retry's backoff)
      // would otherwise let the event loop empty and the process end before its outcome is written.
      let graceTimer: Timer | undefined;
      const grace = new Promise<void>((resolve) => (graceTimer = this.options.clock.setTimeout(resolve, graceMs)));
      await Promise.race([all, grace]);
      graceTimer?.cancel();
    }
    for (const run of this.running.values()) run.stop.abort(new Error('shutting down'));
    await all;
    this.unsubscribeClaimsEnded?.();
    await this.leases.stop();
  }

  private dueAt(runAt: number): void {
    const wait = runAt - this.options.clock.now();
    if (wait <= 0) this.wake();
    else this.wakeAt(runAt);
  }

  private wakeAt(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = this.options.clock.setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Infinity;
        this.wake();
      },
      Math.max(0, at - this.options.clock.now()),
    );
  }

  private clearTimer(): void {
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
  }

  private async claim(): Promise<void> {
    const { store, clock, concurrency, leaseMs, owner } = this.options;
    try {
      for (;;) {
        this.claimAgain = false;
        const prefetch = this.prefetchHeld ? 0 : this.prefetch;
        const room = Math.min(
          concurrency + prefetch - this.inSlots - this.queue.length,
          concurrency + prefetch + this.maxUnsettled - this.running.size - this.queue.length,
        );
        if (room <= 0) return; // a finishing job wakes us
        // While the local queue still feeds the slots, wait for room for a real batch: one claim
        // statement for many jobs costs the database far less than many claims for a few.
        if (this.queue.length > 0 && room < this.prefetch / 2) return;
        const claimed = await store.claimDueJobs({ now: clock.now(), limit: room, leaseMs, owner });
        if (this.stopped) {
          await this.giveBack(claimed);
          return;
        }
        this.enqueue(claimed);
        if (claimed.length === room || this.claimAgain) continue;
        // Nothing more is due now: sleep until the next job falls due (or a lease ends).
        const next = await store.nextWakeAt();
        if (this.claimAgain) continue;
        this.wakeAt(Math.min(next ?? Infinity, clock.now() + MAX_SLEEP_MS));
        return;
      }
    } catch (error) {
      this.logger.error({ err: error }, 'could not claim jobs; retrying');
      this.wakeAt(clock.now() + ERROR_RETRY_MS);
    }
  }

  private enqueue(jobs: StoredJob[]): void {
    const now = this.options.clock.now();
    for (const job of jobs) {
      this.queue.push({ job, queuedAt: now });
      this.leases.hold(job.id, job.claimToken!, () => this.lost(job.id));
    }
    this.startQueued();
  }

  private startQueued(): void {
    while (
      !this.stopped &&
      this.inSlots < this.options.concurrency &&
      this.running.size - this.inSlots < this.maxUnsettled &&
      this.queue.length > 0
    ) {
      this.start1(this.queue.shift()!.job);
    }
  }

  private start1(job: StoredJob): void {
    const stop = new AbortController();
    const run: Run = { job, stop, inSlot: true, done: Promise.resolve() };
    this.running.set(job.id, run);
    this.inSlots += 1;
    run.done = this.run(run).finally(() => {
      this.leaveSlot(run);
      this.leases.release(job.id);
      if (this.running.get(job.id) === run) this.running.delete(job.id);
      this.startQueued();
      this.wake();
    });
  }

  private async run(run: Run): Promise<void> {
    const { job, stop } = run;
    const { clock, metrics } = this.options;
    const logger = this.logger.child({ jobId: job.id, attempt: job.attempts });
    metrics.runLateness.observe(Math.max(0, clock.now() - job.runAt) / 1000);
    const outcome = await runJob(job, { ...this.options, logger }, stop.signal);
    // The slot takes the next job while this outcome is written.
    this.leaveSlot(run);
    this.startQueued();
    this.wake();
    if (outcome) await this.settle(job, outcome, stop.signal, logger);
  }

  private leaveSlot(run: Run): void {
    if (!run.inSlot) return;
    run.inSlot = false;
    this.inSlots -= 1;
    this.prefetchHeld = false;
  }

  /** Writes the outcome, retrying while the store is unreachable and the claim may still hold. */
  private async settle(job: StoredJob, outcome: Outcome, stop: AbortSignal, logger: Logger): Promise<void> {
    const { store, metrics, clock } = this.options;
    // `retry`, not `attempt`: the job's logger already names the job's attempt.
    for (let retry = 0; !stop.aborted; retry++) {
      try {
        const settled = await store.settleJob(job.id, job.claimToken!, outcome);
        if (settled) {
          metrics.jobsSettled.inc({ status: settled.status });
          logger.debug({ status: settled.status }, 'job settled');
        } else {
          logger.info('claim lost before the outcome was written; the job will run again elsewhere');
        }
        return;
      } catch (error) {
        logger.warn({ err: error, retry }, 'could not write the outcome; retrying');
        await sleep(clock, backoffDelay(retry, { baseMs: 200, maxMs: 5_000 }));
      }
    }
  }

  /** The store says this process no longer holds the claim. */
  private lost(id: string): void {
    const queued = this.queue.findIndex(({ job }) => job.id === id);
    if (queued !== -1) this.queue.splice(queued, 1);
    this.running.get(id)?.stop.abort(new Error('claim lost'));
  }

  /** A cancel or a delete ended this claim (if this process holds it): drop it from the queue, or abort its run. */
  private ended(id: string, claimToken: string): void {
    const queued = this.queue.findIndex(({ job }) => job.id === id && job.claimToken === claimToken);
    if (queued !== -1) {
      this.queue.splice(queued, 1);
      this.leases.release(id);
    }
    const run = this.running.get(id);
    if (run?.job.claimToken !== claimToken) return;
    this.logger.info({ jobId: id }, 'the job was cancelled or deleted while it ran: its photo call is aborted and its outcome dropped');
    run.stop.abort(new Error('claim ended by a cancel or a delete'));
  }

  /** Claims that waited a whole renewal round for a slot go back, for a worker with room to take. */
  private async releaseStale(): Promise<void> {
    const before = this.options.clock.now() - this.options.leaseMs / 3;
    // The queue is in claim order, so the stale claims are at its head.
    let count = 0;
    while (count < this.queue.length && this.queue[count]!.queuedAt <= before) count++;
    if (count === 0) return;
    this.prefetchHeld = true;
    await this.giveBack(this.queue.splice(0, count).map(({ job }) => job));
  }

  /** Hands claims that never started back to the store (or, when the store cannot be written, leaves them to their lease). */
  private async giveBack(jobs: StoredJob[]): Promise<void> {
    for (const job of jobs) this.leases.release(job.id);
    if (jobs.length === 0) return;
    try {
      await this.options.store.releaseClaims(
        jobs.map((job) => ({ id: job.id, claimToken: job.claimToken! })),
        this.options.clock.now(),
      );
    } catch (error) {
      this.logger.warn({ err: error, jobs: jobs.length }, 'could not give back queued claims; they wait for their lease');
    }
  }
}
