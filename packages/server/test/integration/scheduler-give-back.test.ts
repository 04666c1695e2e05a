import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { createDemoSource } from '../../src/images/demo/demo-source.js';
import type { ImageSource } from '../../src/images/image-source.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { createMetrics } from '../../src/metrics.js';
import type { JobStore } from '../../src/store/job-store.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { throwawayPostgresPerFile } from '../contract/postgres-server.js';

const logger = pino({ level: 'silent' });
const { freshDatabase } = throwawayPostgresPerFile('give_back');

describe('a worker whose slots are all busy', () => {
  it('gives back the claims queued behind them after a third of a lease, and claims ahead again only once a slot frees', async () => {
    const store = await openPostgresStore({ databaseUrl: await freshDatabase(), logger, poolSize: 4 });
    // The first job holds the only slot until the test lets it go; the others take a demo photo at once.
    const demo = createDemoSource();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const source: ImageSource = {
      ...demo,
      takePhoto: async (signal, client) => {
        if (++started === 1)
          await Promise.race([held, new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)))]);
        return demo.takePhoto(signal, client);
      },
    };
    // The real store, counting the jobs each claim takes and the renewal rounds (the scheduler
    // renews the running job's lease once per round, after its give-back check).
    let claimedJobs = 0;
    let renewals = 0;
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'claimDueJobs')
          return async (...args: Parameters<JobStore['claimDueJobs']>) => {
            const jobs = await target.claimDueJobs(...args);
            claimedJobs += jobs.length;
            return jobs;
          };
        if (prop === 'renewLease')
          return (...args: Parameters<JobStore['renewLease']>) => {
            renewals += 1;
            return target.renewLease(...args);
          };
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const scheduler = new Scheduler({
      store: counted,
      imageSource: source,
      clock: systemClock,
      logger,
      metrics: createMetrics(),
      concurrency: 1,
      prefetch: 3,
      leaseMs: 600, // renewal rounds (and the give-back check) every 200 ms
      retryLimitMs: 60_000,
      owner: 'busy',
    });
    try {
      for (let i = 0; i < 4; i++) await store.createJob({ id: uuidv7(), createdAt: Date.now(), runAt: Date.now(), idempotencyKey: null });
      void scheduler.start();
      await expect.poll(() => started).toBe(1);
      expect(claimedJobs).toBe(4);

      // Back in the queue for a worker with room, and not taken again by this one, whose slot is
      // still busy, though the give-back announced them as due: two more rounds pass (the old
      // scheduler took them back within milliseconds of the announcement).
      await expect.poll(async () => (await store.countJobs()).pending, { timeout: 5_000 }).toBe(3);
      const roundsBefore = renewals;
      await expect.poll(() => renewals, { timeout: 5_000 }).toBeGreaterThanOrEqual(roundsBefore + 2);
      expect(await store.countJobs()).toMatchObject({ pending: 3, running: 1 });
      expect(claimedJobs).toBe(4);

      // The slot frees: the worker claims ahead again and runs the rest.
      release();
      await expect.poll(async () => (await store.countJobs()).resolved, { timeout: 5_000 }).toBe(4);
      expect(started).toBe(4);
    } finally {
      await scheduler.stop(0);
      await store.close();
    }
  });
});
