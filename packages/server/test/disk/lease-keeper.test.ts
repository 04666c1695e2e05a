import { v7 as uuidv7 } from 'uuid';
import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseKeeper } from '../../src/jobs/lease-keeper.js';
import type { FileStore } from '../../src/store/file/file-store.js';
import type { JobStore, StoredJob } from '../../src/store/job-store.js';
import { ManualClock } from '../manual-clock.js';
import { silentLogger as logger, useTempFileStores } from '../temp-file-store.js';

const T0 = Date.UTC(2026, 10, 23, 10);
const LEASE_MS = 60_000;

describe('LeaseKeeper', () => {
  const dir = useTempFileStores('simmer-leases-');
  let store: FileStore;
  let clock: ManualClock;
  let renewals: number;
  let rounds: number;
  /** The real store, counting renewals. */
  let counted: JobStore;

  beforeEach(async () => {
    store = await dir.open();
    clock = new ManualClock(T0);
    renewals = 0;
    rounds = 0;
    counted = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'renewLease')
          return (...args: Parameters<JobStore['renewLease']>) => {
            renewals += 1;
            return target.renewLease(...args);
          };
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  });

  const keeper = () => new LeaseKeeper({ store: counted, clock, logger, leaseMs: LEASE_MS, beforeRound: async () => void rounds++ });
  const claimed = async (count: number): Promise<StoredJob[]> => {
    for (let i = 0; i < count; i++) await store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null });
    return store.claimDueJobs({ now: T0, limit: count, leaseMs: LEASE_MS, owner: 'test' });
  };

  it('renews every claim it holds together, every third of a lease, from the time of the round', async () => {
    const jobs = await claimed(2);
    const leases = keeper();
    for (const job of jobs) leases.hold(job.id, job.claimToken!, () => expect.unreachable('the claim still holds'));
    leases.start();
    expect(clock.dueTimes()).toEqual([T0 + LEASE_MS / 3]);
    clock.advance(LEASE_MS / 3);
    expect(rounds).toBe(1);
    await expect.poll(() => renewals).toBe(2);
    await expect.poll(async () => (await store.getJob(jobs[1]!.id))!.leaseUntil).toBe(T0 + LEASE_MS / 3 + LEASE_MS);
    expect((await store.getJob(jobs[0]!.id))!.leaseUntil).toBe(T0 + LEASE_MS / 3 + LEASE_MS);
    await leases.stop();
  });

  it('tells the holder once when its claim is lost, and renews it no more', async () => {
    const [job] = await claimed(1);
    await store.settleJob(job!.id, job!.claimToken!, { status: 'failed', resolvedAt: T0, error: { code: 'internal_error', message: 'y' } });
    let lost = 0;
    const leases = keeper();
    leases.hold(job!.id, job!.claimToken!, () => lost++);
    leases.start();
    clock.advance(LEASE_MS / 3);
    await expect.poll(() => lost).toBe(1);
    clock.advance(LEASE_MS / 3);
    expect(rounds).toBe(2);
    await leases.stop(); // waits for the second round
    expect(lost).toBe(1);
    expect(renewals).toBe(1);
  });

  it('renews nothing it was asked to release, and nothing once stopped', async () => {
    const [kept, released] = await claimed(2);
    const leases = keeper();
    leases.hold(kept!.id, kept!.claimToken!, () => {});
    leases.hold(released!.id, released!.claimToken!, () => {});
    leases.release(released!.id);
    leases.start();
    clock.advance(LEASE_MS / 3);
    await leases.stop();
    expect(renewals).toBe(1);
    expect((await store.getJob(released!.id))!.leaseUntil).toBe(T0 + LEASE_MS);
    expect(clock.timerCount).toBe(0);
    clock.advance(LEASE_MS);
    expect(rounds).toBe(1);
  });
});
