import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import type { JobStore } from '../../src/store/job-store.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { StoreOverloadedError } from '../../src/store/store-errors.js';
import { jobsOf } from './job-store-contract.js';
import { throwawayPostgresPerFile } from './postgres-server.js';

const logger = pino({ level: 'silent' });
const { freshDatabase } = throwawayPostgresPerFile('faults');

/** A plain connection of its own. */
async function connect(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A database at schema 2, as the release before migration 3 left it. */
async function databaseAtSchema2(): Promise<string> {
  const databaseUrl = await freshDatabase();
  const client = await connect(databaseUrl);
  try {
    await client.query(MIGRATIONS[0]!.sql);
    await client.query(MIGRATIONS[1]!.sql);
    await client.query(
      `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    await client.query(`INSERT INTO schema_migrations (version, name) VALUES (1, 'v1'), (2, 'v2')`);
  } finally {
    await client.end();
  }
  return databaseUrl;
}

const newJob = (runAt = Date.now()) => ({ id: uuidv7(), createdAt: Date.now(), runAt, idempotencyKey: null });

describe('PostgreSQL faults', () => {
  it('answers overload, not outage, while every pool connection is busy, and stays ready', async () => {
    const databaseUrl = await freshDatabase();
    const store = await openPostgresStore({ databaseUrl, logger, poolSize: 2, connectionTimeoutMs: 2_000 });
    const admin = await connect(databaseUrl);
    try {
      const { job } = await store.createJob(newJob());
      // Both connections open first (two calls in one tick), so none is being opened when the lock is taken.
      await Promise.all([store.countJobs(), store.countJobs()]);
      // Every pool connection waits on a table lock: the database is up, the pool is saturated.
      await admin.query('BEGIN; LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE');
      const calls = Array.from({ length: 4 }, () => store.getJob(job.id));
      const outcomes = Promise.allSettled(calls);
      await expect
        .poll(async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'`)).rowCount, {
          timeout: 10_000,
        })
        .toBe(2);
      await expect(Promise.race(calls)).rejects.toBeInstanceOf(StoreOverloadedError);
      expect(store.health()).toMatchObject({ ready: true, acceptingCreates: true, reason: null });

      await admin.query('COMMIT');
      const settled = await outcomes;
      expect(settled.filter((o) => o.status === 'rejected').every((o) => o.reason instanceof StoreOverloadedError)).toBe(true);
      expect(settled.filter((o) => o.status === 'fulfilled').every((o) => o.value?.id === job.id)).toBe(true);
      expect(await store.getJob(job.id)).toEqual(job);
    } finally {
      await admin.end();
      await store.close();
    }
  });

  it('compares due and lease times on the database clock: a worker 10 minutes ahead takes no live claim and runs nothing early', async () => {
    const databaseUrl = await freshDatabase();
    const [honest, ahead] = await Promise.all([1, 2].map(() => openPostgresStore({ databaseUrl, logger })));
    const skew = 10 * 60_000;
    try {
      const { job: live } = await honest!.createJob(newJob());
      const [claim] = await honest!.claimDueJobs({ now: Date.now(), limit: 1, leaseMs: 60_000, owner: 'honest' });
      expect(claim!.id).toBe(live.id);
      const { job: later } = await honest!.createJob(newJob(Date.now() + 5 * 60_000));

      // To the fast clock, the lease ended and the later job is due; to the database, neither.
      expect(await ahead!.claimDueJobs({ now: Date.now() + skew, limit: 10, leaseMs: 60_000, owner: 'ahead' })).toEqual([]);
      expect(
        await honest!.settleJob(live.id, claim!.claimToken!, {
          status: 'failed',
          resolvedAt: Date.now(),
          error: { code: 'internal_error', message: 'y' },
        }),
      ).toMatchObject({ status: 'failed' });
      expect((await honest!.getJob(later.id))!.status).toBe('pending');

      // A due job it does take gets a lease measured from the database's time, not ten minutes past it.
      const { job: due } = await honest!.createJob(newJob(Date.now() - 1_000));
      const before = Date.now();
      const [taken] = await ahead!.claimDueJobs({ now: Date.now() + skew, limit: 10, leaseMs: 60_000, owner: 'ahead' });
      expect(taken!.id).toBe(due.id);
      expect(taken!.leaseUntil).toBeLessThan(before + skew);
    } finally {
      await Promise.all([honest!.close(), ahead!.close()]);
    }
  });

  it('retries a migration blocked by a held lock without holding up other sessions, and migrates once the lock is gone', async () => {
    const databaseUrl = await databaseAtSchema2();
    const holder = await connect(databaseUrl);
    const writer = await connect(databaseUrl);
    const messages: string[] = [];
    const capture = pino(
      { level: 'warn' },
      new Writable({ write: (chunk: Buffer, _encoding, done) => (messages.push(chunk.toString()), done()) }),
    );
    let store: JobStore | undefined;
    try {
      // A writer's open transaction holds the table lock that migration 3 needs.
      await holder.query(`BEGIN; UPDATE jobs SET attempts = attempts WHERE false`);
      const opening = openPostgresStore({ databaseUrl, logger: capture, migration: { lockTimeoutMs: 100 }, migrationTimeoutMs: 60_000 });
      opening.catch(() => undefined);
      await expect.poll(() => messages.some((m) => m.includes('waiting for a lock')), { timeout: 20_000 }).toBe(true);

      // Other writers are not queued behind the waiting migration for as long as the lock is held.
      await writer.query(`INSERT INTO jobs (id, status, created_at, run_at, updated_seq) VALUES ($1, 'pending', now(), now(), 1)`, [
        uuidv7(),
      ]);

      await holder.query('COMMIT');
      store = await opening;
      const { job } = await store.createJob(newJob());
      expect(await store.getJob(job.id)).toEqual(job);
    } finally {
      await holder.end();
      await writer.end();
      await store?.close();
    }
  });

  it('gives up with a clear error when the lock stays held', async () => {
    const databaseUrl = await databaseAtSchema2();
    const holder = await connect(databaseUrl);
    try {
      await holder.query(`BEGIN; UPDATE jobs SET attempts = attempts WHERE false`);
      await expect(
        openPostgresStore({ databaseUrl, logger, migration: { lockTimeoutMs: 100 }, migrationTimeoutMs: 1_000 }),
      ).rejects.toThrow(/gave up .* a lock it needs stayed held/);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('holds readers at an open transaction and then shows its change before later ones', async () => {
    const databaseUrl = await freshDatabase();
    const store = await openPostgresStore({ databaseUrl, logger });
    const slow = await connect(databaseUrl);
    try {
      // A job a reader has already been given: its number must stay a valid resume point.
      const { job: delivered } = await store.createJob(newJob(Date.now() - 60_000));
      const mark = await store.lastSeq();
      expect(mark).toBe(delivered.updatedSeq);
      // A writer that numbered its change and has not committed yet. (Its triggers are off, so its
      // stripe of the counts table cannot make the other write wait: that is not what is tested.)
      const slowId = uuidv7();
      await slow.query(
        `SET session_replication_role = replica; BEGIN; INSERT INTO jobs (id, status, created_at, run_at, updated_seq) VALUES ('${slowId}', 'pending', now(), now(), simmer_xact_seq())`,
      );
      const { job: fast } = await store.createJob(newJob());
      expect(fast.updatedSeq).toBeGreaterThan(mark);
      // The delivered job changes too: its old number is replaced by one above the horizon.
      const [claimed] = await store.claimDueJobs({ now: Date.now(), limit: 1, leaseMs: 60_000, owner: 'w' });
      expect(claimed!.id).toBe(delivered.id);
      // The later transactions committed first: a reader must not move past the open one, and the
      // head it is given stays at or above every number it has seen, and below the waiting ones.
      expect((await store.changesSince(mark, 100)).changes).toEqual([]);
      const held = await store.lastSeq();
      expect(held).toBeGreaterThanOrEqual(mark);
      expect(held).toBeLessThan(fast.updatedSeq);
      expect((await store.changesSince(held, 100)).reset).toBe(false);

      await slow.query('COMMIT');
      const ids = jobsOf(await store.changesSince(held, 100)).map((job) => job.id);
      expect(ids).toEqual([slowId, fast.id, delivered.id]);
    } finally {
      await slow.end();
      await store.close();
    }
  });

  it('numbers a write by the release before migration 3 so that readers of this one see it', async () => {
    const databaseUrl = await freshDatabase();
    const store = await openPostgresStore({ databaseUrl, logger });
    const old = await connect(databaseUrl);
    try {
      await store.createJob(newJob());
      const mark = await store.lastSeq();
      // The previous release's create: its number from the counter row, far below this release's.
      const id = uuidv7();
      await old.query(
        `WITH seq AS (UPDATE simmer_change_seq SET value = value + 1 RETURNING value)
         INSERT INTO jobs (id, status, created_at, run_at, updated_seq, attempts) SELECT $1, 'pending', now(), now(), seq.value, 0 FROM seq`,
        [id],
      );
      const changes = jobsOf(await store.changesSince(mark, 100));
      expect(changes.map((job) => job.id)).toEqual([id]);
      expect(changes[0]!.updatedSeq).toBeGreaterThan(mark);
    } finally {
      await old.end();
      await store.close();
    }
  });
});
