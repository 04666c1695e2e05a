import { v7 as uuidv7 } from 'uuid';
import { beforeEach, describe, expect, it } from 'vitest';
import { RetentionSweeper } from '../../src/jobs/retention-sweeper.js';
import type { FileStore } from '../../src/store/file/file-store.js';
import { ManualClock } from '../manual-clock.js';
import { silentLogger as logger, useTempFileStores } from '../temp-file-store.js';

const T0 = Date.UTC(2026, 10, 23, 10);
const DAY = 24 * 3600_000;

describe('RetentionSweeper', () => {
  const dir = useTempFileStores('simmer-sweeper-');
  let store: FileStore;
  let clock: ManualClock;

  beforeEach(async () => {
    store = await dir.open();
    clock = new ManualClock(T0);
  });

  /** `count` jobs created at `createdAt` with keys, settled at `resolvedAt`. */
  async function settled(count: number, createdAt: number, resolvedAt: number): Promise<string[]> {
    // Concurrent, so group commit puts them in a few fsyncs instead of one each.
    const created = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        store.createJob({ id: uuidv7(), createdAt, runAt: createdAt, idempotencyKey: `k-${createdAt}-${i}` }),
      ),
    );
    const claimed = await store.claimDueJobs({ now: createdAt, limit: count, leaseMs: 60_000, owner: 't' });
    await Promise.all(
      claimed.map((job) =>
        store.settleJob(job.id, job.claimToken!, { status: 'failed', resolvedAt, error: { code: 'internal_error', message: 'y' } }),
      ),
    );
    return created.map(({ job }) => job.id);
  }

  it('removes every settled job past retention in batches, and forgets every key past its TTL, leaving the rest', async () => {
    const old = await settled(1_100, T0, T0 + 1_000);
    const recent = await settled(3, T0 + 20 * DAY, T0 + 20 * DAY);
    clock.advance(31 * DAY);
    const sweeper = new RetentionSweeper({ store, clock, logger, retentionMs: 30 * DAY, keyTtlMs: DAY, batchSize: 500 });
    expect(await sweeper.sweep()).toEqual({ removed: 1_100, keysExpired: 3 });
    for (const id of old.slice(0, 5)) expect(await store.getJob(id)).toBeUndefined();
    for (const id of recent) expect(await store.getJob(id)).toMatchObject({ idempotencyKey: null });
    expect(await sweeper.sweep()).toEqual({ removed: 0, keysExpired: 0 });
  });

  it('keeps settled jobs forever with a retention of 0, and still expires keys', async () => {
    await settled(3, T0, T0);
    clock.advance(365 * DAY);
    const sweeper = new RetentionSweeper({ store, clock, logger, retentionMs: 0, keyTtlMs: DAY });
    expect(await sweeper.sweep()).toEqual({ removed: 0, keysExpired: 3 });
    expect((await store.countJobs()).failed).toBe(3);
  });

  it('sweeps every second or so for a retention of seconds, and at most every minute', () => {
    const interval = (retentionMs: number, keyTtlMs = DAY) =>
      new RetentionSweeper({ store, clock, logger, retentionMs, keyTtlMs }).intervalMs;
    expect(interval(2_000)).toBe(500);
    expect(interval(30 * DAY)).toBe(60_000);
    expect(interval(0, 4_000)).toBe(1_000);
  });

  it('runs on its own every interval once started, and stops', async () => {
    const ids = await settled(2, T0, T0);
    const sweeper = new RetentionSweeper({ store, clock, logger, retentionMs: 2_000, keyTtlMs: DAY });
    sweeper.start();
    /** Moves the clock to the next pass and waits until it is over (it sets the one after). */
    const pass = async () => {
      const at = clock.nextTimerAt()!;
      clock.advance(at - clock.now());
      await expect.poll(() => clock.nextTimerAt()).toBe(at + sweeper.intervalMs);
    };
    expect(clock.dueTimes()).toEqual([T0 + 500]);
    // Passes at T0 + 0.5, 1 and 1.5 s find nothing 2 s old; the one at T0 + 2 s removes both.
    for (let i = 0; i < 3; i++) await pass();
    expect(await store.countJobs()).toMatchObject({ failed: 2 });
    await pass();
    expect(await store.getJob(ids[0]!)).toBeUndefined();
    expect(await store.countJobs()).toMatchObject({ failed: 0 });
    await sweeper.stop();
    expect(clock.timerCount).toBe(0);
  });
});
