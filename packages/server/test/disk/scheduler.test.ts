import type { Photo } from '@simmer/contracts';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentImageError, type ImageSource } from '../../src/images/image-source.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { createMetrics } from '../../src/metrics.js';
import type { FileStore } from '../../src/store/file/file-store.js';
import type { JobStore, StoredJob } from '../../src/store/job-store.js';
import { ManualClock } from '../manual-clock.js';
import { silentLogger as logger, useTempFileStores } from '../temp-file-store.js';

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

/** The scheduler's longest sleep with nothing due (scheduler.ts). */
const MAX_SLEEP_MS = 30_000;

/** An image source the test answers by hand: each takePhoto waits until released. */
function manualSource(clock: ManualClock) {
  const waiting: { resolve(photo: Photo): void; reject(error: Error): void }[] = [];
  const startedAt: number[] = [];
  const source: ImageSource = {
    name: 'demo',
    takePhoto: (signal) =>
      new Promise<Photo>((resolve, reject) => {
        startedAt.push(clock.now());
        waiting.push({ resolve, reject });
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      }),
    trackDownload: async () => '/f',
    close: async () => {},
  };
  return { source, waiting, startedAt, started: () => startedAt.length };
}

/** The real store, with `method` wrapped by `wrap`. */
function wrapped<K extends keyof JobStore>(store: JobStore, method: K, wrap: (real: JobStore[K]) => JobStore[K]): JobStore {
  const real = (store[method] as (...args: unknown[]) => unknown).bind(store) as JobStore[K];
  const replaced = wrap(real);
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === method) return replaced;
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('Scheduler', () => {
  const dir = useTempFileStores('simmer-scheduler-');
  let clock: ManualClock;
  let store: FileStore;
  let scheduler: Scheduler | undefined;

  beforeEach(async () => {
    clock = new ManualClock();
    store = await dir.open();
  });

  afterEach(async () => {
    await scheduler?.stop(0);
    scheduler = undefined;
  });

  /** What the last `start` returned: the jobs due at the start have their outcomes written. */
  let firstJobs: Promise<void>;
  const start = (
    source: ImageSource,
    concurrency: number,
    through: JobStore = store,
    more: { maxUnsettled?: number; prefetch?: number; leaseMs?: number } = {},
  ) => {
    scheduler = new Scheduler({
      store: through,
      imageSource: source,
      clock,
      logger,
      metrics: createMetrics(),
      concurrency,
      leaseMs: 60_000,
      retryLimitMs: 60_000,
      owner: 'test',
      ...more,
    });
    firstJobs = scheduler.start();
    return scheduler;
  };
  const addJob = (runAt = clock.now()) => store.createJob({ id: uuidv7(), createdAt: clock.now(), runAt, idempotencyKey: null });

  it('runs no more jobs at once than its concurrency, and the rest as slots free up', async () => {
    const manual = manualSource(clock);
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
    const manual = manualSource(clock);
    for (let i = 0; i < 2; i++) await addJob();
    await addJob(clock.now() + 60_000); // not due: not waited for
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
    const manual = manualSource(clock);
    for (let i = 0; i < 5; i++) await addJob();
    // The real store, with every settle held at a gate until the test opens it, and each claim
    // counted once the scheduler has done with what it returned (after every continuation of it).
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let claimedAndHandled = 0;
    const gated = wrapped(
      wrapped(store, 'settleJob', (settle) => async (...args) => {
        await gate;
        return settle(...args);
      }),
      'claimDueJobs',
      (claim) => async (options) => {
        const jobs = await claim(options);
        setImmediate(() => (claimedAndHandled += jobs.length));
        return jobs;
      },
    );
    start(manual.source, 1, gated, { maxUnsettled: 2 });
    for (let ended = 0; ended < 2; ended++) {
      await expect.poll(() => manual.waiting.length).toBe(1);
      manual.waiting.shift()!.resolve(photo);
    }
    // Two outcomes wait for their write. The slot is free, so the third job is claimed, and then
    // not started: the scheduler decides that as the claim lands.
    await expect.poll(() => scheduler!.unsettledCount).toBe(2);
    await expect.poll(() => claimedAndHandled).toBe(3);
    expect(manual.started()).toBe(2);
    expect(scheduler!.runningCount).toBe(0);
    expect((await store.countJobs()).resolved).toBe(0);

    open();
    for (let ended = 2; ended < 5; ended++) {
      await expect.poll(() => manual.waiting.length).toBe(1);
      manual.waiting.shift()!.resolve(photo);
    }
    await expect.poll(async () => (await store.countJobs()).resolved).toBe(5);
    expect(scheduler!.unsettledCount).toBe(0);
  });

  it('sleeps until a job falls due, and runs it then, not before', async () => {
    const manual = manualSource(clock);
    const { job } = await addJob(clock.now() + 300);
    start(manual.source, 3);
    // Asleep with a timer for the job's time: nothing starts until the clock reaches it.
    await expect.poll(() => clock.nextTimerAt()).toBe(job.runAt);
    clock.advance(299);
    expect(clock.nextTimerAt()).toBe(job.runAt);
    expect(manual.started()).toBe(0);
    clock.advance(1);
    await expect.poll(() => manual.started()).toBe(1);
    expect(manual.startedAt[0]).toBe(job.runAt);
  });

  it('wakes for a job created while it sleeps', async () => {
    const manual = manualSource(clock);
    start(manual.source, 3);
    // Nothing due: asleep for its longest sleep. The clock stays put, so only the create can wake it.
    await expect.poll(() => clock.dueTimes()).toContain(clock.now() + MAX_SLEEP_MS);
    await addJob();
    await expect.poll(() => manual.started()).toBe(1);
  });

  it("wakes at a created job's runAt when it is not due yet", async () => {
    const manual = manualSource(clock);
    start(manual.source, 3);
    await expect.poll(() => clock.dueTimes()).toContain(clock.now() + MAX_SLEEP_MS);
    const { job } = await addJob(clock.now() + 5_000);
    await expect.poll(() => clock.nextTimerAt()).toBe(job.runAt);
    expect(manual.started()).toBe(0);
    clock.advance(5_000);
    await expect.poll(() => manual.started()).toBe(1);
  });

  it('records a permanent image error as a failed job with its code and a fixed public sentence', async () => {
    const manual = manualSource(clock);
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

  it('fails a job whose photo does not come within the retry limit, on the clock', async () => {
    const manual = manualSource(clock);
    const { job } = await addJob();
    // A lease longer than the limit: no renewal round runs meanwhile.
    start(manual.source, 1, store, { leaseMs: 600_000 });
    await expect.poll(() => manual.started()).toBe(1);
    clock.advance(59_999);
    expect((await store.getJob(job.id))!.status).toBe('running');
    clock.advance(1);
    await expect.poll(async () => (await store.getJob(job.id))?.error?.code).toBe('retry_limit_exceeded');
    expect((await store.getJob(job.id))!.resolvedAt).toBe(job.runAt + 60_000);
  });

  it('leaves a job running (for the next process) when stopped mid-run', async () => {
    const manual = manualSource(clock);
    const { job } = await addJob();
    const running = start(manual.source, 1);
    await expect.poll(() => manual.started()).toBe(1);
    await running.stop(0);
    expect((await store.getJob(job.id))!.status).toBe('running');
  });

  it('gives running jobs the grace it was stopped with, on the clock', async () => {
    const manual = manualSource(clock);
    const { job } = await addJob();
    const running = start(manual.source, 1);
    await expect.poll(() => manual.started()).toBe(1);
    let stopped = false;
    const stopping = running.stop(5_000).then(() => (stopped = true));
    await expect.poll(() => clock.dueTimes()).toContain(clock.now() + 5_000);
    clock.advance(4_999);
    manual.waiting[0]!.resolve(photo);
    await stopping;
    expect(stopped).toBe(true);
    expect((await store.getJob(job.id))!.status).toBe('resolved');
  });

  it('gives back the claims queued behind a busy slot after a third of a lease, for another worker', async () => {
    const manual = manualSource(clock);
    for (let i = 0; i < 4; i++) await addJob();
    start(manual.source, 1, store, { prefetch: 3, leaseMs: 600 });
    await expect.poll(() => manual.started()).toBe(1);
    await expect.poll(async () => (await store.countJobs()).running).toBe(4);
    clock.advance(200);
    await expect.poll(async () => await store.countJobs()).toMatchObject({ pending: 3, running: 1 });
    const [first] = (await store.listJobs({ limit: 10, status: 'pending' })) as [StoredJob];
    expect(first).toMatchObject({ attempts: 0, claimToken: null });
    // Another worker takes them at once.
    expect(await store.claimDueJobs({ now: clock.now(), limit: 10, leaseMs: 600, owner: 'other' })).toHaveLength(3);
  });

  it('starts nothing from a claim that lands after stop began, so nothing touches the store once stop resolves', async () => {
    const manual = manualSource(clock);
    for (let i = 0; i < 3; i++) await addJob();
    // The real store, with its first claim held at a gate: stop() is called while it is in flight.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let landed: Promise<unknown> = Promise.resolve();
    const gated = wrapped(store, 'claimDueJobs', (claim) => async (options) => {
      await gate;
      const claimed = claim(options);
      landed = claimed;
      return claimed;
    });
    const running = start(manual.source, 3, gated);
    const stopping = running.stop(1_000);
    open();
    await stopping;
    await landed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(manual.started()).toBe(0);
    expect(running.runningCount).toBe(0);
    // What it had claimed went back.
    expect(await store.countJobs()).toMatchObject({ pending: 3, running: 0 });
  });
});
