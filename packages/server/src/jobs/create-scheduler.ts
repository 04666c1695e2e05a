import type { Config } from '../config/config.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

/** What the scheduler is given rather than read from the configuration. */
export type SchedulerDeps = Pick<SchedulerOptions, 'store' | 'imageSource' | 'clock' | 'logger' | 'metrics' | 'owner'>;

/** The scheduler as the configuration asks for it: one place, for main.ts and the tests' in-process app. */
export function createScheduler(
  config: Pick<Config, 'store' | 'jobConcurrency' | 'jobLeaseMs' | 'jobRetryLimitMs'>,
  deps: SchedulerDeps,
): Scheduler {
  return new Scheduler({
    ...deps,
    concurrency: config.jobConcurrency,
    // A shared database is a round trip away: claim a slot's worth ahead so a free slot never waits for it.
    prefetch: config.store === 'postgres' ? config.jobConcurrency : 0,
    leaseMs: config.jobLeaseMs,
    retryLimitMs: config.jobRetryLimitMs,
  });
}
