import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobStatus } from '@simmer/contracts';
import type { Logger } from 'pino';
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
import { StoreClosedError } from '../store-errors.js';
import { lockDataDir } from './data-dir-lock.js';
import { applyRecord, isJournalRecord, type JournalRecord } from './journal-records.js';
import { FILE_HEADER_BYTES, JournalWriter, checkFileHeader, type SyncFile } from './journal-writer.js';
import { JobTable } from './job-table.js';
import { CorruptDataError, encodeRecord, scanRecords } from './record-codec.js';
import { readSnapshot, snapshotFileName, writeSnapshot } from './snapshot.js';
import { syncDir } from './sync-dir.js';

export interface FileStoreOptions {
  dataDir: string;
  logger: Logger;
  /** Write a snapshot (and start a new journal) after this many journal records. */
  snapshotEvery?: number;
  /** How data reaches the disk; tests replace it to simulate a failing disk. */
  sync?: SyncFile;
  /** Called once when a journal write or fsync fails; must stop the process (see JournalWriter). */
  onFatal: (error: Error) => void;
}

export interface RecoveryReport {
  jobs: number;
  recoveryMs: number;
  snapshotGeneration: number;
  journalRecords: number;
  tornBytes: number;
}

const JOURNAL_PATTERN = /^journal-(\d{12})\.smr$/;
const SNAPSHOT_PATTERN = /^snapshot-(\d{12})\.smr$/;

function journalFileName(generation: number): string {
  return `journal-${String(generation).padStart(12, '0')}.smr`;
}

interface PendingCommit {
  durable: boolean;
  records: JournalRecord[];
  settle(applied: (StoredJob | undefined)[]): void;
}

/**
 * The embedded store: an append-only journal of framed records under DATA_DIR, periodic
 * snapshots, and every job in memory. A change is applied to memory (and so becomes visible)
 * only once its record is durable, in sequence order.
 */
export class FileStore implements JobStore {
  readonly kind = 'file' as const;
  private readonly busy = new Set<string>();
  private readonly creatingKeys = new Map<string, Promise<CreateOutcome>>();
  private commits: PendingCommit[] = [];
  private commitsHead = 0;
  private recordsSinceSnapshot = 0;
  private snapshotting: Promise<void> | null = null;
  private closed = false;
  private readonly notifier: CommitNotifier;

  private constructor(
    private readonly options: FileStoreOptions & { snapshotEvery: number },
    private readonly table: JobTable,
    private journal: JournalWriter,
    private generation: number,
    private allocatedSeq: number,
    private readonly releaseLock: () => Promise<void>,
    readonly recovery: RecoveryReport,
  ) {
    this.notifier = new CommitNotifier(options.logger);
    this.notifier.seed(table.lastSeq);
  }

  /** Opens (creating if needed) and recovers the store in `dataDir`, holding its lock until close. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const started = performance.now();
    const settings = { snapshotEvery: 200_000, ...options };
    await mkdir(settings.dataDir, { recursive: true });
    const releaseLock = await lockDataDir(settings.dataDir);
    try {
      const { table, generation, validLength, report } = await recover(settings);
      const journal = await JournalWriter.open({
        path: join(settings.dataDir, journalFileName(generation)),
        validLength,
        sync: settings.sync,
        onFatal: settings.onFatal,
      });
      if (validLength === null) await syncDir(settings.dataDir);
      const recovery = { ...report, recoveryMs: Math.round(performance.now() - started) };
      return new FileStore(settings, table, journal, generation, table.lastSeq, releaseLock, recovery);
    } catch (error) {
      await releaseLock();
      throw error;
    }
  }

  async createJob(input: NewJob): Promise<CreateOutcome> {
    this.assertOpen();
    const key = input.idempotencyKey;
    if (key !== null) {
      const existing = this.table.idForKey(key);
      if (existing !== undefined) return { job: this.table.get(existing)!, created: false };
      const inFlight = this.creatingKeys.get(key);
      if (inFlight) return { job: (await inFlight).job, created: false };
    }
    if (this.table.get(input.id)) throw new Error(`job id ${input.id} already exists`);
    const record: JournalRecord = {
      t: 'create',
      seq: ++this.allocatedSeq,
      id: input.id,
      createdAt: input.createdAt,
      runAt: input.runAt,
      key,
    };
    const outcome = this.commit([record]).then(([job]) => ({ job: job!, created: true }));
    if (key !== null) {
      this.creatingKeys.set(key, outcome);
      const forget = () => this.creatingKeys.delete(key);
      outcome.then(forget, forget);
    }
    return outcome;
  }

  async getJob(id: string): Promise<StoredJob | undefined> {
    return this.table.get(id);
  }

  async listJobs(options: ListJobsOptions): Promise<StoredJob[]> {
    return this.table.list(options);
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
    if (due.length === 0) return [];
    const records: JournalRecord[] = due.map((job) => {
      this.busy.add(job.id);
      return {
        t: 'claim',
        seq: ++this.allocatedSeq,
        id: job.id,
        token: randomUUID(),
        leaseUntil: now + leaseMs,
        attempts: job.attempts + 1,
      };
    });
    const applied = await this.commit(records);
    return applied.filter((job): job is StoredJob => job !== undefined);
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
        result: outcome.status === 'resolved' ? outcome.result : null,
        error: outcome.status === 'failed' ? outcome.error : null,
      },
    ]);
    return settled;
  }

  async nextWakeAt(): Promise<number | null> {
    return this.table.nextWakeAt();
  }

  async changesSince(after: number, limit: number): Promise<Changes> {
    const head = this.table.lastSeq;
    const read = after > head ? [] : this.table.changesSince(after, limit).map(jobChange);
    return changesOrReset({ after, head, forgottenThrough: 0, limit, read });
  }

  async removeSettledJobs(_options: RemoveSettledOptions): Promise<number> {
    throw new Error('TODO(issue 10): retention in the file store');
  }

  async expireIdempotencyKeys(_options: ExpireKeysOptions): Promise<number> {
    throw new Error('TODO(issue 10): key expiry in the file store');
  }

  onCommit(listener: (lastSeq: number) => void): () => void {
    return this.notifier.subscribe(listener);
  }

  health(): StoreHealth {
    return this.closed
      ? { ready: false, acceptingCreates: false, reason: 'the store is closed' }
      : { ready: true, acceptingCreates: true, reason: null };
  }

  /** Jobs in memory; for metrics and benchmarks. */
  get size(): number {
    return this.table.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifier.close();
    await this.snapshotting;
    await this.journal.close();
    await this.releaseLock();
  }

  /**
   * Appends records and, once they are durable, applies them in sequence order (commits are
   * queued, and a commit applies only when every earlier one has), then tells listeners.
   */
  private commit(records: JournalRecord[]): Promise<(StoredJob | undefined)[]> {
    return new Promise((resolve, reject) => {
      let durable!: Promise<void>;
      for (const record of records) durable = this.journal.append(encodeRecord(record));
      const entry: PendingCommit = { durable: false, records, settle: resolve };
      this.commits.push(entry);
      durable.then(() => {
        entry.durable = true;
        this.applyDurableCommits();
      }, reject);
    });
  }

  private applyDurableCommits(): void {
    let applied = 0;
    while (this.commitsHead < this.commits.length && this.commits[this.commitsHead]!.durable) {
      const entry = this.commits[this.commitsHead++]!;
      const jobs = entry.records.map((record) => {
        this.busy.delete(record.id);
        return applyRecord(this.table, record);
      });
      applied += entry.records.length;
      entry.settle(jobs);
    }
    if (this.commitsHead === this.commits.length) {
      this.commits = [];
      this.commitsHead = 0;
    }
    if (applied === 0) return;
    this.recordsSinceSnapshot += applied;
    this.notifier.report(this.table.lastSeq);
    if (this.recordsSinceSnapshot >= this.options.snapshotEvery && !this.snapshotting && !this.closed) {
      this.recordsSinceSnapshot = 0;
      this.snapshotting = this.rotateAndSnapshot()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'snapshot failed; the journal still holds every change'))
        .finally(() => {
          this.snapshotting = null;
        });
    }
  }

  /**
   * Starts journal generation N+1, then writes snapshot N+1 of everything journal N and earlier
   * hold. Old files are removed only after the snapshot is durable, so a crash at any point
   * recovers from the old snapshot and journals.
   */
  private async rotateAndSnapshot(): Promise<void> {
    const { dataDir, sync, logger } = this.options;
    const started = performance.now();
    const generation = this.generation + 1;
    const next = await JournalWriter.open({
      path: join(dataDir, journalFileName(generation)),
      validLength: null,
      sync: sync,
      onFatal: this.options.onFatal,
    });
    await syncDir(dataDir);
    const previous = this.journal;
    this.journal = next;
    this.generation = generation;
    const previousClosed = previous.close();
    next.startAfter(previousClosed);
    await previousClosed;
    // Let the old journal's last commits apply before taking the jobs.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const jobs = this.table.values();
    await writeSnapshot({ dir: dataDir, generation, lastSeq: this.table.lastSeq, jobs, sync: sync ?? ((handle) => handle.sync()) });
    for (const name of await readdir(dataDir)) {
      const match = JOURNAL_PATTERN.exec(name) ?? SNAPSHOT_PATTERN.exec(name);
      if (match && Number(match[1]) < generation) await unlink(join(dataDir, name));
    }
    await syncDir(dataDir);
    logger.info({ generation, jobs: jobs.length, ms: Math.round(performance.now() - started) }, 'snapshot written');
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError('file');
  }
}

/** Rebuilds the table from the newest snapshot and the journals after it. */
async function recover(options: FileStoreOptions): Promise<{
  table: JobTable;
  generation: number;
  validLength: number | null;
  report: Omit<RecoveryReport, 'recoveryMs'>;
}> {
  const { dataDir } = options;
  const names = await readdir(dataDir);
  for (const name of names) if (name.endsWith('.tmp')) await unlink(join(dataDir, name));
  const generations = (pattern: RegExp) =>
    names
      .map((name) => pattern.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);

  const table = new JobTable();
  const snapshotGeneration = generations(SNAPSHOT_PATTERN).at(-1) ?? 0;
  if (snapshotGeneration > 0) {
    const snapshot = await readSnapshot(join(dataDir, snapshotFileName(snapshotGeneration)));
    for (const job of snapshot.jobs) table.put(job, false);
    table.lastSeq = Math.max(table.lastSeq, snapshot.lastSeq);
  }

  const journals = generations(JOURNAL_PATTERN).filter((generation) => generation >= snapshotGeneration);
  let journalRecords = 0;
  let tornBytes = 0;
  let validLength: number | null = null;
  let emptiedGeneration: number | null = null;
  for (const [index, generation] of journals.entries()) {
    const path = join(dataDir, journalFileName(generation));
    const buffer = await readFile(path);
    const isLast = index === journals.length - 1;
    if (isLast && buffer.length < FILE_HEADER_BYTES) {
      // Cut short while being created: it holds nothing yet.
      await unlink(path);
      emptiedGeneration = generation;
      break;
    }
    checkFileHeader(buffer, 'SMRJ', path);
    // Only the newest journal can end in a torn write: older ones were closed after their last fsync.
    const scan = scanRecords(buffer, path, { headerBytes: FILE_HEADER_BYTES, tolerateTornTail: isLast });
    for (const record of scan.records) {
      if (!isJournalRecord(record)) throw new CorruptDataError(path, -1, `unknown record ${JSON.stringify(record).slice(0, 80)}`);
      applyRecord(table, record);
    }
    journalRecords += scan.records.length;
    if (isLast) {
      validLength = scan.validLength;
      tornBytes = scan.tornBytes;
      if (tornBytes > 0) options.logger.warn({ file: path, tornBytes }, 'cut off a torn last record (never acknowledged)');
    }
  }

  // One process owns the directory, so jobs left running were orphaned by the crash: run them again now.
  for (const job of table.values()) {
    if (job.status === 'running') table.replaceQuietly({ ...job, leaseUntil: 0 });
  }
  table.rebuildChangeLog();
  const generation = emptiedGeneration ?? journals.at(-1) ?? Math.max(1, snapshotGeneration);
  return {
    table,
    generation,
    validLength,
    report: { jobs: table.size, snapshotGeneration, journalRecords, tornBytes },
  };
}
