import type { DataFiles } from './data-files.js';
import type { FreeSpace } from './free-space.js';
import type { JobTable, TableJob } from './job-table.js';
import { applyRecord, type JournalRecord } from './journal-records.js';
import { encodeRecord } from './record-codec.js';

interface PendingCommit {
  durable: boolean;
  records: JournalRecord[];
  settle(applied: (TableJob | undefined)[]): void;
}

/**
 * The file store's write path. Records are appended to the journal at once (group commit makes one
 * fsync per batch); a commit applies to the table only once it is durable AND every earlier commit
 * has applied, so memory, and every reader, sees changes in sequence order and never one a crash
 * could take back. `busy` holds the ids of jobs with a record in flight: callers add them before
 * committing, and no second record is started for such a job until the first applies.
 */
export class CommitQueue {
  readonly busy = new Set<string>();
  /** Callers waiting for a busy job's record to apply (see `idle`). */
  private readonly waiting = new Map<string, (() => void)[]>();
  private commits: PendingCommit[] = [];
  private head = 0;

  constructor(
    private readonly table: JobTable,
    private readonly files: DataFiles,
    private readonly space: FreeSpace,
    /** Called after a run of commits applied, with how many records they held. */
    private readonly onApplied: (records: number) => void,
  ) {}

  /** Appends records; resolves, once they are durable and applied, with the job each produced (undefined: no change). */
  commit(records: JournalRecord[]): Promise<(TableJob | undefined)[]> {
    return new Promise((resolve, reject) => {
      let durable!: Promise<void>;
      for (const record of records) {
        const frame = encodeRecord(record);
        durable = this.files.append(frame);
        this.space.wrote(frame.length);
      }
      const entry: PendingCommit = { durable: false, records, settle: resolve };
      this.commits.push(entry);
      durable.then(() => {
        entry.durable = true;
        this.applyDurable();
      }, reject);
    });
  }

  /** Resolves once the job's record in flight has applied (at once when it has none). */
  idle(id: string): Promise<void> {
    if (!this.busy.has(id)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.waiting.get(id);
      if (waiters) waiters.push(resolve);
      else this.waiting.set(id, [resolve]);
    });
  }

  private applyDurable(): void {
    let applied = 0;
    while (this.head < this.commits.length && this.commits[this.head]!.durable) {
      const entry = this.commits[this.head++]!;
      const jobs = entry.records.map((record) => {
        this.busy.delete(record.id);
        const applied = applyRecord(this.table, record);
        this.wakeWaiting(record.id);
        return applied;
      });
      applied += entry.records.length;
      entry.settle(jobs);
    }
    if (this.head === this.commits.length) {
      this.commits = [];
      this.head = 0;
    }
    if (applied > 0) this.onApplied(applied);
  }

  private wakeWaiting(id: string): void {
    const waiters = this.waiting.get(id);
    if (waiters === undefined) return;
    this.waiting.delete(id);
    for (const wake of waiters) wake();
  }
}
