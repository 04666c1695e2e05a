/**
 * The PostgreSQL JobStore: many API and worker processes share one database.
 *
 * ============================================================================================
 * THE CHANGE SEQUENCE — READ BEFORE TOUCHING ANY WRITE
 * ============================================================================================
 * "Changes since N" (GET /events resume, every API process's live stream) MUST never miss a
 * change. A plain SEQUENCE cannot promise that: its values are handed out before commit, so the
 * transaction holding 11 can commit before the one holding 10; a reader that saw 11 moves its
 * cursor past 10 and never sees it.
 *
 * So every write takes its numbers from the single row of `simmer_change_seq`, with
 * `UPDATE ... SET value = value + n RETURNING value` INSIDE the writing statement. The row lock
 * is held until commit, so writers take numbers one after another and commit in that order: when
 * a reader can see number N, every number below N is already committed and visible (PostgreSQL
 * makes a transaction visible before it releases its locks). Rules that keep this true:
 *   1. Every write that changes what a client sees bumps the counter in the SAME transaction
 *      (here: the same statement) that writes the rows, and stamps them with the new numbers.
 *   2. Lock order is job rows first, then the counter (claims lock rows with SKIP LOCKED, settles
 *      lock their row in a CTE before the counter CTE runs). Never the reverse: it would deadlock.
 *   3. Each statement is one autocommit transaction, so the counter lock is held for one round
 *      trip plus the commit flush; writes are serialised at that rate. Claims number a whole
 *      batch with one bump, which is what keeps workers' throughput up; concurrent creates go
 *      as one batch statement for the same reason.
 * A number may be skipped (two concurrent creates with one idempotency key: the loser bumps, then
 * inserts nothing); gaps are harmless, reordering would not be.
 *
 * Lease renewals are bookkeeping, not changes: they take no number and send no event.
 * ============================================================================================
 */

import pg from 'pg';
import type { Logger } from 'pino';
import type { JobStatus } from '@simmer/contracts';
import { backoffDelay } from '../../backoff.js';
import { changesOrReset, jobChange } from '../changes.js';
import { CommitNotifier } from '../commit-notifier.js';
import type {
  Changes,
  ClaimOptions,
  CreateOutcome,
  ExpireKeysOptions,
  JobStore,
  ListJobsOptions,
  NewJob,
  Outcome,
  RemoveSettledOptions,
  StoreHealth,
  StoredJob,
} from '../job-store.js';
import { StoreClosedError, StoreUnavailableError } from '../store-errors.js';
import { Batcher } from './batcher.js';
import { CHANGES_CHANNEL, ChangeListener } from './change-listener.js';
import { jobColumns, toStoredJob, toTimestamp, type JobRow } from './job-row.js';
import { migrate } from './migrations.js';
import { isConnectionError } from './connection-errors.js';

export interface PostgresStoreOptions {
  databaseUrl: string;
  logger: Logger;
  /** Connections in this process's pool (default 10). */
  poolSize?: number;
  /** How long `openPostgresStore` keeps retrying an unreachable database before giving up (default 30 s). */
  connectTimeoutMs?: number;
}

/** The most creates or settles one batch statement carries. */
const MAX_BATCH = 500;

interface QueuedSettle {
  id: string;
  claimToken: string;
  outcome: Outcome;
}

/**
 * Commit reports to listeners are throttled to one per this interval. Every process hears every
 * commit in the cluster, and each report makes every worker look for due jobs and every API
 * process read changes: without the throttle that work grows with commits × processes; with it,
 * each process does it at most 1000 / REPORT_INTERVAL_MS times a second, whatever the load.
 */
const REPORT_INTERVAL_MS = 25;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Bumps the counter by the rows a statement writes, and signals the new head in the same
// transaction (NOTIFY is delivered on commit, never for a rolled-back write).
const BUMP_RETURNING = `RETURNING value, pg_notify('${CHANGES_CHANNEL}', value::text)`;

const SQL = {
  create: `
    WITH seq AS (
      UPDATE simmer_change_seq SET value = value + 1
      WHERE $4::text IS NULL OR NOT EXISTS (SELECT 1 FROM jobs WHERE idempotency_key = $4::text)
      ${BUMP_RETURNING}
    )
    INSERT INTO jobs AS j (id, status, created_at, run_at, idempotency_key, updated_seq, attempts)
    SELECT $1::uuid, 'pending', ${toTimestamp('$2')}, ${toTimestamp('$3')}, $4::text, seq.value, 0 FROM seq
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING ${jobColumns('j')}`,

  // The same for many jobs in one statement, so concurrent creates share one counter bump and one
  // commit (the counter serialises commits; see the top of this file). Keys are distinct here.
  createBatch: `
    WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::text[]) WITH ORDINALITY AS t(id, created_ms, run_ms, idempotency_key, n)
    ), fresh AS (
      SELECT input.*, row_number() OVER (ORDER BY n) AS rn, count(*) OVER () AS total FROM input
      WHERE idempotency_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.idempotency_key = input.idempotency_key)
    ), seq AS (
      UPDATE simmer_change_seq SET value = value + (SELECT count(*) FROM fresh)
      WHERE EXISTS (SELECT 1 FROM fresh)
      ${BUMP_RETURNING}
    )
    INSERT INTO jobs AS j (id, status, created_at, run_at, idempotency_key, updated_seq, attempts)
    SELECT fresh.id, 'pending', ${toTimestamp('fresh.created_ms')}, ${toTimestamp('fresh.run_ms')}, fresh.idempotency_key, seq.value - fresh.total + fresh.rn, 0
    FROM fresh, seq
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING ${jobColumns('j')}`,

  byKey: `SELECT ${jobColumns()} FROM jobs WHERE idempotency_key = $1`,

  byId: `SELECT ${jobColumns()} FROM jobs WHERE id = $1`,

  // Kept by triggers (migration 2), so a read of one row, however many jobs there are.
  count: `SELECT pending, running, resolved, failed FROM simmer_change_seq`,

  lastSeq: `SELECT value FROM simmer_change_seq`,

  // Due pending jobs and expired leases, each side from its partial index, both locked with SKIP
  // LOCKED so concurrent claimers (any process) split the work instead of queueing on one row.
  // EvalPlanQual re-checks a row's status and lease after waiting, so a row another claimer has
  // just taken is never taken twice.
  claim: `
    WITH pending AS (
      SELECT id, run_at FROM jobs
      WHERE status = 'pending' AND run_at <= ${toTimestamp('$1')}
      ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED
    ), expired AS (
      SELECT id, run_at FROM jobs
      WHERE status = 'running' AND lease_until <= ${toTimestamp('$1')}
      ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED
    ), picked AS (
      SELECT id, row_number() OVER (ORDER BY run_at, id) AS n, count(*) OVER () AS total
      FROM (SELECT id, run_at FROM pending UNION ALL SELECT id, run_at FROM expired ORDER BY run_at, id LIMIT $2) due
    ), seq AS (
      UPDATE simmer_change_seq SET value = value + (SELECT count(*) FROM picked)
      WHERE EXISTS (SELECT 1 FROM picked)
      ${BUMP_RETURNING}
    )
    UPDATE jobs AS j SET
      status = 'running',
      claim_token = gen_random_uuid(),
      claimed_by = $4,
      lease_until = ${toTimestamp('($1::int8 + $3::int8)')},
      attempts = j.attempts + 1,
      updated_seq = seq.value - picked.total + picked.n
    FROM picked, seq
    WHERE j.id = picked.id
    RETURNING ${jobColumns('j')}`,

  renew: `
    UPDATE jobs SET lease_until = ${toTimestamp('$3')}
    WHERE id = $1 AND status = 'running' AND claim_token = $2`,

  // Many settles in one statement, each only if its claim still holds. The target CTE locks the
  // job rows (in id order, so two batches never wait on each other in a cycle) before the counter
  // is touched (lock order, rule 2); numbering happens in a CTE of its own, as a locking query
  // cannot have window functions.
  settleBatch: `
    WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[])
        WITH ORDINALITY AS t(id, claim_token, status, result, error, resolved_ms, n)
    ), target AS (
      SELECT jobs.id, input.n FROM jobs JOIN input ON jobs.id = input.id AND jobs.claim_token = input.claim_token
      WHERE jobs.status = 'running'
      ORDER BY jobs.id
      FOR UPDATE OF jobs
    ), numbered AS (
      SELECT id, row_number() OVER (ORDER BY n) AS rn, count(*) OVER () AS total FROM target
    ), seq AS (
      UPDATE simmer_change_seq SET value = value + (SELECT count(*) FROM target)
      WHERE EXISTS (SELECT 1 FROM target)
      ${BUMP_RETURNING}
    )
    UPDATE jobs AS j SET
      status = input.status,
      result = input.result::jsonb,
      error = input.error::jsonb,
      resolved_at = ${toTimestamp('input.resolved_ms')},
      claim_token = NULL,
      lease_until = NULL,
      updated_seq = seq.value - numbered.total + numbered.rn
    FROM numbered, input, seq
    WHERE j.id = numbered.id AND input.id = numbered.id
    RETURNING ${jobColumns('j')}`,

  nextWake: `
    SELECT round(extract(epoch from least(
      (SELECT min(run_at) FROM jobs WHERE status = 'pending'),
      (SELECT min(lease_until) FROM jobs WHERE status = 'running')
    )) * 1000)::int8 AS at`,

  // One statement, one snapshot: the head and the rows agree. The LEFT JOIN returns the head even
  // when nothing changed.
  changes: `
    SELECT s.value AS head, c.*
    FROM simmer_change_seq s
    LEFT JOIN LATERAL (
      SELECT ${jobColumns()} FROM jobs WHERE updated_seq > $1 ORDER BY updated_seq LIMIT $2
    ) c ON true
    ORDER BY c.updated_seq`,
} as const;

/**
 * Opens the PostgreSQL store: applies migrations (safe when many processes start at once), opens a
 * pool and a LISTEN connection. Retries an unreachable database for `connectTimeoutMs` first.
 *
 * Guarantees, beyond the JobStore contract: a resolved write is committed (PostgreSQL's durability);
 * `onCommit` hears this process's commits and, through NOTIFY, every other process's; after the
 * listener reconnects it reports the current head so nothing committed during an outage is
 * missed; calls made while the database is unreachable reject with `StoreUnavailableError` and
 * never take the process down.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<JobStore> {
  const logger = options.logger.child({ component: 'postgres-store' });
  await migrateWithRetry(options, logger);
  const store = new PostgresJobStore(options, logger);
  try {
    await store.start();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

async function migrateWithRetry(options: PostgresStoreOptions, logger: Logger): Promise<void> {
  const deadline = Date.now() + (options.connectTimeoutMs ?? 30_000);
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({
      connectionString: options.databaseUrl,
      application_name: 'simmer-migrate',
      connectionTimeoutMillis: 5_000,
    });
    client.on('error', () => undefined); // reported through the rejected query instead
    try {
      await client.connect();
      await migrate(client, logger);
      return;
    } catch (error) {
      const cause = (error as Error).cause ?? error;
      if (!isConnectionError(cause) || Date.now() >= deadline) throw error;
      const delay = backoffDelay(attempt, { baseMs: 200, maxMs: 2_000 });
      logger.warn({ err: error, attempt }, `database not reachable; retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

class PostgresJobStore implements JobStore {
  readonly kind = 'postgres' as const;

  private readonly pool: pg.Pool;
  private readonly listener: ChangeListener;
  private readonly notifier: CommitNotifier;
  /** false after a query failed for want of a connection, until one succeeds again. */
  private poolHealthy = true;
  private probing = false;
  private lastProbeAt = 0;
  private closed = false;
  private readonly creates = new Batcher<NewJob, CreateOutcome>(MAX_BATCH, (jobs) => this.createBatch(jobs));
  private readonly settles = new Batcher<QueuedSettle, StoredJob | undefined>(MAX_BATCH, (settles) => this.settleBatch(settles));

  constructor(
    options: PostgresStoreOptions,
    private readonly logger: Logger,
  ) {
    this.notifier = new CommitNotifier(logger, REPORT_INTERVAL_MS);
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      application_name: 'simmer',
      // Calls during an outage fail fast instead of queueing forever.
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      statement_timeout: 30_000,
    });
    // An idle client's connection dropping emits 'error' on the pool: without this listener Node
    // would crash the process. The pool discards that client by itself.
    this.pool.on('error', (error) => {
      this.poolHealthy = false;
      this.logger.warn({ err: error }, 'an idle database connection failed');
    });
    this.listener = new ChangeListener({
      databaseUrl: options.databaseUrl,
      logger: this.logger,
      onSeq: (seq) => this.notifier.report(seq),
      onConnected: () => {
        this.poolHealthy = true;
        void this.catchUp();
      },
    });
  }

  async start(): Promise<void> {
    await this.listener.start();
    this.notifier.seed(await this.lastSeq());
  }

  /** Concurrent creates share one statement (see `Batcher`). */
  createJob(job: NewJob): Promise<CreateOutcome> {
    return this.creates.add(job);
  }

  private async createBatch(jobs: NewJob[]): Promise<(CreateOutcome | Promise<CreateOutcome>)[]> {
    // A key that appears twice in one batch goes to the database once; the others follow its outcome.
    const leaders = new Map<string, number>();
    const sent: NewJob[] = [];
    const leaderOf = jobs.map((job) => {
      const key = job.idempotencyKey;
      const leader = key === null ? undefined : leaders.get(key);
      if (leader !== undefined) return leader;
      if (key !== null) leaders.set(key, sent.length);
      sent.push(job);
      return -1;
    });
    const { rows } = await this.query<JobRow>(SQL.createBatch, [
      sent.map((job) => job.id),
      sent.map((job) => job.createdAt),
      sent.map((job) => job.runAt),
      sent.map((job) => job.idempotencyKey),
    ]);
    const created = new Map(rows.map((row) => [row.id, toStoredJob(row)]));
    this.reportHighest([...created.values()]);
    // Not inserted: its key was taken, by a committed job or by one committed meanwhile.
    const outcomes = sent.map((job): Promise<CreateOutcome> => {
      const stored = created.get(job.id);
      return stored ? Promise.resolve({ job: stored, created: true }) : this.createOne(job);
    });
    let next = 0;
    return leaderOf.map((leader) => (leader === -1 ? outcomes[next++]! : outcomes[leader]!.then(({ job }) => ({ job, created: false }))));
  }

  /** One create on its own, looking up the job that holds its key when that key is taken. */
  private async createOne(job: NewJob): Promise<CreateOutcome> {
    // Two rounds at most: a conflicting key's job is committed by the time our insert sees the
    // conflict, so the lookup after it finds the job.
    for (let round = 0; round < 2; round++) {
      const inserted = await this.query<JobRow>(SQL.create, [job.id, job.createdAt, job.runAt, job.idempotencyKey]);
      const row = inserted.rows[0];
      if (row) {
        const stored = toStoredJob(row);
        this.notifier.report(stored.updatedSeq);
        return { job: stored, created: true };
      }
      if (job.idempotencyKey === null) break;
      const existing = await this.query<JobRow>(SQL.byKey, [job.idempotencyKey]);
      if (existing.rows[0]) return { job: toStoredJob(existing.rows[0]), created: false };
    }
    throw new Error(`job ${job.id} was neither created nor found by its idempotency key`);
  }

  async getJob(id: string): Promise<StoredJob | undefined> {
    if (!UUID.test(id)) return undefined;
    const { rows } = await this.query<JobRow>(SQL.byId, [id]);
    return rows[0] ? toStoredJob(rows[0]) : undefined;
  }

  async listJobs({ status, limit, before }: ListJobsOptions): Promise<StoredJob[]> {
    if (before !== undefined && !UUID.test(before)) return [];
    // Only the conditions in use, so the planner always sees a plain index range scan.
    const where: string[] = [];
    const values: unknown[] = [];
    if (status !== undefined) where.push(`status = $${values.push(status)}`);
    if (before !== undefined) where.push(`id < $${values.push(before)}::uuid`);
    const text = `SELECT ${jobColumns()} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${values.push(limit)}`;
    const { rows } = await this.query<JobRow>(text, values);
    return rows.map(toStoredJob);
  }

  async countJobs(): Promise<Record<JobStatus, number>> {
    const { rows } = await this.query<Record<JobStatus, string>>(SQL.count, []);
    const row = rows[0];
    return {
      pending: Number(row?.pending ?? 0),
      running: Number(row?.running ?? 0),
      resolved: Number(row?.resolved ?? 0),
      failed: Number(row?.failed ?? 0),
    };
  }

  async lastSeq(): Promise<number> {
    const { rows } = await this.query<{ value: string }>(SQL.lastSeq, []);
    return Number(rows[0]?.value ?? 0);
  }

  async claimDueJobs({ now, limit, leaseMs, owner }: ClaimOptions): Promise<StoredJob[]> {
    if (limit <= 0) return [];
    const { rows } = await this.query<JobRow>(SQL.claim, [now, limit, leaseMs, owner]);
    const jobs = rows.map(toStoredJob).sort((a, b) => a.updatedSeq - b.updatedSeq);
    const last = jobs.at(-1);
    if (last) this.notifier.report(last.updatedSeq);
    return jobs;
  }

  async renewLease(id: string, claimToken: string, leaseUntil: number): Promise<boolean> {
    if (!UUID.test(id) || !UUID.test(claimToken)) return false;
    const { rowCount } = await this.query(SQL.renew, [id, claimToken, leaseUntil]);
    return rowCount === 1;
  }

  async settleJob(id: string, claimToken: string, outcome: Outcome): Promise<StoredJob | undefined> {
    if (!UUID.test(id) || !UUID.test(claimToken)) return undefined;
    return this.settles.add({ id, claimToken, outcome });
  }

  private async settleBatch(settles: QueuedSettle[]): Promise<(StoredJob | undefined)[]> {
    const { rows } = await this.query<JobRow>(SQL.settleBatch, [
      settles.map((s) => s.id),
      settles.map((s) => s.claimToken),
      settles.map((s) => s.outcome.status),
      settles.map((s) => (s.outcome.status === 'resolved' ? JSON.stringify(s.outcome.result) : null)),
      settles.map((s) => (s.outcome.status === 'failed' ? JSON.stringify(s.outcome.error) : null)),
      settles.map((s) => s.outcome.resolvedAt),
    ]);
    const settled = rows.map(toStoredJob);
    this.reportHighest(settled);
    // A job missing from the answer was not this claim's to settle any more (its lease was lost).
    const byClaim = new Map(settled.map((job) => [job.id, job]));
    return settles.map((s) => byClaim.get(s.id));
  }

  async nextWakeAt(): Promise<number | null> {
    const { rows } = await this.query<{ at: string | null }>(SQL.nextWake, []);
    const at = rows[0]?.at;
    return at === null || at === undefined ? null : Number(at);
  }

  async changesSince(after: number, limit: number): Promise<Changes> {
    const from = Math.max(0, Math.floor(after));
    const { rows } = await this.query<JobRow & { head: string }>(SQL.changes, [from, Math.max(0, limit) + 1]);
    const head = Number(rows[0]?.head ?? 0);
    const read = rows.filter((row) => row.id !== null).map((row) => jobChange(toStoredJob(row)));
    return changesOrReset({ after: from, head, forgottenThrough: 0, limit, read });
  }

  async removeSettledJobs(_options: RemoveSettledOptions): Promise<number> {
    throw new Error('TODO(issue 10): retention in the PostgreSQL store');
  }

  async expireIdempotencyKeys(_options: ExpireKeysOptions): Promise<number> {
    throw new Error('TODO(issue 10): key expiry in the PostgreSQL store');
  }

  onCommit(listener: (lastSeq: number) => void): () => void {
    return this.notifier.subscribe(listener);
  }

  health(): StoreHealth {
    // Readiness must heal by itself: a process that says "not ready" gets no traffic, so without
    // this probe nothing would ever run the query that shows the pool works again.
    if (!this.poolHealthy) this.probePool();
    const reason = this.closed
      ? 'the store is closed'
      : !this.poolHealthy
        ? 'the database cannot be reached'
        : !this.listener.isConnected
          ? 'the change listener is reconnecting to the database'
          : null;
    return { ready: reason === null, acceptingCreates: reason === null, reason };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifier.close();
    await this.listener.close();
    await this.pool.end();
  }

  private probePool(): void {
    if (this.probing || this.closed || Date.now() - this.lastProbeAt < 1_000) return;
    this.probing = true;
    this.lastProbeAt = Date.now();
    this.query('SELECT 1', [])
      .catch(() => undefined)
      .finally(() => {
        this.probing = false;
      });
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new StoreClosedError('PostgreSQL');
    try {
      const result = await this.pool.query<R>(text, values);
      this.poolHealthy = true;
      return result;
    } catch (error) {
      if (isConnectionError(error)) {
        this.poolHealthy = false;
        throw new StoreUnavailableError(`database unavailable: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    }
  }

  private reportHighest(jobs: StoredJob[]): void {
    const highest = jobs.reduce((max, job) => Math.max(max, job.updatedSeq), 0);
    if (highest > 0) this.notifier.report(highest);
  }

  /**
   * After the listener (re)connects, NOTIFYs sent while it was away are gone: report the head so
   * subscribers replay whatever they missed. Reported even when it has not moved past what was
   * reported before: a subscriber whose own read failed during the outage (its reads hit the same
   * dead database) needs this nudge to try again.
   */
  private async catchUp(): Promise<void> {
    try {
      this.notifier.report(await this.lastSeq(), true);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the change head after reconnecting');
    }
  }
}
