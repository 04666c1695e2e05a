/**
 * The PostgreSQL JobStore: many API and worker processes share one database.
 *
 * ============================================================================================
 * THE CHANGE FEED — READ BEFORE TOUCHING ANY WRITE
 * ============================================================================================
 * "Changes since N" (GET /events resume, every API process's live stream) MUST never skip a
 * committed change, and event ids MUST rise along the stream. A plain SEQUENCE cannot promise
 * that: the transaction holding 11 may commit before the one holding 10, and a reader that saw 11
 * would never see 10. One locked counter row can (writers commit in number order), but then every
 * commit in the cluster queues on that row. So numbers follow transactions instead:
 *
 *   a change's number = (its transaction's id − base) × 512 + its position in the transaction
 *   (`simmer_xact_seq()` + position; migration 3), and a reader reads only numbers below the
 *   HORIZON, (xmin of its snapshot − base) × 512, where xmin is the oldest transaction still
 *   running (`simmer_seq_horizon()`).
 *
 * Every transaction below xmin has finished, so a committed change below the horizon is already
 * visible, and no change below it can appear later: a reader that advances to N after reading
 * everything below the horizon has missed nothing, and will never be shown a number ≤ N again.
 * Writers take no shared lock at all; a reader waits, at most, for transactions older than a
 * change to finish (single statements here, so milliseconds). Rules that keep this true:
 *   1. Every write that changes what a client sees stamps each row it writes (or, for a removal,
 *      its tombstone) with `simmer_xact_seq() + position`, positions 0..511 distinct within the
 *      transaction, so a statement writes at most MAX_ROWS_PER_WRITE rows and a transaction
 *      that writes more must number on from where the last statement stopped.
 *   2. Every read of changes or of the head bounds itself by the horizon of its OWN snapshot, in
 *      the same statement (FEED_SQL). The head reported to `onCommit` comes from such a read,
 *      never from a notification: a notification names a transaction, not a safe point.
 *   3. A long transaction (anyone's, in any database of the cluster, once it has written) holds
 *      the horizon back: /events waits for it; nothing is skipped. Keep transactions short.
 * Numbers have gaps (positions unused, transactions that wrote nothing); reordering would be fatal.
 * Ids stay below 10^15 for ~2·10^12 transactions: 60 years at 1,000 transactions a second.
 *
 * Lease renewals and key expiry are bookkeeping, not changes: they take no number.
 * Notifications only wake readers (rule 2): creates and releases signal every process, other
 * changes only the processes following the feed (change-listener.ts).
 * Counts by status live in 64 striped rows kept by statement triggers (migration 3), summed on read.
 * ============================================================================================
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { JobStatus } from '@simmer/contracts';
import { JOB_STATUSES } from '@simmer/contracts/constants';
import type { Logger } from 'pino';
import { changesOrReset } from '../changes.js';
import { CommitNotifier } from '../commit-notifier.js';
import { randomBytes } from 'node:crypto';
import { ClaimsEndedNotifier } from '../claims-ended.js';
import type {
  ActionResult,
  Changes,
  Claim,
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
import { Batcher } from './batcher.js';
import { CLAIMS_ENDED_CHANNEL, ChangeListener } from './change-listener.js';
import { releaseClaims, renewBatch, settleBatch, type QueuedRenewal, type QueuedSettle } from './claim-writes.js';
import { createJobs } from './create-jobs.js';
import { Database, type DatabaseOptions } from './database.js';
import { FEED_SQL } from './feed-sql.js';
import { FeedWatcher } from './feed-watcher.js';
import { JOB_SQL, MAX_ROWS_PER_WRITE, listJobsStatement } from './job-sql.js';
import { isUuid, toStoredJob, type JobRow } from './job-row.js';
import { migrateWithRetry, type MigrateWithRetryOptions } from './migrations.js';
import { readChanges } from './read-changes.js';

/** The pool's settings (`DatabaseOptions`) and start-up's (`MigrateWithRetryOptions`). */
export type PostgresStoreOptions = DatabaseOptions & Omit<MigrateWithRetryOptions, 'databaseUrl' | 'logger'>;

/** The most creates, settles or renewals one batch statement carries. */
const MAX_BATCH = 500;

/** How long a read waits for this process's own committed writes to fall below the horizon. */
const OWN_WRITES_WAIT_MS = 250;

/**
 * Opens the PostgreSQL store: applies migrations (safe when many processes start at once), opens a
 * pool and a LISTEN connection. Retries an unreachable database for `connectTimeoutMs` first.
 *
 * Guarantees, beyond the JobStore contract: a resolved write is committed (PostgreSQL's durability);
 * `onCommit` hears this process's commits and, through NOTIFY, every other process's; after the
 * listener reconnects it reports the current head so nothing committed during an outage is
 * missed; calls made while the database is unreachable reject with `StoreUnavailableError`, calls
 * that find every connection busy for too long with `StoreOverloadedError`; neither takes the
 * process down.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<JobStore> {
  const logger = options.logger.child({ component: 'postgres-store' });
  await migrateWithRetry({ ...options, logger });
  const store = new PostgresJobStore(options, logger);
  try {
    await store.start();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

class PostgresJobStore implements JobStore {
  readonly kind = 'postgres' as const;

  private readonly db: Database;
  private readonly listener: ChangeListener;
  private readonly notifier: CommitNotifier;
  private readonly claimsEnded: ClaimsEndedNotifier;
  private readonly watcher: FeedWatcher;
  private key: Buffer | null = null;
  /** The highest transaction number this process has committed: its own reads wait for it. */
  private ownSeq = 0;
  private commitListeners = 0;
  /** Settles once the listener listens to the feed as `commitListeners` asks. */
  private feedListening: Promise<void> = Promise.resolve();
  private readonly creates = new Batcher<NewJob, CreateOutcome>(MAX_BATCH, (jobs) => createJobs(this.db, jobs, this.wrote));
  private readonly settles = new Batcher<QueuedSettle, StoredJob | undefined>(MAX_BATCH, (settles) =>
    settleBatch(this.db, settles, this.wrote),
  );
  private readonly renewals = new Batcher<QueuedRenewal, boolean>(MAX_BATCH, (renewals) => renewBatch(this.db, renewals));

  constructor(
    options: PostgresStoreOptions,
    private readonly logger: Logger,
  ) {
    this.db = new Database({ ...options, logger });
    this.notifier = new CommitNotifier(logger);
    this.claimsEnded = new ClaimsEndedNotifier(logger);
    this.watcher = new FeedWatcher({
      logger,
      notifier: this.notifier,
      readHead: () => this.readHead(),
      hasListeners: () => this.commitListeners > 0,
    });
    this.listener = new ChangeListener({
      databaseUrl: options.databaseUrl,
      logger,
      onNotification: (payload, channel) => {
        if (channel === CLAIMS_ENDED_CHANNEL) this.claimEndedHeard(payload);
        else this.watcher.heard(payload);
      },
      onConnected: () => {
        this.db.markReachable();
        this.watcher.resync();
      },
    });
  }

  async start(): Promise<void> {
    await this.listener.start();
    this.notifier.seed((await this.readHead()).head);
    this.key = await this.readTokenKey();
  }

  get tokenKey(): Buffer {
    if (this.key === null) throw new Error('the store is not started');
    return this.key;
  }

  /** Concurrent creates share one statement (see `Batcher`). */
  createJob(job: NewJob): Promise<CreateOutcome> {
    return this.creates.add(job);
  }

  async getJob(id: string): Promise<StoredJob | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.db.query<JobRow>(JOB_SQL.byId, [id]);
    return rows[0] ? toStoredJob(rows[0]) : undefined;
  }

  async listJobs({ status, shortId, limit, before }: ListJobsOptions): Promise<StoredJob[]> {
    if (before !== undefined && !isUuid(before)) return [];
    if (status !== undefined && !JOB_STATUSES.includes(status)) return []; // matches no job, as on the file store
    if (shortId !== undefined && !/^[0-9a-f]{6}$/.test(shortId)) return [];
    const { text, values } = listJobsStatement({ status, shortId, limit, before });
    const { rows } = await this.db.query<JobRow>(text, values);
    return rows.map(toStoredJob);
  }

  async countJobs(): Promise<Record<JobStatus, number>> {
    const { rows } = await this.db.query<Record<JobStatus, string | null>>(JOB_SQL.count, []);
    const row = rows[0];
    return {
      pending: Number(row?.pending ?? 0),
      running: Number(row?.running ?? 0),
      resolved: Number(row?.resolved ?? 0),
      failed: Number(row?.failed ?? 0),
      cancelled: Number(row?.cancelled ?? 0),
    };
  }

  /** After `onCommit`, a head no older than the feed's first notification: nothing committed in between goes unheard. */
  async lastSeq(): Promise<number> {
    await this.feedListening;
    return (await this.readOwnWrites(() => this.readHead())).head;
  }

  async claimDueJobs({ now, limit, leaseMs, owner }: ClaimOptions): Promise<StoredJob[]> {
    if (limit <= 0) return [];
    const { rows } = await this.db.query<JobRow>(JOB_SQL.claim, [now, Math.min(limit, MAX_ROWS_PER_WRITE), leaseMs, owner]);
    const jobs = rows.map(toStoredJob).sort((a, b) => a.updatedSeq - b.updatedSeq);
    if (jobs[0]) this.wrote(jobs[0].updatedSeq);
    return jobs;
  }

  /** Concurrent renewals share one statement. */
  async renewLease(id: string, claimToken: string, leaseUntil: number): Promise<boolean> {
    if (!isUuid(id) || !isUuid(claimToken)) return false;
    return this.renewals.add({ id, claimToken, until: leaseUntil });
  }

  async settleJob(id: string, claimToken: string, outcome: Outcome): Promise<StoredJob | undefined> {
    if (!isUuid(id) || !isUuid(claimToken)) return undefined;
    return this.settles.add({ id, claimToken, outcome });
  }

  async releaseClaims(claims: Claim[], at: number): Promise<void> {
    await releaseClaims(this.db, claims, at, this.wrote);
  }

  async cancelJob(id: string, at: number): Promise<ActionResult> {
    const result = await this.act(JOB_SQL.cancel, id, at);
    if (result.kind === 'conflict' && result.job.status === 'cancelled') return { kind: 'unchanged', job: result.job };
    return result;
  }

  runJobNow(id: string, at: number): Promise<ActionResult> {
    return this.act(JOB_SQL.runNow, id, at);
  }

  retryJob(id: string, at: number): Promise<ActionResult> {
    return this.act(JOB_SQL.retry, id, at);
  }

  async deleteJob(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const { rows } = await this.db.query<{ seq: string; ended_claim: string | null }>(JOB_SQL.delete, [id]);
    if (!rows[0]) return false;
    this.wrote(Number(rows[0].seq));
    return true;
  }

  onClaimsEnded(listener: (claims: Claim[]) => void): () => void {
    return this.claimsEnded.subscribe(listener);
  }

  async nextWakeAt(): Promise<number | null> {
    const { rows } = await this.db.query<{ at: string | null }>(JOB_SQL.nextWake, []);
    const at = rows[0]?.at;
    return at === null || at === undefined ? null : Number(at);
  }

  async changesSince(after: number, limit: number): Promise<Changes> {
    const from = Math.max(0, Math.floor(after));
    const { head, forgottenThrough, read } = await this.readOwnWrites(() => readChanges(this.db, from, Math.max(0, limit) + 1));
    return changesOrReset({ after: from, head, forgottenThrough, limit, read });
  }

  async removeSettledJobs({ resolvedBefore, limit }: RemoveSettledOptions): Promise<number> {
    if (limit <= 0) return 0;
    const { rows } = await this.db.query<{ seq: string }>(FEED_SQL.removeSettled, [resolvedBefore, Math.min(limit, MAX_ROWS_PER_WRITE)]);
    if (rows.length > 0) this.wrote(Math.min(...rows.map((row) => Number(row.seq))));
    return rows.length;
  }

  async expireIdempotencyKeys({ createdBefore, limit }: ExpireKeysOptions): Promise<number> {
    if (limit <= 0) return 0;
    const { rowCount } = await this.db.query(FEED_SQL.expireKeys, [createdBefore, limit]);
    return rowCount ?? 0;
  }

  onCommit(listener: (lastSeq: number) => void): () => void {
    const unsubscribe = this.notifier.subscribe(listener);
    // Heads are read, and other processes' claims, outcomes and removals heard, only while
    // someone listens: start listening to the feed, then catch up on what was missed before.
    if (this.commitListeners++ === 0) this.feedListening = this.listener.listenToFeed(true).then(() => this.watcher.catchUp());
    let subscribed = true;
    return () => {
      if (subscribed && --this.commitListeners === 0) this.feedListening = this.listener.listenToFeed(false);
      subscribed = false;
      unsubscribe();
    };
  }

  onJobsDue(listener: (runAt: number) => void): () => void {
    return this.watcher.onJobsDue(listener);
  }

  health(): StoreHealth {
    const reason = this.db.isClosed
      ? 'the store is closed'
      : !this.db.isReachable
        ? 'the database cannot be reached'
        : !this.listener.isConnected
          ? 'the change listener is reconnecting to the database'
          : null;
    return { ready: reason === null, acceptingCreates: reason === null, reason };
  }

  async close(): Promise<void> {
    if (this.db.isClosed) return;
    this.watcher.close();
    this.notifier.close();
    this.claimsEnded.close();
    await this.listener.close();
    await this.db.close();
  }

  /** One action's statement on one job; with no row changed, the job as it is tells not-found from conflict. */
  private async act(statement: string, id: string, at: number): Promise<ActionResult> {
    if (!isUuid(id)) return { kind: 'not-found' };
    const { rows } = await this.db.query<JobRow>(statement, [id, at]);
    if (rows[0]) {
      const job = toStoredJob(rows[0]);
      this.wrote(job.updatedSeq);
      return { kind: 'done', job };
    }
    const job = await this.getJob(id);
    return job ? { kind: 'conflict', job } : { kind: 'not-found' };
  }

  /** "<job id> <claim token>" on CLAIMS_ENDED_CHANNEL, from this process or another. */
  private claimEndedHeard(payload: string): void {
    const [id, claimToken] = payload.split(' ');
    if (id && claimToken) this.claimsEnded.report([{ id, claimToken }]);
  }

  /** The control tokens' key: made by the first process to open the database, read by every other. */
  private async readTokenKey(): Promise<Buffer> {
    await this.db.query(`INSERT INTO simmer_secrets (name, value) VALUES ('control-token-key', $1) ON CONFLICT (name) DO NOTHING`, [
      randomBytes(32),
    ]);
    const { rows } = await this.db.query<{ value: Buffer }>(`SELECT value FROM simmer_secrets WHERE name = 'control-token-key'`, []);
    if (!rows[0]) throw new Error('the control-token key is missing from simmer_secrets');
    return rows[0].value;
  }

  /** This process committed a transaction numbered from `seq`. */
  private readonly wrote = (seq: number): void => {
    if (seq > this.ownSeq) this.ownSeq = seq;
    this.watcher.committed(seq);
  };

  private async readHead(): Promise<{ head: number; horizon: number }> {
    const { rows } = await this.db.query<{ head: string | null; horizon: string }>(FEED_SQL.head, []);
    return { head: Number(rows[0]?.head ?? 0), horizon: Number(rows[0]?.horizon ?? 0) };
  }

  /**
   * Reads until the horizon has passed this process's own committed writes (for a moment at most:
   * only an older transaction still running holds it back), so a caller reads its own writes.
   */
  private async readOwnWrites<T extends { horizon: number }>(read: () => Promise<T>): Promise<T> {
    const own = this.ownSeq;
    const deadline = performance.now() + OWN_WRITES_WAIT_MS;
    for (let wait = 1; ; wait = Math.min(wait * 2, 32)) {
      const result = await read();
      if (result.horizon > own || performance.now() >= deadline) return result;
      await sleep(wait);
    }
  }
}
