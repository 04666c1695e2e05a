import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import type { JobStore } from '../../src/store/job-store.js';
import { ChangeListener } from '../../src/store/postgres/change-listener.js';
import { migrate, MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { FEED_SQL } from '../../src/store/postgres/feed-sql.js';
import { JOB_SQL, listJobsStatement } from '../../src/store/postgres/job-sql.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { StoreUnavailableError } from '../../src/store/store-errors.js';
import { fakePhoto } from '../http/fake-image-source.js';
import { describeJobStoreContract, jobsOf } from './job-store-contract.js';
import { throwawayPostgresPerFile } from './postgres-server.js';

const logger = pino({ level: 'silent' });
const { server, freshDatabase } = throwawayPostgresPerFile('contract');

describeJobStoreContract('postgres', async () => {
  const databaseUrl = await freshDatabase();
  const open = (): Promise<JobStore> => openPostgresStore({ databaseUrl, logger });
  return { store: await open(), reopen: open, cleanup: async () => undefined };
});

describe('PostgreSQL store across processes', () => {
  const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

  it('never hands one job to two worker pools claiming at the same time', async () => {
    const databaseUrl = await freshDatabase();
    // Separate stores have separate pools and listeners, as separate worker processes would.
    const workers = await Promise.all([1, 2, 3].map(() => openPostgresStore({ databaseUrl, logger, poolSize: 4 })));
    const api = workers[0]!;
    try {
      const ids = new Set<string>();
      for (let i = 0; i < 300; i++)
        ids.add((await api.createJob({ id: uuidv7(), createdAt: T0, runAt: T0 + i, idempotencyKey: null })).job.id);

      const claimed: string[] = [];
      await Promise.all(
        workers.flatMap((store, w) =>
          Array.from({ length: 4 }, async (_, loop) => {
            for (;;) {
              const batch = await store.claimDueJobs({ now: T0 + 10_000, limit: 7, leaseMs: 60_000, owner: `w${w}.${loop}` });
              if (batch.length === 0) return;
              claimed.push(...batch.map((j) => j.id));
            }
          }),
        ),
      );

      expect(claimed).toHaveLength(300);
      expect(new Set(claimed)).toEqual(ids);
      // Every claim took its own change number.
      const changes = await api.changesSince(0, 1000);
      expect(new Set(jobsOf(changes).map((j) => j.updatedSeq)).size).toBe(300);
    } finally {
      await Promise.all(workers.map((s) => s.close()));
    }
  });

  it('creates one job per idempotency key when API processes send overlapping batches of creates', async () => {
    const databaseUrl = await freshDatabase();
    const apis = await Promise.all([1, 2, 3].map(() => openPostgresStore({ databaseUrl, logger, poolSize: 4 })));
    try {
      // One key already used; the rest arrive from every process at once, mixed with unkeyed creates.
      const existing = await apis[0]!.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: 'key-0' });
      const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
      const outcomes = await Promise.all(
        apis.flatMap((store) => [
          ...keys.map((idempotencyKey) =>
            store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey }).then((o) => ({ key: idempotencyKey, ...o })),
          ),
          ...Array.from({ length: 30 }, () =>
            store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null }).then((o) => ({ key: null, ...o })),
          ),
        ]),
      );

      for (const key of keys) {
        const forKey = outcomes.filter((o) => o.key === key);
        expect(new Set(forKey.map((o) => o.job.id)).size).toBe(1);
        expect(forKey.filter((o) => o.created)).toHaveLength(key === 'key-0' ? 0 : 1);
      }
      expect(outcomes.find((o) => o.key === 'key-0')!.job.id).toBe(existing.job.id);
      expect(outcomes.filter((o) => o.key === null && o.created)).toHaveLength(90);
      expect((await apis[0]!.countJobs()).pending).toBe(40 + 90);
      // Each job has its own change number, and the reader sees each exactly once.
      const changes = await apis[1]!.changesSince(0, 1000);
      expect(jobsOf(changes)).toHaveLength(130);
      expect(new Set(jobsOf(changes).map((j) => j.updatedSeq)).size).toBe(130);
    } finally {
      await Promise.all(apis.map((s) => s.close()));
    }
  });

  it('settles each job once when batches of settles from two workers race over reclaimed jobs', async () => {
    const databaseUrl = await freshDatabase();
    const [a, b] = await Promise.all([1, 2].map(() => openPostgresStore({ databaseUrl, logger, poolSize: 4 })));
    try {
      for (let i = 0; i < 200; i++) await a!.createJob({ id: uuidv7(), createdAt: T0, runAt: T0 + i, idempotencyKey: null });
      // A claims everything under a lease that has ended by T0 + 2000; B then takes the first half again.
      const claimedByA = await a!.claimDueJobs({ now: T0 + 1_000, limit: 200, leaseMs: 500, owner: 'a' });
      expect(claimedByA).toHaveLength(200);
      const claimedByB = await b!.claimDueJobs({ now: T0 + 2_000, limit: 100, leaseMs: 60_000, owner: 'b' });
      expect(claimedByB).toHaveLength(100);
      const reclaimed = new Set(claimedByB.map((job) => job.id));

      const outcome = (owner: string) => ({
        status: 'resolved' as const,
        resolvedAt: T0 + 3_000,
        result: {
          source: 'demo' as const,
          photo: {
            id: owner,
            description: null,
            color: '#000000',
            blurHash: null,
            width: 1,
            height: 1,
            urls: { raw: '/', full: '/', regular: '/', small: '/', thumb: '/' },
            link: '/',
            author: { name: owner, url: '/' },
            downloadLocation: null,
          },
        },
      });
      const [fromA, fromB] = await Promise.all([
        Promise.all(claimedByA.map((job) => a!.settleJob(job.id, job.claimToken!, outcome('a')))),
        Promise.all(claimedByB.map((job) => b!.settleJob(job.id, job.claimToken!, outcome('b')))),
      ]);
      // A's batches mix live claims and void ones: only the live ones settle; B settles the rest.
      claimedByA.forEach((job, i) => expect(fromA[i]?.result?.photo.id).toBe(reclaimed.has(job.id) ? undefined : 'a'));
      expect(fromB.every((job) => job?.status === 'resolved' && job.result!.photo.id === 'b')).toBe(true);
      const changes = await a!.changesSince(0, 10_000);
      expect(jobsOf(changes).every((job) => job.status === 'resolved')).toBe(true);
      expect(new Set(jobsOf(changes).map((job) => job.updatedSeq)).size).toBe(200);
      expect(await a!.countJobs()).toMatchObject({ resolved: 200, running: 0, pending: 0 });
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('keeps counts by status that match the table: taken up from an older schema, then through every kind of write', async () => {
    const databaseUrl = await freshDatabase();
    // A database at schema 1 that already holds jobs, as one made by the first release would.
    const old = new pg.Client({ connectionString: databaseUrl });
    await old.connect();
    try {
      await old.query(MIGRATIONS[0]!.sql);
      await old.query(
        `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      await old.query(`INSERT INTO schema_migrations (version, name) VALUES (1, 'jobs and the change counter')`);
      await old.query(`
        INSERT INTO jobs (id, status, created_at, run_at, updated_seq, attempts, resolved_at, result)
        SELECT gen_random_uuid(), 'pending', now(), now(), n, 0, NULL, NULL FROM generate_series(1, 7) n
        UNION ALL
        SELECT gen_random_uuid(), 'resolved', now(), now(), n, 1, now(), '{}'::jsonb FROM generate_series(8, 10) n`);
      await old.query(`UPDATE simmer_change_seq SET value = 10`);
    } finally {
      await old.end();
    }

    const [a, b] = await Promise.all([1, 2].map(() => openPostgresStore({ databaseUrl, logger, poolSize: 4 })));
    const truth = async () => {
      const check = new pg.Client({ connectionString: databaseUrl });
      await check.connect();
      try {
        const { rows } = await check.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM jobs GROUP BY status');
        const counts = { pending: 0, running: 0, resolved: 0, failed: 0, cancelled: 0 } as Record<string, number>;
        for (const row of rows) counts[row.status] = Number(row.n);
        return counts;
      } finally {
        await check.end();
      }
    };
    try {
      expect(await a!.countJobs()).toEqual({ pending: 7, running: 0, resolved: 3, failed: 0, cancelled: 0 });
      // Jobs from before migration 5 have no client key.
      expect((await a!.listJobs({ limit: 100 })).map((job) => job.client)).toEqual(Array(10).fill(null));
      // Each kind of write, from two stores, must leave the counts equal to the table.
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b)!.createJob({ id: uuidv7(), createdAt: T0, runAt: T0 + i, idempotencyKey: i % 4 === 0 ? `k${i % 8}` : null }),
        ),
      );
      expect(await a!.countJobs()).toEqual(await truth());
      const claimed = await a!.claimDueJobs({ now: Date.now() + 60_000, limit: 30, leaseMs: 60_000, owner: 'a' });
      await a!.renewLease(claimed[0]!.id, claimed[0]!.claimToken!, Date.now() + 120_000);
      const failure = { status: 'failed' as const, resolvedAt: T0, error: { code: 'internal_error' as const, message: 'x' } };
      await Promise.all(claimed.slice(0, 12).map((job) => b!.settleJob(job.id, job.claimToken!, failure)));
      expect(await a!.countJobs()).toEqual(await truth());
      expect(await b!.countJobs()).toMatchObject({ running: 18, failed: 12 });
      await a!.releaseClaims(
        claimed.slice(12, 16).map((job) => ({ id: job.id, claimToken: job.claimToken! })),
        Date.now(),
      );
      expect(await a!.countJobs()).toEqual(await truth());
      // Leases that ended (running → running) and due jobs (pending → running) in one claim.
      const short = await a!.claimDueJobs({ now: Date.now(), limit: 5, leaseMs: 1, owner: 'a' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const reclaimed = await b!.claimDueJobs({ now: Date.now(), limit: 50, leaseMs: 60_000, owner: 'b' });
      expect(reclaimed.map((job) => job.id)).toEqual(expect.arrayContaining(short.map((job) => job.id)));
      expect(reclaimed.length).toBeGreaterThan(short.length);
      expect(await a!.countJobs()).toEqual(await truth());
      await Promise.all(
        reclaimed.map((job) =>
          b!.settleJob(job.id, job.claimToken!, { status: 'resolved', resolvedAt: T0, result: { photo: fakePhoto(1), source: 'demo' } }),
        ),
      );
      expect(await a!.countJobs()).toEqual(await truth());
      expect(await a!.removeSettledJobs({ resolvedBefore: Date.now(), limit: 9 })).toBe(9);
      expect(await a!.countJobs()).toEqual(await truth());
      // A key moved from an expired job to a new one (createOne, in a transaction with the expiry).
      const moved = await b!.createJob({ id: uuidv7(), createdAt: T0 + 10, runAt: T0, idempotencyKey: 'k0', keysExpireBefore: T0 + 5 });
      expect(moved.created).toBe(true);
      await a!.expireIdempotencyKeys({ createdBefore: T0 + 5, limit: 100 });
      expect(await a!.countJobs()).toEqual(await truth());
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('counts writes made with plain SQL, by an older release or a tool, as its own', async () => {
    const databaseUrl = await freshDatabase();
    const store = await openPostgresStore({ databaseUrl, logger });
    const tool = new pg.Client({ connectionString: databaseUrl });
    await tool.connect();
    try {
      await store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null });
      // Counts are kept by triggers on the table, so they hold whoever writes: plain statements here.
      await tool.query(`
        INSERT INTO jobs (id, status, created_at, run_at, updated_seq, attempts)
        SELECT gen_random_uuid(), 'pending', now(), now(), n, 0 FROM generate_series(1, 5) n`);
      await tool.query(`UPDATE jobs SET status = 'failed', resolved_at = now(), error = '{}' WHERE id IN (SELECT id FROM jobs LIMIT 2)`);
      await tool.query(`UPDATE jobs SET run_at = run_at + interval '1 s'`); // no status changes: nothing to count
      await tool.query(`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' LIMIT 1)`);
      expect(await store.countJobs()).toEqual({ pending: 3, running: 0, resolved: 0, failed: 2, cancelled: 0 });
    } finally {
      await tool.end();
      await store.close();
    }
  });

  it('never lets a reader following changes skip one, however writers from many pools interleave', async () => {
    const databaseUrl = await freshDatabase();
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore({ databaseUrl, logger, poolSize: 6 })));
    const reader = stores[0]!;
    try {
      // What a client following /events holds: the latest state of each job it has heard of.
      const seen = new Map<string, { status: string; seq: number }>();
      let cursor = 0;
      let writing = true;
      const follow = async () => {
        do {
          const changes = await reader.changesSince(cursor, 100_000);
          expect(changes.reset).toBe(false);
          for (const job of jobsOf(changes)) {
            seen.set(job.id, { status: job.status, seq: job.updatedSeq });
            cursor = job.updatedSeq;
          }
        } while (writing);
      };
      const following = follow();

      const settled = { status: 'failed', resolvedAt: T0, error: { code: 'internal_error', message: 'y' } } as const;
      await Promise.all(
        stores.flatMap((store, s) => [
          // Creates, half of them never due, so a skipped create would never be repaired by a later change.
          ...Array.from({ length: 4 }, async () => {
            for (let i = 0; i < 60; i++) {
              await store.createJob({ id: uuidv7(), createdAt: T0, runAt: i % 2 === 0 ? T0 : T0 + 3_600_000, idempotencyKey: null });
            }
          }),
          (async () => {
            for (let i = 0; i < 40; i++) {
              for (const job of await store.claimDueJobs({ now: T0 + 1, limit: 3, leaseMs: 60_000, owner: `s${s}` })) {
                await store.settleJob(job.id, job.claimToken!, settled);
              }
            }
          })(),
        ]),
      );
      writing = false;
      await following;
      const final = await reader.changesSince(cursor, 100_000);
      for (const job of jobsOf(final)) seen.set(job.id, { status: job.status, seq: job.updatedSeq });

      const truth = await reader.changesSince(0, 100_000);
      expect(jobsOf(truth)).toHaveLength(3 * 4 * 60);
      expect(seen).toEqual(new Map(jobsOf(truth).map((j) => [j.id, { status: j.status, seq: j.updatedSeq }])));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('tells the process holding a claim that another process cancelled or deleted its job, within a second', async () => {
    const databaseUrl = await freshDatabase();
    const [worker, api] = await Promise.all([openPostgresStore({ databaseUrl, logger }), openPostgresStore({ databaseUrl, logger })]);
    try {
      const ended: { id: string; claimToken: string }[] = [];
      const stop = worker.onClaimsEnded((claims) => ended.push(...claims));
      const ids = [uuidv7(), uuidv7()];
      for (const id of ids) await api.createJob({ id, createdAt: T0, runAt: T0, idempotencyKey: null });
      const claims = await worker.claimDueJobs({ now: T0 + 1, limit: 2, leaseMs: 600_000, owner: 'worker' });
      expect(claims).toHaveLength(2);
      const [cancelled, deleted] = [claims.find((c) => c.id === ids[0])!, claims.find((c) => c.id === ids[1])!];
      expect(await api.cancelJob(cancelled.id, T0 + 2)).toMatchObject({ kind: 'done' });
      expect(await api.deleteJob(deleted.id)).toBe(true);
      await expect
        .poll(() => ended, { timeout: 1_000, interval: 10 })
        .toEqual([
          { id: cancelled.id, claimToken: cancelled.claimToken },
          { id: deleted.id, claimToken: deleted.claimToken },
        ]);
      // Only claims that ended: a cancel of a pending job, or a retry, tells no one.
      const pending = uuidv7();
      await api.createJob({ id: pending, createdAt: T0, runAt: T0 + 600_000, idempotencyKey: null });
      await api.cancelJob(pending, T0 + 3);
      await api.retryJob(pending, T0 + 4);
      expect(await worker.renewLease(cancelled.id, cancelled.claimToken!, T0 + 900_000)).toBe(false);
      expect(ended).toHaveLength(2);
      stop();
    } finally {
      await Promise.all([worker.close(), api.close()]);
    }
  });

  it('tells each process that follows commits about every kind made by the others, from when it subscribes', async () => {
    const databaseUrl = await freshDatabase();
    const [a, b] = await Promise.all([openPostgresStore({ databaseUrl, logger }), openPostgresStore({ databaseUrl, logger })]);
    try {
      const heardByB: number[] = [];
      let unsubscribe = b.onCommit((seq) => heardByB.push(seq));
      const { job } = await a.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null });
      await expect.poll(() => heardByB.at(-1)).toBe(job.updatedSeq);
      const [claimed] = await a.claimDueJobs({ now: Date.now(), limit: 1, leaseMs: 60_000, owner: 'a' });
      await expect.poll(() => heardByB.at(-1)).toBe(claimed!.updatedSeq);
      const settled = await a.settleJob(claimed!.id, claimed!.claimToken!, {
        status: 'failed',
        resolvedAt: T0,
        error: { code: 'internal_error', message: 'x' },
      });
      await expect.poll(() => heardByB.at(-1)).toBe(settled!.updatedSeq);
      await a.removeSettledJobs({ resolvedBefore: T0, limit: 10 });
      const head = await a.lastSeq();
      await expect.poll(() => heardByB.at(-1)).toBe(head);

      // Nobody follows in B for a while; then someone does: it starts from the head and hears on.
      unsubscribe();
      const later = await a.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null });
      unsubscribe = b.onCommit((seq) => heardByB.push(seq));
      expect(await b.lastSeq()).toBe(later.job.updatedSeq);
      const [again] = await a.claimDueJobs({ now: Date.now(), limit: 1, leaseMs: 60_000, owner: 'a' });
      await expect.poll(() => heardByB.at(-1)).toBe(again!.updatedSeq);
      unsubscribe();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('wakes a listener with claims, outcomes and removals only while it follows the feed, and with creates always', async () => {
    const databaseUrl = await freshDatabase();
    const store = await openPostgresStore({ databaseUrl, logger });
    const heard: string[] = [];
    let connects = 0;
    const listener = new ChangeListener({
      databaseUrl,
      logger,
      onNotification: (payload) => heard.push(payload),
      onConnected: () => connects++,
    });
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    const create = () => store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null });
    const claimAndSettle = async () => {
      const [job] = await store.claimDueJobs({ now: Date.now(), limit: 1, leaseMs: 60_000, owner: 'w' });
      await store.settleJob(job!.id, job!.claimToken!, {
        status: 'failed',
        resolvedAt: T0,
        error: { code: 'internal_error', message: 'x' },
      });
    };
    try {
      for (let i = 0; i < 4; i++) await create(); // jobs to claim, made before the listener starts
      await listener.start();
      await create();
      await expect.poll(() => heard.length).toBe(1);
      // A worker's listener: the claim and the outcome wake it not. Notifications come in commit
      // order, so had they been sent to it, they would be heard before the next create's.
      await claimAndSettle();
      await create();
      await expect.poll(() => heard.length).toBe(2);
      expect(heard.every((payload) => / \d+$/.test(payload))).toBe(true); // "<seq> <due>": creates only

      await listener.listenToFeed(true);
      await claimAndSettle();
      await expect.poll(() => heard.length).toBe(4);
      // Listening to the feed survives a lost connection (the store's listener is cut too, and comes back).
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'simmer-listener' AND datname = current_database()`,
      );
      await expect.poll(() => connects, { timeout: 10_000 }).toBe(2);
      await claimAndSettle();
      await expect.poll(() => heard.length).toBe(6);

      await listener.listenToFeed(false);
      await claimAndSettle();
      await create();
      await expect.poll(() => heard.length).toBe(7);
      expect(heard.at(-1)).toMatch(/ \d+$/);
    } finally {
      await admin.end();
      await listener.close();
      await store.close();
    }
  });

  it('applies migrations once when five processes start at the same moment', async () => {
    const databaseUrl = await freshDatabase();
    const clients = Array.from({ length: 5 }, () => new pg.Client({ connectionString: databaseUrl }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      await Promise.all(clients.map((c) => migrate(c, logger)));
      const { rows } = await clients[0]!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      const stores = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore({ databaseUrl, logger, poolSize: 2 })));
      expect(stores.every((s) => s.health().ready)).toBe(true);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('creates the schema on a fresh database when many stores open concurrently', async () => {
    const databaseUrl = await freshDatabase();
    const stores = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore({ databaseUrl, logger, poolSize: 2 })));
    try {
      const created = await Promise.all(stores.map((s) => s.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null })));
      expect(new Set(created.map((c) => c.job.updatedSeq)).size).toBe(5);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
  it('reports the head after its listener reconnects, so commits made meanwhile are not missed', async () => {
    const databaseUrl = await freshDatabase();
    const [a, b] = await Promise.all([openPostgresStore({ databaseUrl, logger }), openPostgresStore({ databaseUrl, logger })]);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const heardByB: number[] = [];
      b.onCommit((seq) => heardByB.push(seq));
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'simmer-listener' AND datname = current_database()`,
      );
      const { job } = await a.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null });
      await expect.poll(() => heardByB.at(-1), { timeout: 10_000 }).toBe(job.updatedSeq);
      await expect.poll(() => b.health().ready, { timeout: 10_000 }).toBe(true);
    } finally {
      await admin.end();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('plans every statement to read through an index, whatever the size of the table and its parameters', async () => {
    const databaseUrl = await freshDatabase();
    const store = await openPostgresStore({ databaseUrl, logger });
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await Promise.all(
        Array.from({ length: 10_000 }, (_, i) =>
          store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0 + i, idempotencyKey: i % 1_000 === 0 ? `key-${i}` : null }),
        ),
      );
      // A few settled and keyed jobs, so that retention's statements find work.
      for (const job of await store.claimDueJobs({ now: T0 + 20, limit: 20, leaseMs: 30_000, owner: 'test' }))
        await store.settleJob(job.id, job.claimToken!, {
          status: 'failed',
          resolvedAt: T0,
          error: { code: 'internal_error', message: 'x' },
        });
      const { rows: size } = await admin.query<{ pages: string }>(`SELECT pg_relation_size('jobs') / 8192 AS pages`);
      expect(Number(size[0]!.pages)).toBeGreaterThan(100);
      // The store plans each statement once per connection, without its parameters (see Database):
      // the plan looked at here is that one. Buffers touched, not time: a plan that scans the table
      // touches every page of it. Writes are rolled back.
      let statements = 0;
      const literal = (v: unknown): string =>
        Array.isArray(v)
          ? admin.escapeLiteral(`{${v.map((x) => (x === null ? 'NULL' : JSON.stringify(String(x)))).join(',')}}`)
          : typeof v === 'number'
            ? String(v)
            : admin.escapeLiteral(String(v));
      const buffersOf = async (sql: string, values: unknown[] = []): Promise<number> => {
        const name = `checked_${statements++}`;
        await admin.query('BEGIN');
        try {
          await admin.query('SET LOCAL plan_cache_mode = force_generic_plan');
          await admin.query(`PREPARE ${name} AS ${sql}`);
          const args = values.map(literal);
          const { rows } = await admin.query<{ 'QUERY PLAN': [{ Plan: Record<string, number> }] }>(
            `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE ${name}${args.length ? `(${args.join(', ')})` : ''}`,
          );
          const plan = rows[0]!['QUERY PLAN'][0].Plan;
          return plan['Shared Hit Blocks']! + plan['Shared Read Blocks']!;
        } finally {
          await admin.query('ROLLBACK');
          await admin.query(`DEALLOCATE ${name}`);
        }
      };
      const [held] = await store.claimDueJobs({ now: T0 + 20, limit: 1, leaseMs: 30_000, owner: 'test' });
      const head = (await store.lastSeq()) - 1;
      const newest = (await store.listJobs({ limit: 1 }))[0]!.id;
      const failed = (await store.listJobs({ status: 'failed', limit: 1 }))[0]!;
      // Before statistics are gathered (a busy new table) and after.
      for (const analyzed of [false, true]) {
        if (analyzed) await admin.query('ANALYZE jobs');
        expect(await buffersOf(FEED_SQL.head)).toBeLessThan(30);
        expect(await buffersOf(FEED_SQL.changes, [head - 5, 10])).toBeLessThan(30);
        expect(await buffersOf(JOB_SQL.nextWake)).toBeLessThan(30);
        expect(await buffersOf(JOB_SQL.byKey, ['absent'])).toBeLessThan(30);
        // Writes of one row: its page, its index entries and a count, still well below the table.
        expect(await buffersOf(JOB_SQL.claim, [T0, 1, 30_000, 'checker'])).toBeLessThan(60);
        expect(await buffersOf(FEED_SQL.expireKeys, [T0 + 20_000, 1])).toBeLessThan(60);
        expect(await buffersOf(JOB_SQL.renewBatch, [[held!.id], [held!.claimToken], [T0 + 60_000]])).toBeLessThan(60);
        expect(await buffersOf(JOB_SQL.settleBatch, [[held!.id], [held!.claimToken], ['resolved'], '[{}]', [T0 + 30]])).toBeLessThan(60);
        expect(await buffersOf(JOB_SQL.releaseBatch, [[held!.id], [held!.claimToken], T0 + 30])).toBeLessThan(60);
        // The actions, one job each; and the short-id search.
        expect(await buffersOf(JOB_SQL.cancel, [held!.id, T0 + 30])).toBeLessThan(60);
        expect(await buffersOf(JOB_SQL.runNow, [newest, T0 + 30])).toBeLessThan(60);
        expect(await buffersOf(JOB_SQL.retry, [failed.id, T0 + 30])).toBeLessThan(60);
        expect(await buffersOf(JOB_SQL.delete, [newest])).toBeLessThan(60);
        const byShortId = listJobsStatement({ shortId: newest.slice(-6), limit: 10 });
        expect(await buffersOf(byShortId.text, byShortId.values)).toBeLessThan(30);
        expect(await buffersOf(FEED_SQL.removeSettled, [T0 + 20_000, 1])).toBeLessThan(60);
        // Rare statuses (one job running, 20 failed) and the common one: a plan made for "some
        // status" reads the whole table to find the few.
        for (const status of ['running', 'failed', 'pending'] as const) {
          const list = listJobsStatement({ status, limit: 10, before: newest });
          expect(await buffersOf(list.text, list.values)).toBeLessThan(30);
        }
      }
    } finally {
      await admin.end();
      await store.close();
    }
  });

  // Runs last: it stops the shared server for a moment.
  it('says not ready and rejects calls while the database is down, then carries on', async () => {
    const databaseUrl = await freshDatabase();
    const store = await openPostgresStore({ databaseUrl, logger });
    try {
      const before = (await store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: 'outage' })).job;
      expect(store.health().ready).toBe(true);

      await server.stopServer('fast');
      try {
        await expect.poll(() => store.health().ready, { timeout: 10_000 }).toBe(false);
        await expect(store.getJob(before.id)).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null })).rejects.toBeInstanceOf(
          StoreUnavailableError,
        );
      } finally {
        await server.start();
      }

      await expect.poll(() => store.health().ready, { timeout: 15_000, interval: 100 }).toBe(true);
      expect(await store.getJob(before.id)).toEqual(before);
      const again = await store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: 'outage' });
      expect(again).toMatchObject({ created: false, job: { id: before.id } });
      const after = (await store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null })).job;
      expect(after.updatedSeq).toBeGreaterThan(before.updatedSeq);
    } finally {
      await store.close();
    }
  });
});
