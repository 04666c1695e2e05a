import { randomUUID } from 'node:crypto';
import type { JobStatus } from '@simmer/contracts';
import type { Logger } from 'pino';
import { changesOrReset } from '../changes.js';
import { CommitNotifier } from '../commit-notifier.js';
import { ClaimsEndedNotifier } from '../claims-ended.js';
import type {
  ActionResult,
  Change,
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
import { StoreClosedError, StoreFullError } from '../store-errors.js';
import { CommitQueue } from './commit-queue.js';
import { Compaction } from './compaction.js';
import { DataFiles } from './data-files.js';
import { lockDataDir } from './data-dir-lock.js';
import { DueNotifier } from './due-notifier.js';
import { FreeSpace, type ReadFreeBytes } from './free-space.js';
import { toStoredJob, withResult, type JobTable, type TableJob } from './job-table.js';
import type { JournalRecord } from './journal-records.js';
import type { SyncFile } from './journal-writer.js';
import { makePrivateDir } from './private-files.js';
import { recover, type RecoveryReport } from './recovery.js';
import { loadTokenKey } from './token-key.js';

export type { RecoveryReport } from './recovery.js';

export interface FileStoreOptions {
  dataDir: string;
  logger: Logger;
  /** Write a snapshot (and start a new journal) after this many journal records. */
  snapshotEvery?: number;
  /** Compact (snapshot) once the files hold at least this many bytes and twice what a snapshot would. */
  compactMinBytes?: number;
  /** DATA_DIR_MIN_FREE_BYTES: below this much free space creates are refused; 0 turns it off. */
  minFreeBytes: number;
  /** How free space is read; tests replace it. */
  readFree?: ReadFreeBytes;
  /** How data reaches the disk; tests replace it to simulate a failing disk. */
  sync?: SyncFile;
  /** Called once when a journal write or fsync fails; must stop the process (see JournalWriter). */
  onFatal: (error: Error) => void;
}

/**
 * The embedded store: an append-only journal of framed records under DATA_DIR, snapshots that
 * also compact, and every job in memory.
 *
 * Invariants:
 * - a change is applied to memory (and so becomes visible) only once its record is durable, in
 *   sequence order: commits are queued and apply only when every earlier one has;
 * - one process owns DATA_DIR, by an operating-system lock held until close (data-dir-lock.ts);
 * - a removal is a record with its own sequence number: removed stays removed across reopen and crash;
 * - so is a claim given back: the job is pending again, across reopen and crash, and a claim no
 *   longer held (settled, or taken over once its lease ended) is never given back;
 * - `onJobsDue` hears of creates and give-backs only once they are applied, so a claim it prompts finds them;
 * - so is every action (cancel, run now, retry, delete), answered only once its record is durable;
 * - one record at a time per job (`busy`): an action on a job with a record in flight waits for it
 *   to apply and then decides on the job as it is, so a cancel and a settle racing on one job
 *   cannot both win: whichever record is first makes the other find the job no longer its to change;
 * - below DATA_DIR_MIN_FREE_BYTES no job is accepted; what is left is the reserve for the claims,
 *   settles and removals of jobs already accepted, and snapshots wait unless they give space back.
 */
export class FileStore implements JobStore {
  readonly kind = 'file' as const;
  private readonly creatingKeys = new Map<string, Promise<CreateOutcome>>();
  private closed = false;
  private readonly notifier: CommitNotifier;
  private readonly dueNotifier: DueNotifier;
  private readonly claimsEnded: ClaimsEndedNotifier;
  private readonly compaction: Compaction;
  private readonly queue: CommitQueue;
  /** Jobs with a record in flight (see CommitQueue). */
  private readonly busy: Set<string>;

  private constructor(
    private readonly options: FileStoreOptions & { snapshotEvery: number; compactMinBytes: number },
    private readonly table: JobTable,
    private allocatedSeq: number,
    private readonly files: DataFiles,
    private readonly space: FreeSpace,
    private readonly releaseLock: () => Promise<void>,
    readonly recovery: RecoveryReport,
    readonly tokenKey: Buffer,
  ) {
    this.notifier = new CommitNotifier(options.logger);
    this.claimsEnded = new ClaimsEndedNotifier(options.logger);
    this.notifier.seed(table.lastSeq);
    this.dueNotifier = new DueNotifier(options.logger);
    this.compaction = new Compaction(options, table, files, space);
    this.queue = new CommitQueue(table, files, space, (records) => {
      this.notifier.report(table.lastSeq);
      this.compaction.applied(records);
    });
    this.busy = this.queue.busy;
  }

  /** Opens (creating if needed) and recovers the store in `dataDir`, holding its lock until close. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const started = performance.now();
    const settings = { snapshotEvery: 200_000, compactMinBytes: 1024 * 1024, ...options };
    const { dataDir, logger } = settings;
    await makePrivateDir(dataDir);
    const releaseLock = await lockDataDir(dataDir);
    try {
      const recovered = await recover(dataDir, logger);
      const tokenKey = await loadTokenKey(dataDir);
      const space = await FreeSpace.start({ dataDir, minFreeBytes: settings.minFreeBytes, logger, readFree: settings.readFree });
      try {
        const files = await DataFiles.open({
          ...settings,
          generation: recovered.generation,
          validLength: recovered.validLength,
          recoveredBytes: recovered.snapshotBytes + recovered.journalBytes,
        });
        const recovery = { ...recovered.report, recoveryMs: Math.round(performance.now() - started) };
        const { table } = recovered;
        return new FileStore(settings, table, table.lastSeq, files, space, releaseLock, recovery, tokenKey);
      } catch (error) {
        space.close();
        throw error;
      }
    } catch (error) {
      await releaseLock();
      throw error;
    }
  }

  async createJob(input: NewJob): Promise<CreateOutcome> {
    this.assertOpen();
    const key = input.idempotencyKey;
    if (key !== null) {
      const existingId = this.table.idForKey(key);
      const existing = existingId === undefined ? undefined : this.table.get(existingId);
      if (existing && !(input.keysExpireBefore !== undefined && existing.createdAt < input.keysExpireBefore)) {
        return { job: toStoredJob(existing), created: false };
      }
      const inFlight = this.creatingKeys.get(key);
      if (inFlight) return { job: (await inFlight).job, created: false };
    }
    if (this.space.short) throw new StoreFullError(this.space.reason());
    if (this.table.get(input.id)) throw new Error(`job id ${input.id} already exists`);
    const record: JournalRecord = {
      t: 'create',
      seq: ++this.allocatedSeq,
      id: input.id,
      createdAt: input.createdAt,
      runAt: input.runAt,
      key,
      client: input.client ?? null,
    };
    const outcome = this.commit([record]).then(([job]) => {
      this.dueNotifier.report(job!.runAt);
      return { job: toStoredJob(job!), created: true };
    });
    if (key !== null) {
      this.creatingKeys.set(key, outcome);
      const forget = () => this.creatingKeys.delete(key);
      outcome.then(forget, forget);
    }
    return outcome;
  }

  async getJob(id: string): Promise<StoredJob | undefined> {
    const job = this.table.get(id);
    return job && toStoredJob(job);
  }

  async listJobs(options: ListJobsOptions): Promise<StoredJob[]> {
    return this.table.list(options).map(toStoredJob);
  }

  async countJobs(): Promise<Record<JobStatus, number>> {
    return this.table.countByStatus();
  }

  async lastSeq(): Promise<number> {
    return this.table.lastSeq;
  }

  async claimDueJobs({ now, limit, leaseMs }: ClaimOptions): Promise<StoredJob[]> {
    this.assertOpen();
    const due = this.table.takeDue(now, limit, this.busy);
    const claimed = await this.commitEach(due, (job) => ({
      t: 'claim',
      seq: ++this.allocatedSeq,
      id: job.id,
      token: randomUUID(),
      leaseUntil: now + leaseMs,
      attempts: job.attempts + 1,
      at: now,
    }));
    return storedJobs(claimed);
  }

  async renewLease(id: string, claimToken: string, leaseUntil: number): Promise<boolean> {
    this.assertOpen();
    const job = this.table.get(id);
    if (job?.status !== 'running' || job.claimToken !== claimToken || this.busy.has(id)) return false;
    const [renewed] = await this.commit([{ t: 'renew', id, token: claimToken, leaseUntil }]);
    return renewed !== undefined;
  }

  async settleJob(id: string, claimToken: string, outcome: Outcome): Promise<StoredJob | undefined> {
    this.assertOpen();
    const job = this.table.get(id);
    if (job?.status !== 'running' || job.claimToken !== claimToken || this.busy.has(id)) return undefined;
    this.busy.add(id);
    const [settled] = await this.commit([
      {
        t: 'settle',
        seq: ++this.allocatedSeq,
        id,
        token: claimToken,
        status: outcome.status,
        resolvedAt: outcome.resolvedAt,
        resultJson: outcome.status === 'resolved' ? JSON.stringify(outcome.result) : null,
        error: outcome.status === 'failed' ? outcome.error : null,
      },
    ]);
    // The caller's result object is the stored one: no need to parse it back from the table's string.
    return settled && (outcome.status === 'resolved' ? withResult(settled, outcome.result) : toStoredJob(settled));
  }

  async releaseClaims(claims: Claim[], at: number): Promise<void> {
    this.assertOpen();
    const held = new Map<string, TableJob>();
    for (const { id, claimToken } of claims) {
      const job = this.table.get(id);
      if (job?.status === 'running' && job.claimToken === claimToken && !this.busy.has(id)) held.set(id, job);
    }
    const released = storedJobs(
      await this.commitEach([...held.values()], (job) => ({
        t: 'release',
        seq: ++this.allocatedSeq,
        id: job.id,
        token: job.claimToken!,
        attempts: Math.max(job.attempts - 1, 0),
        at,
      })),
    );
    if (released.length > 0) this.dueNotifier.report(released.reduce((earliest, job) => Math.min(earliest, job.runAt), Infinity));
  }

  async cancelJob(id: string, at: number): Promise<ActionResult> {
    return this.act(id, (job) => {
      if (job.status === 'cancelled') return { kind: 'unchanged', job: toStoredJob(job) };
      if (job.status !== 'pending' && job.status !== 'running') return { kind: 'conflict', job: toStoredJob(job) };
      return { t: 'cancel', seq: ++this.allocatedSeq, id, at };
    });
  }

  async runJobNow(id: string, at: number): Promise<ActionResult> {
    return this.act(id, (job) => {
      if (job.status !== 'pending') return { kind: 'conflict', job: toStoredJob(job) };
      return { t: 'run', seq: ++this.allocatedSeq, id, runAt: Math.min(job.runAt, at) };
    });
  }

  async retryJob(id: string, at: number): Promise<ActionResult> {
    return this.act(id, (job) => {
      if (job.status !== 'failed' && job.status !== 'cancelled') return { kind: 'conflict', job: toStoredJob(job) };
      return { t: 'retry', seq: ++this.allocatedSeq, id, runAt: at };
    });
  }

  async deleteJob(id: string): Promise<boolean> {
    const result = await this.act(id, () => ({ t: 'remove', seq: ++this.allocatedSeq, id }));
    return result.kind === 'done';
  }

  onClaimsEnded(listener: (claims: Claim[]) => void): () => void {
    return this.claimsEnded.subscribe(listener);
  }

  async nextWakeAt(): Promise<number | null> {
    return this.table.nextWakeAt();
  }

  async changesSince(after: number, limit: number): Promise<Changes> {
    const head = this.table.lastSeq;
    const read: Change[] = [];
    if (after <= head) {
      for (const { seq, id, removed } of this.table.changesSince(after, limit)) {
        read.push(removed ? { kind: 'removed', seq, id } : { kind: 'job', seq, job: toStoredJob(this.table.get(id)!) });
      }
    }
    return changesOrReset({ after, head, forgottenThrough: this.table.changes.forgottenThrough, limit, read });
  }

  async removeSettledJobs({ resolvedBefore, limit }: RemoveSettledOptions): Promise<number> {
    this.assertOpen();
    const jobs = this.table.takeSettled(resolvedBefore, limit, this.busy);
    return storedJobs(await this.commitEach(jobs, (job) => ({ t: 'remove', seq: ++this.allocatedSeq, id: job.id }))).length;
  }

  async expireIdempotencyKeys({ createdBefore, limit }: ExpireKeysOptions): Promise<number> {
    this.assertOpen();
    const jobs = this.table.keyedBefore(createdBefore, limit, this.busy);
    return storedJobs(await this.commitEach(jobs, (job) => ({ t: 'unkey', id: job.id }))).length;
  }

  onCommit(listener: (lastSeq: number) => void): () => void {
    return this.notifier.subscribe(listener);
  }

  onJobsDue(listener: (runAt: number) => void): () => void {
    return this.dueNotifier.subscribe(listener);
  }

  health(): StoreHealth {
    if (this.closed) return { ready: false, acceptingCreates: false, reason: 'the store is closed' };
    if (this.space.short) return { ready: true, acceptingCreates: false, reason: this.space.reason() };
    return { ready: true, acceptingCreates: true, reason: null };
  }

  /** Jobs in memory; for metrics and benchmarks. */
  get size(): number {
    return this.table.size;
  }

  /** Bytes of the data directory's snapshot and journals. */
  get storedBytes(): number {
    return this.files.storedBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.space.close();
    this.notifier.close();
    this.dueNotifier.close();
    this.claimsEnded.close();
    await this.compaction.stop();
    await this.files.close();
    await this.releaseLock();
  }

  /**
   * One action on one job: waits out any record in flight for it, then `decide`s on the job as it
   * is now, either an answer without a change or the record to write. Answers once the record is
   * durable and applied; a claim the record ended is reported to `onClaimsEnded` listeners then.
   */
  private async act(id: string, decide: (job: TableJob) => JournalRecord | ActionResult): Promise<ActionResult> {
    this.assertOpen();
    while (this.busy.has(id)) await this.queue.idle(id);
    const job = this.table.get(id);
    if (!job) return { kind: 'not-found' };
    const step = decide(job);
    if (!('t' in step)) return step;
    this.busy.add(id);
    const [changed] = await this.commit([step]);
    if (job.status === 'running' && job.claimToken !== null && (step.t === 'remove' || changed?.status !== 'running')) {
      this.claimsEnded.report([{ id, claimToken: job.claimToken }]);
    }
    // Run now and retry make the job claimable: workers hear of it once it is applied, as of a create.
    if ((step.t === 'run' || step.t === 'retry') && changed) this.dueNotifier.report(changed.runAt);
    return { kind: 'done', job: changed && step.t !== 'remove' ? toStoredJob(changed) : toStoredJob(job) };
  }

  private commit(records: JournalRecord[]): Promise<(TableJob | undefined)[]> {
    return this.queue.commit(records);
  }

  /** One record for each of `jobs`, in one commit; each job is busy until its record lands, so no other call takes it meanwhile. */
  private async commitEach(jobs: TableJob[], record: (job: TableJob) => JournalRecord): Promise<(TableJob | undefined)[]> {
    if (jobs.length === 0) return [];
    for (const job of jobs) this.busy.add(job.id);
    return this.commit(jobs.map(record));
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError('file');
  }
}

function storedJobs(applied: (TableJob | undefined)[]): StoredJob[] {
  return applied.filter((job): job is TableJob => job !== undefined).map(toStoredJob);
}
