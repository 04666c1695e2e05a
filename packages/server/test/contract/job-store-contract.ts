import { randomUUID } from 'node:crypto';
import { isAllowedTransition, type JobStatus } from '@simmer/contracts';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Changes, JobStore, NewJob, Outcome, StoredJob } from '../../src/store/job-store.js';

/** A store under test, and how to open it again over the same data (persistence checks). */
export interface StoreHarness {
  store: JobStore;
  reopen(): Promise<JobStore>;
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

/** The jobs a replay carries, in order (removals left out). */
export function jobsOf(changes: Changes): StoredJob[] {
  return changes.changes.flatMap((change) => (change.kind === 'job' ? [change.job] : []));
}

function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return { id: uuidv7(), createdAt: T0, runAt: T0 + 5_000, idempotencyKey: null, ...overrides };
}

const resolved = (at = T0 + 10_000): Outcome => ({
  status: 'resolved',
  resolvedAt: at,
  result: {
    source: 'demo',
    photo: {
      id: 'p1',
      description: 'a bowl of ramen',
      color: '#c08040',
      blurHash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
      width: 1200,
      height: 800,
      urls: {
        raw: 'http://127.0.0.1/raw',
        full: 'http://127.0.0.1/full',
        regular: 'http://127.0.0.1/regular',
        small: 'http://127.0.0.1/small',
        thumb: 'http://127.0.0.1/thumb',
      },
      link: 'http://127.0.0.1/photo',
      author: { name: 'A. Cook', url: 'http://127.0.0.1/cook' },
      downloadLocation: null,
    },
  },
});

/** The behaviour every JobStore implementation guarantees; run once per store. */
export function describeJobStoreContract(name: string, open: () => Promise<StoreHarness>): void {
  describe(`JobStore contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: JobStore;

    beforeEach(async () => {
      harness = await open();
      store = harness.store;
    });

    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    it('creates a pending job that can be read back', async () => {
      const input = newJob();
      const { job, created } = await store.createJob(input);
      expect(created).toBe(true);
      expect(job).toMatchObject({ id: input.id, status: 'pending', runAt: input.runAt, result: null, error: null });
      expect(job.updatedSeq).toBeGreaterThan(0);
      expect(await store.getJob(input.id)).toEqual(job);
      expect(await store.getJob(uuidv7())).toBeUndefined();
    });

    it('numbers every change with the next value of one sequence', async () => {
      const a = (await store.createJob(newJob())).job;
      const b = (await store.createJob(newJob())).job;
      expect(b.updatedSeq).toBeGreaterThan(a.updatedSeq);
      expect(await store.lastSeq()).toBe(b.updatedSeq);
    });

    it('returns the existing job for a reused idempotency key and creates nothing', async () => {
      const first = await store.createJob(newJob({ idempotencyKey: 'key-1' }));
      const seq = await store.lastSeq();
      const again = await store.createJob(newJob({ idempotencyKey: 'key-1' }));
      expect(again.created).toBe(false);
      expect(again.job.id).toBe(first.job.id);
      expect(await store.lastSeq()).toBe(seq);
      expect((await store.countJobs()).pending).toBe(1);
    });

    it('creates one job for concurrent creates with one idempotency key', async () => {
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.createJob(newJob({ idempotencyKey: 'same' }))));
      expect(new Set(outcomes.map((o) => o.job.id)).size).toBe(1);
      expect(outcomes.filter((o) => o.created)).toHaveLength(1);
      expect((await store.countJobs()).pending).toBe(1);
    });

    it('lists newest first with keyset pagination and a status filter', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await store.createJob(newJob({ runAt: T0 + i }))).job.id);
      const newestFirst = [...ids].reverse();

      const page1 = await store.listJobs({ limit: 3 });
      expect(page1.map((j) => j.id)).toEqual(newestFirst.slice(0, 3));
      const page2 = await store.listJobs({ limit: 3, before: page1.at(-1)!.id });
      expect(page2.map((j) => j.id)).toEqual(newestFirst.slice(3, 6));
      const page3 = await store.listJobs({ limit: 3, before: page2.at(-1)!.id });
      expect(page3.map((j) => j.id)).toEqual(newestFirst.slice(6));

      const [claimed] = await store.claimDueJobs({ now: T0 + 1, limit: 1, leaseMs: 1000, owner: 't' });
      expect(claimed!.id).toBe(ids[0]);
      expect((await store.listJobs({ limit: 10, status: 'running' })).map((j) => j.id)).toEqual([ids[0]]);
      expect((await store.listJobs({ limit: 10, status: 'pending' })).map((j) => j.id)).toEqual(newestFirst.slice(0, 6));
      expect(await store.countJobs()).toEqual({ pending: 6, running: 1, resolved: 0, failed: 0, cancelled: 0 });
    });

    it('claims only due jobs, earliest first, at most limit, under a lease', async () => {
      const late = (await store.createJob(newJob({ runAt: T0 + 3000 }))).job;
      const early = (await store.createJob(newJob({ runAt: T0 + 1000 }))).job;
      const middle = (await store.createJob(newJob({ runAt: T0 + 2000 }))).job;
      expect(await store.nextWakeAt()).toBe(T0 + 1000);
      expect(await store.claimDueJobs({ now: T0 + 999, limit: 10, leaseMs: 1000, owner: 't' })).toEqual([]);

      const claimed = await store.claimDueJobs({ now: T0 + 2500, limit: 10, leaseMs: 1000, owner: 't' });
      expect(claimed.map((j) => j.id)).toEqual([early.id, middle.id]);
      for (const job of claimed) {
        expect(job).toMatchObject({ status: 'running', leaseUntil: T0 + 3500, attempts: 1 });
        expect(job.claimToken).toBeTruthy();
      }
      expect(await store.nextWakeAt()).toBe(T0 + 3000);

      const next = await store.claimDueJobs({ now: T0 + 3000, limit: 1, leaseMs: 1000, owner: 't' });
      expect(next.map((j) => j.id)).toEqual([late.id]);
    });

    it('hands each due job to exactly one of many concurrent claimers', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 50; i++) ids.add((await store.createJob(newJob())).job.id);
      const batches = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.claimDueJobs({ now: T0 + 10_000, limit: 7, leaseMs: 60_000, owner: `w${i}` })),
      );
      const claimed = batches.flat().map((j) => j.id);
      expect(claimed).toHaveLength(50);
      expect(new Set(claimed)).toEqual(ids);
    });

    it('takes a running job again when its lease ends, and the old claim loses it', async () => {
      const { job } = await store.createJob(newJob());
      const [first] = await store.claimDueJobs({ now: T0 + 5000, limit: 1, leaseMs: 1000, owner: 'a' });
      expect(await store.claimDueJobs({ now: T0 + 5999, limit: 1, leaseMs: 1000, owner: 'b' })).toEqual([]);
      expect(await store.nextWakeAt()).toBe(T0 + 6000);

      const [second] = await store.claimDueJobs({ now: T0 + 6000, limit: 1, leaseMs: 1000, owner: 'b' });
      expect(second).toMatchObject({ id: job.id, status: 'running', attempts: 2 });
      expect(second!.claimToken).not.toBe(first!.claimToken);

      expect(await store.renewLease(job.id, first!.claimToken!, T0 + 9000)).toBe(false);
      expect(await store.settleJob(job.id, first!.claimToken!, resolved())).toBeUndefined();
      expect(await store.renewLease(job.id, second!.claimToken!, T0 + 9000)).toBe(true);
      expect((await store.getJob(job.id))!.leaseUntil).toBe(T0 + 9000);
    });

    it('writes an outcome once', async () => {
      const { job } = await store.createJob(newJob());
      const [claim] = await store.claimDueJobs({ now: T0 + 5000, limit: 1, leaseMs: 1000, owner: 'a' });
      const settled = await store.settleJob(job.id, claim!.claimToken!, resolved());
      expect(settled).toMatchObject({ status: 'resolved', resolvedAt: T0 + 10_000, claimToken: null, leaseUntil: null });
      expect(settled!.result!.photo.id).toBe('p1');

      const failure: Outcome = { status: 'failed', resolvedAt: T0 + 11_000, error: { code: 'internal_error', message: 'y' } };
      expect(await store.settleJob(job.id, claim!.claimToken!, failure)).toBeUndefined();
      expect(await store.getJob(job.id)).toEqual(settled);
      expect(await store.claimDueJobs({ now: T0 + 99_000, limit: 10, leaseMs: 1000, owner: 'b' })).toEqual([]);
      expect(await store.nextWakeAt()).toBeNull();
    });

    it('records a failure with its error', async () => {
      const { job } = await store.createJob(newJob());
      const [claim] = await store.claimDueJobs({ now: T0 + 5000, limit: 1, leaseMs: 1000, owner: 'a' });
      const error = { code: 'retry_limit_exceeded' as const, message: 'Unsplash did not answer' };
      const settled = await store.settleJob(job.id, claim!.claimToken!, { status: 'failed', resolvedAt: T0 + 6000, error });
      expect(settled).toMatchObject({ status: 'failed', error, result: null });
    });

    it('replays the changes after a sequence, in order, each job once', async () => {
      const a = (await store.createJob(newJob())).job;
      const mark = await store.lastSeq();
      const b = (await store.createJob(newJob())).job;
      const [claimA] = await store.claimDueJobs({ now: T0 + 5000, limit: 1, leaseMs: 1000, owner: 'w' });
      expect(claimA!.id).toBe(a.id);
      const c = (await store.createJob(newJob())).job;

      const changes = await store.changesSince(mark, 100);
      expect(changes.reset).toBe(false);
      expect(jobsOf(changes).map((j) => j.id)).toEqual([b.id, a.id, c.id]);
      const seqs = jobsOf(changes).map((j) => j.updatedSeq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect((await store.changesSince(await store.lastSeq(), 100)).changes).toEqual([]);
      expect(jobsOf(await store.changesSince(0, 100)).map((j) => j.id)).toEqual([b.id, a.id, c.id]);
    });

    it('asks for a reset when a replay would exceed its limit or starts ahead of the store', async () => {
      for (let i = 0; i < 5; i++) await store.createJob(newJob());
      expect((await store.changesSince(0, 3)).reset).toBe(true);
      expect((await store.changesSince((await store.lastSeq()) + 100, 3)).reset).toBe(true);
    });

    it('tells listeners about commits with the latest sequence', async () => {
      const seen: number[] = [];
      const stop = store.onCommit((seq) => seen.push(seq));
      const { job } = await store.createJob(newJob());
      await expect.poll(() => seen.at(-1)).toBe(job.updatedSeq);
      stop();
    });

    it('lets a follower that reads on from its last number after each commit it hears miss nothing', async () => {
      // The event hub's way: listen first, then read the head, then after each commit heard read
      // the head and the changes after the last number read.
      const problems: string[] = [];
      const seen = new Map<string, number>();
      const written: { id: string; seq: number }[] = [];
      let heard = 0;
      let head = 0;
      let cursor = 0;
      // Reads wait for the start to be read (a store may report its head as soon as one listens).
      let begin!: () => void;
      let reading = new Promise<void>((resolve) => (begin = resolve));
      const stop = store.onCommit((seq) => {
        heard = Math.max(heard, seq);
        reading = reading.then(async () => {
          const read = await store.lastSeq();
          if (read < seq) problems.push(`lastSeq ${read} after hearing ${seq}`);
          if (read < head) problems.push(`lastSeq went back from ${head} to ${read}`);
          head = Math.max(head, read);
          const { changes, reset } = await store.changesSince(cursor, 1_000);
          if (reset) problems.push(`reset reading after ${cursor}`);
          for (const change of changes) {
            if (change.seq <= cursor) problems.push(`change ${change.seq} at or before ${cursor}`);
            cursor = change.seq;
            seen.set(change.kind === 'job' ? change.job.id : change.id, change.seq);
          }
          // Every write numbered up to what was heard was read, or its job in a newer state.
          for (const write of written)
            if (write.seq <= seq && (seen.get(write.id) ?? 0) < write.seq) problems.push(`missed ${write.seq} after hearing ${seq}`);
        });
      });
      const start = await store.lastSeq();
      cursor = start;
      begin();
      const wrote = (job: StoredJob | undefined) => job && written.push({ id: job.id, seq: job.updatedSeq });

      const created = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.createJob(newJob({ runAt: T0 + i })).then(({ job }) => (wrote(job), job))),
      );
      const claimed = await store.claimDueJobs({ now: T0 + 100, limit: 20, leaseMs: 60_000, owner: 'w' });
      claimed.forEach(wrote);
      const givenBack = claimed.slice(10, 15);
      await Promise.all([
        ...claimed.slice(0, 10).map((job, i) => store.settleJob(job.id, job.claimToken!, resolved(T0 + 1_000 + i)).then(wrote)),
        store.releaseClaims(
          givenBack.map((job) => ({ id: job.id, claimToken: job.claimToken! })),
          T0 + 1_000,
        ),
        ...Array.from({ length: 5 }, () => store.createJob(newJob()).then(({ job }) => wrote(job))),
      ]);
      for (const job of givenBack) wrote(await store.getJob(job.id));
      expect(await store.removeSettledJobs({ resolvedBefore: T0 + 1_004, limit: 10 })).toBe(5);
      const end = await store.lastSeq();

      await expect.poll(() => heard).toBeGreaterThanOrEqual(end);
      await reading;
      stop();
      expect(problems).toEqual([]);
      expect(created).toHaveLength(20);
      // What the follower saw is what a replay of everything since its start shows.
      const replay = await store.changesSince(start, 1_000);
      expect(seen).toEqual(new Map(replay.changes.map((change) => [change.kind === 'job' ? change.job.id : change.id, change.seq])));
    });

    describe('give-back (releaseClaims)', () => {
      it('gives claims back: pending and due at once, the attempt not counted, claimable by anyone, each a change', async () => {
        const a = (await store.createJob(newJob({ runAt: T0 + 1_000 }))).job;
        const b = (await store.createJob(newJob({ runAt: T0 + 2_000 }))).job;
        const claims = await store.claimDueJobs({ now: T0 + 5_000, limit: 10, leaseMs: 60_000, owner: 'w' });
        expect(claims.map((job) => job.id)).toEqual([a.id, b.id]);
        const mark = await store.lastSeq();

        await store.releaseClaims(
          claims.map((job) => ({ id: job.id, claimToken: job.claimToken! })),
          T0 + 5_500,
        );
        for (const claim of claims) {
          const job = await store.getJob(claim.id);
          expect(job).toMatchObject({ status: 'pending', runAt: claim.runAt, claimToken: null, leaseUntil: null, attempts: 0 });
          expect(job!.updatedSeq).toBeGreaterThan(mark);
        }
        const { changes, reset } = await store.changesSince(mark, 100);
        expect(reset).toBe(false);
        expect(jobsOf({ changes, reset }).map((job) => [job.id, job.status])).toEqual(
          expect.arrayContaining([
            [a.id, 'pending'],
            [b.id, 'pending'],
          ]),
        );
        const seqs = changes.map((change) => change.seq);
        expect(new Set(seqs).size).toBe(2);
        expect(await store.lastSeq()).toBe(Math.max(...seqs));
        expect(await store.countJobs()).toEqual({ pending: 2, running: 0, resolved: 0, failed: 0, cancelled: 0 });
        expect(await store.nextWakeAt()).toBe(T0 + 1_000);

        // The old claim holds nothing now; another worker takes the jobs, as their first attempt.
        expect(await store.renewLease(a.id, claims[0]!.claimToken!, T0 + 90_000)).toBe(false);
        expect(await store.settleJob(a.id, claims[0]!.claimToken!, resolved())).toBeUndefined();
        const again = await store.claimDueJobs({ now: T0 + 5_000, limit: 10, leaseMs: 60_000, owner: 'other' });
        expect(again.map((job) => job.id)).toEqual([a.id, b.id]);
        expect(again[0]).toMatchObject({ status: 'running', attempts: 1 });
        expect(again[0]!.claimToken).not.toBe(claims[0]!.claimToken);
      });

      it('leaves alone claims no longer held: settled, taken over after their lease, unknown, or with another token', async () => {
        for (let i = 0; i < 3; i++) await store.createJob(newJob({ runAt: T0 + i }));
        const [settled, lost, kept] = await store.claimDueJobs({ now: T0 + 5_000, limit: 3, leaseMs: 1_000, owner: 'w' });
        await store.settleJob(settled!.id, settled!.claimToken!, resolved());
        expect(await store.renewLease(kept!.id, kept!.claimToken!, T0 + 60_000)).toBe(true);
        const [takenOver] = await store.claimDueJobs({ now: T0 + 6_000, limit: 10, leaseMs: 60_000, owner: 'other' });
        expect(takenOver!.id).toBe(lost!.id);
        const mark = await store.lastSeq();
        const before = await Promise.all([settled, lost, kept].map((job) => store.getJob(job!.id)));

        await store.releaseClaims(
          [
            { id: settled!.id, claimToken: settled!.claimToken! },
            { id: lost!.id, claimToken: lost!.claimToken! },
            { id: uuidv7(), claimToken: randomUUID() },
            { id: kept!.id, claimToken: randomUUID() },
          ],
          T0 + 6_500,
        );
        expect(await store.lastSeq()).toBe(mark);
        expect((await store.changesSince(mark, 100)).changes).toEqual([]);
        expect(await Promise.all([settled, lost, kept].map((job) => store.getJob(job!.id)))).toEqual(before);
        expect(await store.countJobs()).toEqual({ pending: 0, running: 2, resolved: 1, failed: 0, cancelled: 0 });
      });

      it('keeps a give-back across a reopen', async () => {
        const { job } = await store.createJob(newJob());
        const [claim] = await store.claimDueJobs({ now: T0 + 5_000, limit: 1, leaseMs: 60_000, owner: 'w' });
        await store.releaseClaims([{ id: job.id, claimToken: claim!.claimToken! }], T0 + 5_500);
        const released = await store.getJob(job.id);
        const head = await store.lastSeq();
        await store.close();

        store = await harness.reopen();
        expect(await store.getJob(job.id)).toEqual(released);
        expect(await store.lastSeq()).toBe(head);
        // Claimed once, under one claim (a reopened file store once held two heap entries for it, and
        // handed the job out twice in one batch).
        const claims = await store.claimDueJobs({ now: T0 + 5_000, limit: 10, leaseMs: 60_000, owner: 'w' });
        expect(claims).toHaveLength(1);
        expect(claims).toMatchObject([{ id: job.id, attempts: 1 }]);
      });
    });

    describe('due notifications (onJobsDue)', () => {
      it('tells due listeners about created jobs once a claim can find them, with the earliest runAt', async () => {
        const heard: number[] = [];
        const found: string[] = [];
        const stop = store.onJobsDue((runAt) => {
          heard.push(runAt);
          void store
            .claimDueJobs({ now: runAt, limit: 10, leaseMs: 60_000, owner: 'woken' })
            .then((jobs) => found.push(...jobs.map((job) => job.id)));
        });
        const [, early] = await Promise.all([
          store.createJob(newJob({ runAt: T0 + 7_000 })),
          store.createJob(newJob({ runAt: T0 + 3_000 })),
        ]);
        await expect.poll(() => found).toContain(early.job.id);
        expect(Math.min(...heard)).toBe(T0 + 3_000);
        expect(heard.every((runAt) => runAt === T0 + 3_000 || runAt === T0 + 7_000)).toBe(true);
        stop();
      });

      it('tells due listeners about claims given back, and not about claims, renewals, outcomes or removals', async () => {
        const heard: number[] = [];
        const stop = store.onJobsDue((runAt) => heard.push(runAt));
        // Markers due earlier than anything else: heard in order after every notification before them.
        const hearMarker = async (runAt: number) => {
          await store.createJob(newJob({ runAt }));
          await expect.poll(() => heard).toContain(runAt);
        };
        const a = (await store.createJob(newJob({ runAt: T0 + 1_000 }))).job;
        const b = (await store.createJob(newJob({ runAt: T0 + 2_000 }))).job;
        await hearMarker(T0 - 1);
        heard.length = 0;

        const claims = await store.claimDueJobs({ now: T0 + 5_000, limit: 10, leaseMs: 60_000, owner: 'w' });
        expect(claims).toHaveLength(3);
        const marker = claims.find((job) => job.runAt === T0 - 1)!;
        await store.renewLease(a.id, claims.find((job) => job.id === a.id)!.claimToken!, T0 + 90_000);
        await store.settleJob(marker.id, marker.claimToken!, resolved(T0 + 100));
        expect(await store.removeSettledJobs({ resolvedBefore: T0 + 200, limit: 10 })).toBe(1);
        await store.releaseClaims(
          claims.filter((job) => job !== marker).map((job) => ({ id: job.id, claimToken: job.claimToken! })),
          T0 + 5_500,
        );
        await expect.poll(() => heard).toContain(T0 + 1_000);
        await hearMarker(T0 - 2);
        expect(heard).toEqual([T0 + 1_000, T0 - 2]);
        expect((await store.getJob(b.id))!.status).toBe('pending');
        stop();
      });
    });

    it('keeps jobs, outcomes, keys and the sequence across a reopen', async () => {
      const keyed = (await store.createJob(newJob({ idempotencyKey: 'durable-key' }))).job;
      const other = (await store.createJob(newJob({ runAt: T0 + 60_000 }))).job;
      const [claim] = await store.claimDueJobs({ now: T0 + 5000, limit: 1, leaseMs: 1000, owner: 'a' });
      const settled = await store.settleJob(keyed.id, claim!.claimToken!, resolved());
      const seq = await store.lastSeq();
      await store.close();

      store = await harness.reopen();
      expect(await store.getJob(keyed.id)).toEqual(settled);
      expect(await store.getJob(other.id)).toEqual(other);
      expect(await store.lastSeq()).toBe(seq);
      const replay = await store.createJob(newJob({ idempotencyKey: 'durable-key' }));
      expect(replay).toMatchObject({ created: false, job: { id: keyed.id } });
      const fresh = (await store.createJob(newJob())).job;
      expect(fresh.updatedSeq).toBeGreaterThan(seq);
    });

    describe("the creating client's key", () => {
      const A = 'ck-AAAAAAAAAAAAAA';
      const B = 'ck-BBBBBBBBBBBBBB';

      it('keeps it through create, get, list, claim, settle and the change feed; a job created with none has null', async () => {
        const a = (await store.createJob(newJob({ client: A }))).job;
        const b = (await store.createJob(newJob({ client: B, runAt: T0 + 1 }))).job;
        const none = (await store.createJob(newJob({ client: null, runAt: T0 + 2 }))).job;
        const absent = (await store.createJob(newJob({ runAt: T0 + 3 }))).job;
        expect([a.client, b.client, none.client, absent.client]).toEqual([A, B, null, null]);
        expect((await store.getJob(a.id))?.client).toBe(A);
        expect((await store.getJob(none.id))?.client).toBeNull();
        const clientsOf = (jobs: StoredJob[]) => Object.fromEntries(jobs.map((job) => [job.id, job.client]));
        const expected = { [a.id]: A, [b.id]: B, [none.id]: null, [absent.id]: null };
        expect(clientsOf(await store.listJobs({ limit: 10 }))).toEqual(expected);

        const claimed = await store.claimDueJobs({ now: T0 + 10_000, limit: 10, leaseMs: 60_000, owner: 'a' });
        expect(clientsOf(claimed)).toEqual(expected);
        const settled = await store.settleJob(a.id, claimed.find((job) => job.id === a.id)!.claimToken!, resolved());
        expect(settled?.client).toBe(A);
        expect(clientsOf(jobsOf(await store.changesSince(0, 100)))).toEqual(expected);
      });

      it('leaves it unchanged on an idempotent replay from another client', async () => {
        const first = (await store.createJob(newJob({ idempotencyKey: 'client-key-replay', client: A }))).job;
        const replay = await store.createJob(newJob({ idempotencyKey: 'client-key-replay', client: B }));
        expect(replay.created).toBe(false);
        expect(replay.job).toEqual(first);
        expect((await store.getJob(first.id))?.client).toBe(A);
      });

      it('keeps it across a reopen', async () => {
        const a = (await store.createJob(newJob({ client: A }))).job;
        const none = (await store.createJob(newJob({ client: null }))).job;
        const [claimed] = await store.claimDueJobs({ now: T0 + 10_000, limit: 1, leaseMs: 60_000, owner: 'a' });
        await store.close();

        store = await harness.reopen();
        expect((await store.getJob(a.id))?.client).toBe(A);
        expect((await store.getJob(none.id))?.client).toBeNull();
        expect((await store.getJob(claimed!.id))?.client).toBe(claimed!.client);
      });
    });

    describe('retention', () => {
      /** Creates a job, claims it and settles it at `resolvedAt` (failed for odd `n`). */
      async function settledJob(resolvedAt: number, n = 0, key: string | null = null): Promise<StoredJob> {
        const { job } = await store.createJob(newJob({ runAt: T0, idempotencyKey: key }));
        const [claim] = await store.claimDueJobs({ now: T0 + 1, limit: 1, leaseMs: 60_000, owner: 'w' });
        expect(claim!.id).toBe(job.id);
        const outcome: Outcome =
          n % 2 === 0 ? resolved(resolvedAt) : { status: 'failed', resolvedAt, error: { code: 'retry_limit_exceeded', message: 'm' } };
        return (await store.settleJob(job.id, claim!.claimToken!, outcome))!;
      }

      it('removes settled jobs resolved at or before the cutoff, oldest first, at most limit, and nothing else', async () => {
        const old = [await settledJob(T0 + 100, 0), await settledJob(T0 + 200, 1), await settledJob(T0 + 300, 0)];
        const recent = await settledJob(T0 + 10_000, 0);
        const pending = (await store.createJob(newJob({ runAt: T0 + 3_600_000 }))).job;

        expect(await store.removeSettledJobs({ resolvedBefore: T0 + 300, limit: 2 })).toBe(2);
        expect(await store.getJob(old[0]!.id)).toBeUndefined();
        expect(await store.getJob(old[1]!.id)).toBeUndefined();
        expect(await store.getJob(old[2]!.id)).toEqual(old[2]);
        expect(await store.removeSettledJobs({ resolvedBefore: T0 + 300, limit: 2 })).toBe(1);
        expect(await store.removeSettledJobs({ resolvedBefore: T0 + 300, limit: 2 })).toBe(0);

        expect(await store.getJob(recent.id)).toEqual(recent);
        expect(await store.getJob(pending.id)).toEqual(pending);
        expect((await store.listJobs({ limit: 10 })).map((j) => j.id)).toEqual([pending.id, recent.id]);
        expect(await store.listJobs({ limit: 10, status: 'failed' })).toEqual([]);
        expect(await store.countJobs()).toEqual({ pending: 1, running: 0, resolved: 1, failed: 0, cancelled: 0 });
      });

      it('makes room as MAX_STORED_JOBS asks: settled jobs of any age go, oldest first, and never a pending or running one', async () => {
        const settled = [await settledJob(T0 + 300, 0), await settledJob(T0 + 100, 1), await settledJob(T0 + 200, 0)];
        const pending = (await store.createJob(newJob({ runAt: T0 + 3_600_000 }))).job;
        const running = (await store.createJob(newJob({ runAt: T0 }))).job;
        await store.claimDueJobs({ now: T0 + 1, limit: 1, leaseMs: 60_000, owner: 'w' });
        // The cutoff StoredCap passes: far ahead of any resolvedAt.
        const anyAge = T0 + 100 * 365 * 24 * 3600_000;
        expect(await store.removeSettledJobs({ resolvedBefore: anyAge, limit: 1 })).toBe(1);
        expect(await store.getJob(settled[1]!.id)).toBeUndefined();
        expect(await store.removeSettledJobs({ resolvedBefore: anyAge, limit: 10 })).toBe(2);
        expect(await store.removeSettledJobs({ resolvedBefore: anyAge, limit: 10 })).toBe(0);
        expect((await store.listJobs({ limit: 10 })).map((j) => j.id).sort()).toEqual([pending.id, running.id].sort());
        expect(await store.countJobs()).toEqual({ pending: 1, running: 1, resolved: 0, failed: 0, cancelled: 0 });
      });

      it('numbers each removal as a change and replays it as removed, in sequence order', async () => {
        const a = await settledJob(T0 + 100);
        const b = await settledJob(T0 + 200);
        const mark = await store.lastSeq();
        const later = (await store.createJob(newJob({ runAt: T0 + 3_600_000 }))).job;
        expect(await store.removeSettledJobs({ resolvedBefore: T0 + 1_000, limit: 10 })).toBe(2);
        const head = await store.lastSeq();
        expect(head).toBeGreaterThan(later.updatedSeq);

        const { changes, reset } = await store.changesSince(mark, 100);
        expect(reset).toBe(false);
        expect(changes.map((c) => (c.kind === 'job' ? c.job.id : `removed:${c.id}`))).toEqual([
          later.id,
          `removed:${a.id}`,
          `removed:${b.id}`,
        ]);
        const seqs = changes.map((c) => c.seq);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        expect(new Set(seqs).size).toBe(seqs.length);
        expect(seqs.at(-1)).toBe(head);
        expect(seqs[0]).toBeGreaterThan(mark);
        // A reader that was up to date before the removals hears only the removals.
        const removals = (await store.changesSince(later.updatedSeq, 100)).changes;
        expect(removals.map((c) => c.kind)).toEqual(['removed', 'removed']);
        expect(new Set(removals.map((c) => (c.kind === 'removed' ? c.id : '')))).toEqual(new Set([a.id, b.id]));
      });

      it('tells commit listeners about removals', async () => {
        await settledJob(T0 + 100);
        const seen: number[] = [];
        const stop = store.onCommit((seq) => seen.push(seq));
        await store.removeSettledJobs({ resolvedBefore: T0 + 1_000, limit: 10 });
        const head = await store.lastSeq();
        await expect.poll(() => seen.at(-1)).toBe(head);
        stop();
      });

      it('removes each job once when many sweepers run at once', async () => {
        const ids = new Set<string>();
        for (let i = 0; i < 30; i++) ids.add((await settledJob(T0 + i, i)).id);
        const mark = await store.lastSeq();
        let removed = 0;
        for (let round = 0; round < 20 && removed < 30; round++) {
          const counts = await Promise.all([1, 2, 3].map(() => store.removeSettledJobs({ resolvedBefore: T0 + 1_000, limit: 7 })));
          removed += counts.reduce((sum, n) => sum + n, 0);
        }
        expect(removed).toBe(30);
        const { changes } = await store.changesSince(mark, 100);
        expect(changes).toHaveLength(30);
        expect(new Set(changes.map((c) => (c.kind === 'removed' ? c.id : 'not a removal')))).toEqual(ids);
        expect(await store.countJobs()).toEqual({ pending: 0, running: 0, resolved: 0, failed: 0, cancelled: 0 });
      });

      it('keeps removals across a reopen', async () => {
        const gone = await settledJob(T0 + 100, 0, 'gone-key');
        const kept = await settledJob(T0 + 50_000);
        await store.removeSettledJobs({ resolvedBefore: T0 + 1_000, limit: 10 });
        const head = await store.lastSeq();
        await store.close();

        store = await harness.reopen();
        expect(await store.getJob(gone.id)).toBeUndefined();
        expect(await store.getJob(kept.id)).toEqual(kept);
        expect(await store.lastSeq()).toBe(head);
        expect(await store.countJobs()).toEqual({ pending: 0, running: 0, resolved: 1, failed: 0, cancelled: 0 });
        // The removed job's key went with it.
        const again = await store.createJob(newJob({ idempotencyKey: 'gone-key' }));
        expect(again.created).toBe(true);
        expect(again.job.updatedSeq).toBeGreaterThan(head);
      });

      it('treats a key whose job was created before keysExpireBefore as unused', async () => {
        const first = (await store.createJob(newJob({ idempotencyKey: 'k', createdAt: T0 }))).job;
        const within = await store.createJob(newJob({ idempotencyKey: 'k', createdAt: T0 + 500, keysExpireBefore: T0 }));
        expect(within).toMatchObject({ created: false, job: { id: first.id } });

        const after = await store.createJob(newJob({ idempotencyKey: 'k', createdAt: T0 + 2_000, keysExpireBefore: T0 + 1_000 }));
        expect(after.created).toBe(true);
        expect(after.job.id).not.toBe(first.id);
        expect(await store.getJob(first.id)).toMatchObject({ id: first.id, status: 'pending' });
        const replay = await store.createJob(newJob({ idempotencyKey: 'k', createdAt: T0 + 2_500, keysExpireBefore: T0 + 1_000 }));
        expect(replay).toMatchObject({ created: false, job: { id: after.job.id } });
        expect((await store.countJobs()).pending).toBe(2);
      });

      it('forgets expired keys for good, keeping their jobs', async () => {
        const old = (await store.createJob(newJob({ idempotencyKey: 'old', createdAt: T0 }))).job;
        const young = (await store.createJob(newJob({ idempotencyKey: 'young', createdAt: T0 + 5_000 }))).job;
        expect(await store.expireIdempotencyKeys({ createdBefore: T0 + 1_000, limit: 10 })).toBe(1);
        expect(await store.expireIdempotencyKeys({ createdBefore: T0 + 1_000, limit: 10 })).toBe(0);
        await store.close();

        store = await harness.reopen();
        expect(await store.getJob(old.id)).toMatchObject({ id: old.id, status: 'pending' });
        expect(await store.createJob(newJob({ idempotencyKey: 'old' }))).toMatchObject({ created: true });
        expect(await store.createJob(newJob({ idempotencyKey: 'young' }))).toMatchObject({ created: false, job: { id: young.id } });
      });
    });

    describe('actions', () => {
      /** A job created due at T0 + 5 s and claimed at T0 + 5 s under a long lease. */
      async function runningJob(): Promise<StoredJob> {
        const { job } = await store.createJob(newJob());
        const claimed = await store.claimDueJobs({ now: T0 + 5_000, limit: 10, leaseMs: 60_000, owner: 'w' });
        const claim = claimed.find((c) => c.id === job.id);
        expect(claim).toBeDefined();
        return claim!;
      }
      const failure = (at: number): Outcome => ({
        status: 'failed',
        resolvedAt: at,
        error: { code: 'unsplash_not_found', message: 'none' },
      });

      it('cancels a pending job once, as a change, and never runs it', async () => {
        const { job } = await store.createJob(newJob());
        const before = await store.lastSeq();
        const cancel = await store.cancelJob(job.id, T0 + 1_000);
        expect(cancel).toMatchObject({
          kind: 'done',
          job: { id: job.id, status: 'cancelled', resolvedAt: T0 + 1_000, result: null, error: null },
        });
        if (cancel.kind !== 'done') return;
        expect(cancel.job.updatedSeq).toBeGreaterThan(before);
        expect(await store.lastSeq()).toBe(cancel.job.updatedSeq);
        expect(await store.getJob(job.id)).toEqual(cancel.job);
        expect(jobsOf(await store.changesSince(before, 10)).map((j) => j.status)).toEqual(['cancelled']);

        expect(await store.cancelJob(job.id, T0 + 2_000)).toEqual({ kind: 'unchanged', job: cancel.job });
        expect(await store.lastSeq()).toBe(cancel.job.updatedSeq);
        expect(await store.claimDueJobs({ now: T0 + 99_000, limit: 10, leaseMs: 1000, owner: 'w' })).toEqual([]);
        expect(await store.nextWakeAt()).toBeNull();
        expect(await store.countJobs()).toEqual({ pending: 0, running: 0, resolved: 0, failed: 0, cancelled: 1 });
        expect((await store.listJobs({ limit: 10, status: 'cancelled' })).map((j) => j.id)).toEqual([job.id]);
        expect(await store.listJobs({ limit: 10, status: 'pending' })).toEqual([]);
      });

      it('cancels a running job: its claim ends with it, its attempt ends cancelled, and a late outcome is not written', async () => {
        const ended: { id: string; claimToken: string }[] = [];
        const stop = store.onClaimsEnded((claims) => ended.push(...claims));
        try {
          const claim = await runningJob();
          expect(claim).toMatchObject({ claimedAt: T0 + 5_000, endedAttempts: [] });
          const cancel = await store.cancelJob(claim.id, T0 + 7_000);
          expect(cancel).toMatchObject({
            kind: 'done',
            job: { status: 'cancelled', claimToken: null, leaseUntil: null, claimedAt: null, resolvedAt: T0 + 7_000 },
          });
          if (cancel.kind !== 'done') return;
          expect(cancel.job.endedAttempts).toEqual([{ startedAt: T0 + 5_000, endedAt: T0 + 7_000, outcome: 'cancelled', error: null }]);
          await expect.poll(() => ended, { timeout: 5_000 }).toEqual([{ id: claim.id, claimToken: claim.claimToken }]);

          expect(await store.settleJob(claim.id, claim.claimToken!, resolved(T0 + 8_000))).toBeUndefined();
          expect(await store.renewLease(claim.id, claim.claimToken!, T0 + 90_000)).toBe(false);
          expect(await store.getJob(claim.id)).toEqual(cancel.job);
          expect(await store.claimDueJobs({ now: T0 + 999_000, limit: 10, leaseMs: 1000, owner: 'b' })).toEqual([]);
        } finally {
          stop();
        }
      });

      it('refuses to cancel a resolved or failed job, and knows no unknown one', async () => {
        const a = await runningJob();
        const b = await runningJob();
        const resolvedJob = (await store.settleJob(a.id, a.claimToken!, resolved()))!;
        const failedJob = (await store.settleJob(b.id, b.claimToken!, failure(T0 + 9_000)))!;
        const seq = await store.lastSeq();
        expect(await store.cancelJob(a.id, T0 + 20_000)).toEqual({ kind: 'conflict', job: resolvedJob });
        expect(await store.cancelJob(b.id, T0 + 20_000)).toEqual({ kind: 'conflict', job: failedJob });
        expect(await store.cancelJob(uuidv7(), T0 + 20_000)).toEqual({ kind: 'not-found' });
        expect(await store.lastSeq()).toBe(seq);
      });

      it('runs a pending job now: due at once, as a change; nothing else', async () => {
        const { job } = await store.createJob(newJob({ runAt: T0 + 300_000 }));
        const early = (await store.createJob(newJob({ runAt: T0 + 1_000 }))).job;
        const run = await store.runJobNow(job.id, T0 + 2_000);
        expect(run).toMatchObject({ kind: 'done', job: { status: 'pending', runAt: T0 + 2_000 } });
        // Due earlier already: stays as it is.
        expect(await store.runJobNow(early.id, T0 + 2_000)).toMatchObject({ kind: 'done', job: { runAt: T0 + 1_000 } });
        expect(await store.nextWakeAt()).toBe(T0 + 1_000);
        const claimed = await store.claimDueJobs({ now: T0 + 2_000, limit: 10, leaseMs: 60_000, owner: 'w' });
        expect(claimed.map((c) => c.id).sort()).toEqual([job.id, early.id].sort());

        expect(await store.runJobNow(job.id, T0 + 3_000)).toMatchObject({ kind: 'conflict', job: { status: 'running' } });
        expect(await store.runJobNow(uuidv7(), T0)).toEqual({ kind: 'not-found' });
        const cancelled = (await store.createJob(newJob())).job;
        await store.cancelJob(cancelled.id, T0);
        expect(await store.runJobNow(cancelled.id, T0)).toMatchObject({ kind: 'conflict', job: { status: 'cancelled' } });
      });

      it('retries a failed or cancelled job: pending and due now, without its error, keeping its attempts', async () => {
        const claim = await runningJob();
        await store.settleJob(claim.id, claim.claimToken!, failure(T0 + 6_000));
        const retry = await store.retryJob(claim.id, T0 + 10_000);
        expect(retry).toMatchObject({
          kind: 'done',
          job: { status: 'pending', runAt: T0 + 10_000, resolvedAt: null, result: null, error: null, claimToken: null },
        });
        if (retry.kind !== 'done') return;
        expect(retry.job.endedAttempts).toEqual([
          { startedAt: T0 + 5_000, endedAt: T0 + 6_000, outcome: 'failed', error: { code: 'unsplash_not_found', message: 'none' } },
        ]);
        expect(await store.countJobs()).toMatchObject({ pending: 1, failed: 0 });
        expect(await store.retryJob(claim.id, T0 + 10_000)).toMatchObject({ kind: 'conflict', job: { status: 'pending' } });

        const [again] = await store.claimDueJobs({ now: T0 + 10_000, limit: 1, leaseMs: 60_000, owner: 'w' });
        expect(again).toMatchObject({ id: claim.id, claimedAt: T0 + 10_000 });
        expect(await store.retryJob(claim.id, T0 + 11_000)).toMatchObject({ kind: 'conflict', job: { status: 'running' } });
        const settled = await store.settleJob(claim.id, again!.claimToken!, resolved(T0 + 12_000));
        expect(settled!.endedAttempts.map((a) => a.outcome)).toEqual(['failed', 'resolved']);
        expect(await store.retryJob(claim.id, T0 + 13_000)).toMatchObject({ kind: 'conflict', job: { status: 'resolved' } });

        const cancelled = (await store.createJob(newJob())).job;
        await store.cancelJob(cancelled.id, T0 + 1_000);
        expect(await store.retryJob(cancelled.id, T0 + 2_000)).toMatchObject({
          kind: 'done',
          job: { status: 'pending', runAt: T0 + 2_000 },
        });
        expect(await store.retryJob(uuidv7(), T0)).toEqual({ kind: 'not-found' });
      });

      it('deletes a job of any status as a removal; a running one stops under its holder', async () => {
        const ended: { id: string; claimToken: string }[] = [];
        const stop = store.onClaimsEnded((claims) => ended.push(...claims));
        try {
          const pending = (await store.createJob(newJob({ runAt: T0 + 600_000 }))).job;
          const running = await runningJob();
          const mark = await store.lastSeq();
          expect(await store.deleteJob(pending.id)).toBe(true);
          expect(await store.deleteJob(running.id)).toBe(true);
          await expect.poll(() => ended, { timeout: 5_000 }).toEqual([{ id: running.id, claimToken: running.claimToken }]);
          expect(await store.settleJob(running.id, running.claimToken!, resolved())).toBeUndefined();
          expect(await store.getJob(pending.id)).toBeUndefined();
          expect(await store.getJob(running.id)).toBeUndefined();
          expect(await store.deleteJob(pending.id)).toBe(false);
          expect(await store.deleteJob(uuidv7())).toBe(false);
          const { changes } = await store.changesSince(mark, 10);
          expect(changes.map((c) => (c.kind === 'removed' ? c.id : c.kind))).toEqual([pending.id, running.id]);
          expect(await store.countJobs()).toEqual({ pending: 0, running: 0, resolved: 0, failed: 0, cancelled: 0 });
          expect(await store.nextWakeAt()).toBeNull();
        } finally {
          stop();
        }
      });

      it('records each attempt: its start, its end and how it ended, the newest 20', async () => {
        const { job } = await store.createJob(newJob({ runAt: T0 }));
        // A lease that runs out each time: 22 claims, 21 attempts ended by the next claim.
        for (let i = 0; i < 22; i++) {
          const [claim] = await store.claimDueJobs({ now: T0 + 1_000 * (i + 1), limit: 1, leaseMs: 500, owner: `w${i}` });
          expect(claim).toMatchObject({ id: job.id, claimedAt: T0 + 1_000 * (i + 1) });
        }
        const now = (await store.getJob(job.id))!;
        expect(now.endedAttempts).toHaveLength(20);
        expect(now.endedAttempts[0]).toEqual({ startedAt: T0 + 2_000, endedAt: T0 + 3_000, outcome: 'lease-expired', error: null });
        expect(now.endedAttempts.at(-1)).toEqual({ startedAt: T0 + 21_000, endedAt: T0 + 22_000, outcome: 'lease-expired', error: null });
        const settled = await store.settleJob(job.id, now.claimToken!, failure(T0 + 22_500));
        expect(settled!.endedAttempts).toHaveLength(20);
        expect(settled!.endedAttempts.at(-1)).toEqual({
          startedAt: T0 + 22_000,
          endedAt: T0 + 22_500,
          outcome: 'failed',
          error: { code: 'unsplash_not_found', message: 'none' },
        });
        expect(settled!.claimedAt).toBeNull();
      });

      it('records a claim given back', async () => {
        const claim = await runningJob();
        await store.releaseClaims([{ id: claim.id, claimToken: claim.claimToken! }], T0 + 5_500);
        const back = (await store.getJob(claim.id))!;
        expect(back).toMatchObject({ status: 'pending', claimedAt: null });
        expect(back.endedAttempts).toEqual([{ startedAt: T0 + 5_000, endedAt: T0 + 5_500, outcome: 'given-back', error: null }]);
      });

      it('keeps every action across a reopen', async () => {
        const retried = await runningJob();
        const cancelled = (await store.createJob(newJob())).job;
        const ran = (await store.createJob(newJob({ runAt: T0 + 600_000 }))).job;
        const deleted = (await store.createJob(newJob())).job;
        await store.cancelJob(cancelled.id, T0 + 1_000);
        await store.runJobNow(ran.id, T0 + 2_000);
        await store.deleteJob(deleted.id);
        await store.cancelJob(retried.id, T0 + 6_000);
        await store.retryJob(retried.id, T0 + 7_000);
        const before = await Promise.all([cancelled.id, ran.id, retried.id].map((id) => store.getJob(id)));
        const seq = await store.lastSeq();
        await store.close();

        store = await harness.reopen();
        expect(await Promise.all([cancelled.id, ran.id, retried.id].map((id) => store.getJob(id)))).toEqual(before);
        expect(before.map((job) => job?.status)).toEqual(['cancelled', 'pending', 'pending']);
        expect(before[2]!.endedAttempts.map((a) => a.outcome)).toEqual(['cancelled']);
        expect(await store.getJob(deleted.id)).toBeUndefined();
        expect(await store.lastSeq()).toBe(seq);
      });

      it('finds jobs by short id (the last six hex digits of the id), newest first, with the other filters', async () => {
        const jobs = [];
        for (let i = 0; i < 5; i++) jobs.push((await store.createJob(newJob())).job);
        const target = jobs[2]!;
        const shortId = target.id.slice(-6);
        expect((await store.listJobs({ shortId, limit: 10 })).map((j) => j.id)).toEqual([target.id]);
        expect(await store.listJobs({ shortId, limit: 10, status: 'failed' })).toEqual([]);
        expect(await store.listJobs({ shortId, limit: 10, before: target.id })).toEqual([]);
        expect(await store.listJobs({ shortId: shortId === '000000' ? '000001' : '000000', limit: 10 })).toEqual([]);
        await store.deleteJob(target.id);
        expect(await store.listJobs({ shortId, limit: 10 })).toEqual([]);
      });

      it('moves a job only along JOB_TRANSITIONS', async () => {
        const moves: [JobStatus, JobStatus][] = [];
        const track = async (id: string, change: () => Promise<unknown>): Promise<void> => {
          const before = (await store.getJob(id))!.status;
          await change();
          const after = (await store.getJob(id))?.status;
          if (after !== undefined && after !== before) moves.push([before, after]);
        };
        const a = await runningJob();
        await track(a.id, () => store.settleJob(a.id, a.claimToken!, failure(T0 + 6_000)));
        await track(a.id, () => store.retryJob(a.id, T0 + 7_000));
        await track(a.id, () => store.claimDueJobs({ now: T0 + 7_000, limit: 1, leaseMs: 60_000, owner: 'w' }));
        await track(a.id, () => store.cancelJob(a.id, T0 + 8_000));
        await track(a.id, () => store.retryJob(a.id, T0 + 9_000));
        await track(a.id, () => store.cancelJob(a.id, T0 + 10_000));
        const claim = (await store.claimDueJobs({ now: T0 + 99_000, limit: 1, leaseMs: 60_000, owner: 'w' }))[0];
        expect(claim).toBeUndefined();
        expect(moves).toEqual([
          ['running', 'failed'],
          ['failed', 'pending'],
          ['pending', 'running'],
          ['running', 'cancelled'],
          ['cancelled', 'pending'],
          ['pending', 'cancelled'],
        ]);
        for (const [from, to] of moves) expect(isAllowedTransition(from, to), `${from} → ${to}`).toBe(true);
        expect(isAllowedTransition('resolved', 'pending')).toBe(false);
        expect(isAllowedTransition('cancelled', 'running')).toBe(false);
      });

      it('keeps one token key, across a reopen', async () => {
        const key = store.tokenKey;
        expect(key.length).toBeGreaterThanOrEqual(32);
        await store.close();
        store = await harness.reopen();
        expect(store.tokenKey.equals(key)).toBe(true);
      });

      describe('races', () => {
        it('cancel vs claim: a job cancelled while it is being claimed ends cancelled, and its claim holds nothing', async () => {
          const jobs = await Promise.all(Array.from({ length: 20 }, () => store.createJob(newJob({ runAt: T0 }))));
          const [claims, cancels] = await Promise.all([
            store.claimDueJobs({ now: T0 + 1, limit: 20, leaseMs: 60_000, owner: 'w' }),
            Promise.all(jobs.map(({ job }) => store.cancelJob(job.id, T0 + 1))),
          ]);
          expect(cancels.every((c) => c.kind === 'done')).toBe(true);
          for (const claim of claims) expect(await store.settleJob(claim.id, claim.claimToken!, resolved())).toBeUndefined();
          expect(await store.countJobs()).toMatchObject({ cancelled: 20, running: 0, resolved: 0 });
          expect(await store.claimDueJobs({ now: T0 + 999_000, limit: 20, leaseMs: 1, owner: 'w' })).toEqual([]);
        });

        it('cancel vs settle: exactly one wins, and a cancelled job never has a result', async () => {
          const claims = await Promise.all(Array.from({ length: 20 }, () => store.createJob(newJob({ runAt: T0 })))).then(() =>
            store.claimDueJobs({ now: T0 + 1, limit: 20, leaseMs: 60_000, owner: 'w' }),
          );
          expect(claims).toHaveLength(20);
          // Half started cancel first, half settle first.
          const outcomes = await Promise.all(
            claims.map(async (claim, i) => {
              const settleFirst = i % 2 === 1 ? store.settleJob(claim.id, claim.claimToken!, resolved(T0 + 2)) : null;
              const cancel = store.cancelJob(claim.id, T0 + 2);
              const settled = settleFirst ?? store.settleJob(claim.id, claim.claimToken!, resolved(T0 + 2));
              return [await cancel, await settled] as const;
            }),
          );
          for (const [i, [cancel, settled]] of outcomes.entries()) {
            const job = (await store.getJob(claims[i]!.id))!;
            if (settled) {
              expect(cancel).toMatchObject({ kind: 'conflict', job: { status: 'resolved' } });
              expect(job).toMatchObject({ status: 'resolved' });
              expect(job.result).not.toBeNull();
            } else {
              expect(cancel.kind).toBe('done');
              expect(job).toMatchObject({ status: 'cancelled', result: null });
              expect(job.endedAttempts.map((a) => a.outcome)).toEqual(['cancelled']);
            }
          }
          const counts = await store.countJobs();
          expect(counts.resolved + counts.cancelled).toBe(20);
        });

        it('retry vs retention: a failed job is either retried and kept, or removed and then unknown', async () => {
          const claims = await Promise.all(Array.from({ length: 10 }, () => store.createJob(newJob({ runAt: T0 })))).then(() =>
            store.claimDueJobs({ now: T0 + 1, limit: 10, leaseMs: 60_000, owner: 'w' }),
          );
          for (const claim of claims) await store.settleJob(claim.id, claim.claimToken!, failure(T0 + 2));
          const [retries, removed] = await Promise.all([
            Promise.all(claims.map((claim) => store.retryJob(claim.id, T0 + 3))),
            store.removeSettledJobs({ resolvedBefore: T0 + 2, limit: 10 }),
          ]);
          const kept = retries.filter((r) => r.kind === 'done').length;
          expect(retries.every((r) => r.kind === 'done' || r.kind === 'not-found')).toBe(true);
          expect(kept + removed).toBe(10);
          for (const [i, retry] of retries.entries()) {
            const job = await store.getJob(claims[i]!.id);
            if (retry.kind === 'done') expect(job).toMatchObject({ status: 'pending', resolvedAt: null });
            else expect(job).toBeUndefined();
          }
          // A retried job is no longer settled: retention leaves it.
          expect(await store.removeSettledJobs({ resolvedBefore: T0 + 999_000, limit: 10 })).toBe(0);
          expect(await store.countJobs()).toMatchObject({ pending: kept, failed: 0 });
        });

        it('delete vs a running attempt: the job is gone, whichever lands first, and stays gone', async () => {
          const claims = await Promise.all(Array.from({ length: 10 }, () => store.createJob(newJob({ runAt: T0 })))).then(() =>
            store.claimDueJobs({ now: T0 + 1, limit: 10, leaseMs: 60_000, owner: 'w' }),
          );
          const results = await Promise.all(
            claims.map((claim) => Promise.all([store.deleteJob(claim.id), store.settleJob(claim.id, claim.claimToken!, resolved(T0 + 2))])),
          );
          expect(results.every(([deleted]) => deleted)).toBe(true);
          for (const claim of claims) {
            expect(await store.getJob(claim.id)).toBeUndefined();
            expect(await store.settleJob(claim.id, claim.claimToken!, resolved(T0 + 3))).toBeUndefined();
          }
          expect(await store.countJobs()).toEqual({ pending: 0, running: 0, resolved: 0, failed: 0, cancelled: 0 });
          expect(await store.claimDueJobs({ now: T0 + 999_000, limit: 10, leaseMs: 1, owner: 'w' })).toEqual([]);
        });
      });
    });
  });
}
