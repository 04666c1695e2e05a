import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Photo } from '@simmer/contracts';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentImageError, type ImageSource } from '../../src/images/image-source.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { createMetrics } from '../../src/metrics.js';
import { FileStore } from '../../src/store/file/file-store.js';
import type { JobStore } from '../../src/store/job-store.js';

const logger = pino({ level: 'silent' });

const photo: Photo = {
  id: 'p',
  description: null,
  color: '#aa8844',
  blurHash: null,
  width: 10,
  height: 10,
  urls: { raw: '/r', full: '/f', regular: '/g', small: '/s', thumb: '/t' },
  link: '/l',
  author: { name: 'A', url: '/a' },
  downloadLocation: null,
};

/** An image source the test answers by hand: each takePhoto waits until released. */
function manualSource() {
  const waiting: { resolve(photo: Photo): void; reject(error: Error): void }[] = [];
  const startedAt: number[] = [];
  const source: ImageSource = {
    name: 'demo',
    takePhoto: (signal) =>
      new Promise<Photo>((resolve, reject) => {
        startedAt.push(Date.now());
        waiting.push({ resolve, reject });
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      }),
    trackDownload: async () => '/f',
    close: async () => {},
  };
  return { source, waiting, startedAt, started: () => startedAt.length };
}

describe('Scheduler', () => {
  let dataDir: string;
  let store: FileStore;
  let scheduler: Scheduler | undefined;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'simmer-scheduler-'));
    store = await FileStore.open({
      dataDir,
      logger,
      minFreeBytes: 0,
      onFatal: (error) => {
        throw error;
      },
    });
  });

  afterEach(async () => {
    await scheduler?.stop(0);
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** What the last `start` returned: the jobs due at the start have their outcomes written. */
  let firstJobs: Promise<void>;
  const start = (source: ImageSource, concurrency: number, through: JobStore = store) => {
    scheduler = new Scheduler({
      store: through,
      imageSource: source,
      clock: { now: () => Date.now() },
      logger,
      metrics: createMetrics(),
      concurrency,
      leaseMs: 60_000,
      retryLimitMs: 60_000,
      owner: 'test',
    });
    firstJobs = scheduler.start();
    return scheduler;
  };
  const addJob = (runAt = Date.now()) => store.createJob({ id: uuidv7(), createdAt: Date.now(), runAt, idempotencyKey: null });

  it('runs no more jobs at once than its concurrency, and the rest as slots free up', async () => {
    const manual = manualSource();
    for (let i = 0; i < 10; i++) await addJob();
    start(manual.source, 3);
    await expect.poll(() => manual.started()).toBe(3);
    expect((await store.countJobs()).running).toBe(3);
    for (let released = 0; released < 10; released++) {
      await expect.poll(() => manual.waiting.length).toBeGreaterThan(0);
      expect(scheduler!.runningCount).toBeLessThanOrEqual(3);
      manual.waiting.shift()!.resolve(photo);
    }
    await expect.poll(async () => (await store.countJobs()).resolved).toBe(10);
    expect(manual.started()).toBe(10);
  });

  it('says when the jobs due at its start have their outcomes written', async () => {
    const manual = manualSource();
    for (let i = 0; i < 2; i++) await addJob();
    await addJob(Date.now() + 60_000); // not due: not waited for
    start(manual.source, 3);
    let firstJobsWritten = false;
    const written = firstJobs.then(() => (firstJobsWritten = true));
    await expect.poll(() => manual.waiting.length).toBe(2);
    manual.waiting.shift()!.resolve(photo);
    await expect.poll(async () => (await store.countJobs()).resolved).toBe(1);
    expect(firstJobsWritten).toBe(false);
    manual.waiting.shift()!.resolve(photo);
    await written;
    expect(await store.countJobs()).toMatchObject({ resolved: 2, pending: 1 });
  });

  it('frees a slot as its job ends, while the outcome is written, and stops starting jobs at maxUnsettled', async () => {
    const manual = manualSource();
    for (let i = 0; i < 5; i++) await addJob();
    // The real store, with every settle held at a gate until the test opens it.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const gated = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'settleJob')
          return async (...args: Parameters<JobStore['settleJob']>) => {
            await gate;
            return target.settleJob(...args);
          };
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    scheduler = new Scheduler({
      store: gated,
      imageSource: manual.source,
      clock: { now: () => Date.now() },
      logger,
      metrics: createMetrics(),
      concurrency: 1,
      maxUnsettled: 2,
      leaseMs: 60_000,
      retryLimitMs: 60_000,
      owner: 'test',
    });
    void scheduler.start();
    for (let ended = 0; ended < 2; ended++) {
      await expect.poll(() => manual.waiting.length).toBe(1);
      manual.waiting.shift()!.resolve(photo);
    }
    // Two outcomes wait for their write: the third job may not start, though the slot is free.
    await expect.poll(() => scheduler!.unsettledCount).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(manual.started()).toBe(2);
    expect(scheduler.runningCount).toBe(0);
    expect((await store.countJobs()).resolved).toBe(0);

    open();
    for (let ended = 2; ended < 5; ended++) {
      await expect.poll(() => manual.waiting.length).toBe(1);
      manual.waiting.shift()!.resolve(photo);
    }
    await expect.poll(async () => (await store.countJobs()).resolved).toBe(5);
    expect(scheduler.unsettledCount).toBe(0);
  });

  it('runs a job when it falls due, not before', { timeout: 20_000 }, async () => {
    const manual = manualSource();
    const { job } = await addJob(Date.now() + 300);
    start(manual.source, 3);
    // With nothing due the scheduler sleeps up to 30 s: a start well inside that means it woke for
    // this job's time (the slack is for a busy host, not a speed target).
    await expect.poll(() => manual.started(), { timeout: 15_000, interval: 10 }).toBe(1);
    expect(manual.startedAt[0]).toBeGreaterThanOrEqual(job.runAt);
    expect(manual.startedAt[0]! - job.runAt).toBeLessThan(15_000);
  });

  it('wakes for a job created while it sleeps', { timeout: 20_000 }, async () => {
    const manual = manualSource();
    start(manual.source, 3);
    await addJob();
    // Well inside the 30 s it sleeps with nothing due: the create woke it.
    await expect.poll(() => manual.started(), { timeout: 15_000, interval: 10 }).toBe(1);
  });

  it('records a permanent image error as a failed job with its code and a fixed public sentence', async () => {
    const manual = manualSource();
    const { job } = await addJob();
    start(manual.source, 1);
    await expect.poll(() => manual.waiting.length).toBe(1);
    manual.waiting[0]!.reject(new PermanentImageError('unsplash_unauthorized', 'The Unsplash access key was refused'));
    await expect.poll(async () => (await store.getJob(job.id))?.status).toBe('failed');
    // The upstream's own words stay in the log; the job says a fixed sentence for its code.
    expect((await store.getJob(job.id))!.error).toEqual({
      code: 'unsplash_unauthorized',
      message: "Unsplash refused the server's access key (401).",
    });
  });

  it('leaves a job running (for the next process) when stopped mid-run', async () => {
    const manual = manualSource();
    const { job } = await addJob();
    const running = start(manual.source, 1);
    await expect.poll(() => manual.started()).toBe(1);
    await running.stop(0);
    expect((await store.getJob(job.id))!.status).toBe('running');
  });

  it('starts nothing from a claim that lands after stop began, so nothing touches the store once stop resolves', async () => {
    const manual = manualSource();
    for (let i = 0; i < 3; i++) await addJob();
    // The real store, with its first claim held at a gate: stop() is called while it is in flight.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let landed: Promise<unknown> = Promise.resolve();
    const gated = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'claimDueJobs')
          return async (options: Parameters<JobStore['claimDueJobs']>[0]) => {
            await gate;
            const claim = target.claimDueJobs(options);
            landed = claim;
            return claim;
          };
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const running = start(manual.source, 3, gated);
    const stopping = running.stop(1_000);
    open();
    await stopping;
    await landed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(manual.started()).toBe(0);
    expect(running.runningCount).toBe(0);
  });
});
