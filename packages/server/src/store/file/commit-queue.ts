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

  private applyDurable(): void {
    let applied = 0;
    while (this.head < this.commits.length && this.commits[this.head]!.durable) {
      const entry = this.commits[this.head++]!;
      const jobs = entry.records.map((record) => {
        this.busy.delete(record.id);
        return applyRecord(this.table, record);
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
}
