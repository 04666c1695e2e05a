import type { JobStatus } from '@simmer/contracts';
import type { StoredJob } from '../job-store.js';
import { MinHeap } from './min-heap.js';
import { SortedIds } from './sorted-ids.js';

interface DueEntry {
  runAt: number;
  id: string;
}

/**
 * The file store's in-memory state: every job, with the indexes its queries need. Job objects
 * are replaced, never mutated, so a snapshot can hold references while changes go on.
 */
export class JobTable {
  private readonly jobs = new Map<string, StoredJob>();
  /** Ids ascending; UUIDv7 sorts by creation time, so newest-first pages read it backwards. */
  private readonly ids = new SortedIds();
  /** The same, one set per status, so a filtered page reads only jobs of that status. */
  private readonly idsByStatus: Record<JobStatus, SortedIds> = {
    pending: new SortedIds(),
    running: new SortedIds(),
    resolved: new SortedIds(),
    failed: new SortedIds(),
  };
  private readonly idsByKey = new Map<string, string>();
  private readonly due = new MinHeap<DueEntry>((entry) => entry.runAt);
  private readonly running = new Map<string, StoredJob>();
  /** (seq, id) of each change in sequence order; entries a later change superseded are skipped, then compacted away. */
  private changeSeqs: number[] = [];
  private changeIds: string[] = [];
  lastSeq = 0;

  get size(): number {
    return this.jobs.size;
  }

  get(id: string): StoredJob | undefined {
    return this.jobs.get(id);
  }

  idForKey(key: string): string | undefined {
    return this.idsByKey.get(key);
  }

  countByStatus(): Record<JobStatus, number> {
    const { pending, running, resolved, failed } = this.idsByStatus;
    return { pending: pending.size, running: running.size, resolved: resolved.size, failed: failed.size };
  }

  values(): StoredJob[] {
    return Array.from(this.jobs.values());
  }

  /**
   * Inserts or replaces a job; `job.updatedSeq` must be newer than the job's previous one.
   * Recovery passes `logChange: false` and calls `rebuildChangeLog` once at the end.
   */
  put(job: StoredJob, logChange = true): void {
    const previous = this.jobs.get(job.id);
    this.jobs.set(job.id, job);
    if (previous) {
      if (previous.status === 'running') this.running.delete(job.id);
      if (previous.status !== job.status) {
        this.idsByStatus[previous.status].delete(job.id);
        this.idsByStatus[job.status].add(job.id);
      }
    } else {
      this.ids.add(job.id);
      this.idsByStatus[job.status].add(job.id);
      if (job.idempotencyKey !== null) this.idsByKey.set(job.idempotencyKey, job.id);
    }
    if (job.status === 'pending' && previous?.status !== 'pending') this.due.push({ runAt: job.runAt, id: job.id });
    if (job.status === 'running') this.running.set(job.id, job);
    if (job.updatedSeq > this.lastSeq) this.lastSeq = job.updatedSeq;
    if (logChange && job.updatedSeq !== previous?.updatedSeq) this.recordChange(job.updatedSeq, job.id);
  }

  /** Rebuilds the change log from every job's latest sequence number. */
  rebuildChangeLog(): void {
    const jobs = this.values().sort((a, b) => a.updatedSeq - b.updatedSeq);
    this.changeSeqs = jobs.map((job) => job.updatedSeq);
    this.changeIds = jobs.map((job) => job.id);
  }

  /** Replaces a job without recording a change (lease renewals, recovery fix-ups). */
  replaceQuietly(job: StoredJob): void {
    this.jobs.set(job.id, job);
    if (job.status === 'running') this.running.set(job.id, job);
  }

  /** Newest first, optionally one status, starting below `before`. */
  list(options: { status?: JobStatus; limit: number; before?: string }): StoredJob[] {
    const ids = options.status === undefined ? this.ids : this.idsByStatus[options.status];
    return ids.descending(options.before, options.limit).map((id) => this.jobs.get(id)!);
  }

  /**
   * Due pending jobs (earliest runAt first), then running jobs whose lease has ended; at most
   * `limit`, none of `busy`. Taking a pending job removes it from the due heap.
   */
  takeDue(now: number, limit: number, busy: ReadonlySet<string>): StoredJob[] {
    const taken: StoredJob[] = [];
    const putBack: DueEntry[] = [];
    while (taken.length < limit) {
      const top = this.due.peek();
      if (top === undefined || top.runAt > now) break;
      this.due.pop();
      const job = this.jobs.get(top.id);
      if (job?.status !== 'pending' || job.runAt !== top.runAt) continue;
      if (busy.has(job.id)) putBack.push(top);
      else taken.push(job);
    }
    for (const entry of putBack) this.due.push(entry);
    if (taken.length < limit) {
      for (const job of this.running.values()) {
        if (taken.length >= limit) break;
        if (job.leaseUntil !== null && job.leaseUntil <= now && !busy.has(job.id)) taken.push(job);
      }
    }
    return taken;
  }

  /** Puts a job taken by takeDue back on the due heap (its claim was not written). */
  returnDue(job: StoredJob): void {
    if (job.status === 'pending') this.due.push({ runAt: job.runAt, id: job.id });
  }

  nextWakeAt(): number | null {
    let next: number | null = null;
    while (this.due.size > 0) {
      const top = this.due.peek()!;
      const job = this.jobs.get(top.id);
      if (job?.status === 'pending' && job.runAt === top.runAt) {
        next = top.runAt;
        break;
      }
      this.due.pop();
    }
    for (const job of this.running.values()) {
      if (job.leaseUntil !== null && (next === null || job.leaseUntil < next)) next = job.leaseUntil;
    }
    return next;
  }

  /** Jobs whose latest change is after `after`, in sequence order; `limit + 1` at most so callers can tell "more". */
  changesSince(after: number, limit: number): StoredJob[] {
    const result: StoredJob[] = [];
    for (let i = this.firstChangeAfter(after); i < this.changeSeqs.length && result.length <= limit; i++) {
      const job = this.jobs.get(this.changeIds[i]!)!;
      if (job.updatedSeq === this.changeSeqs[i]) result.push(job);
    }
    return result;
  }

  private recordChange(seq: number, id: string): void {
    // Changes are applied in sequence order, so the log stays sorted by appending.
    this.changeSeqs.push(seq);
    this.changeIds.push(id);
    if (this.changeSeqs.length > 2 * this.jobs.size + 1024) this.compactChanges();
  }

  private compactChanges(): void {
    const seqs: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < this.changeSeqs.length; i++) {
      if (this.jobs.get(this.changeIds[i]!)?.updatedSeq === this.changeSeqs[i]) {
        seqs.push(this.changeSeqs[i]!);
        ids.push(this.changeIds[i]!);
      }
    }
    this.changeSeqs = seqs;
    this.changeIds = ids;
  }

  private firstChangeAfter(seq: number): number {
    let lo = 0;
    let hi = this.changeSeqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.changeSeqs[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
