/** One entry of the log: a job's latest change, or a job's removal. */
export interface LoggedChange {
  seq: number;
  id: string;
  removed: boolean;
}

/** Removals remembered for "changes since N"; a reader further back than these reloads instead. */
export const TOMBSTONES_KEPT = 10_000;

/**
 * "Changes since N" for the file store: (seq, id) of every change in sequence order. An entry is
 * live while it is its job's latest change (`isLatest`) or its job's removal (a tombstone); older
 * entries are skipped, then compacted away. Tombstones are bounded: past `tombstonesKept` the
 * oldest are forgotten and `forgottenThrough` moves up to the last forgotten removal's number.
 */
export class ChangeLog {
  private seqs: number[] = [];
  private ids: string[] = [];
  /** Removed id → the seq of its removal, oldest first (ids never come back, so a Map keeps order). */
  private readonly tombstones = new Map<string, number>();
  /** Removals up to this seq are no longer known. */
  forgottenThrough = 0;

  constructor(
    private readonly isLatest: (id: string, seq: number) => boolean,
    private readonly liveJobs: () => number,
    private readonly tombstonesKept = TOMBSTONES_KEPT,
  ) {}

  /** Appends a change; changes arrive in sequence order. */
  record(seq: number, id: string): void {
    this.seqs.push(seq);
    this.ids.push(id);
    if (this.seqs.length > 2 * (this.liveJobs() + this.tombstones.size) + 1024) this.compact();
  }

  /** Appends a removal and remembers it as a tombstone. */
  recordRemoval(seq: number, id: string): void {
    this.tombstones.set(id, seq);
    this.record(seq, id);
    for (const [oldId, oldSeq] of this.tombstones) {
      if (this.tombstones.size <= this.tombstonesKept) break;
      this.tombstones.delete(oldId);
      this.forgottenThrough = Math.max(this.forgottenThrough, oldSeq);
    }
  }

  /** Tombstones, oldest first, for a snapshot. */
  removals(): [id: string, seq: number][] {
    return Array.from(this.tombstones);
  }

  /** Recovery: restores tombstones from a snapshot (oldest first) before any journal is replayed. */
  restoreRemovals(removals: Iterable<[string, number]>, forgottenThrough: number): void {
    for (const [id, seq] of removals) this.tombstones.set(id, seq);
    this.forgottenThrough = Math.max(this.forgottenThrough, forgottenThrough);
  }

  /** Recovery: rebuilds the log from every job's latest change and the tombstones. */
  rebuild(latest: { seq: number; id: string }[]): void {
    const entries = latest.concat(Array.from(this.tombstones, ([id, seq]) => ({ id, seq })));
    entries.sort((a, b) => a.seq - b.seq);
    this.seqs = entries.map((entry) => entry.seq);
    this.ids = entries.map((entry) => entry.id);
  }

  /** Live entries after `after`, in sequence order; `limit + 1` at most so callers can tell "more". */
  since(after: number, limit: number): LoggedChange[] {
    const result: LoggedChange[] = [];
    for (let i = this.firstAfter(after); i < this.seqs.length && result.length <= limit; i++) {
      const seq = this.seqs[i]!;
      const id = this.ids[i]!;
      if (this.isLatest(id, seq)) result.push({ seq, id, removed: false });
      else if (this.tombstones.get(id) === seq) result.push({ seq, id, removed: true });
    }
    return result;
  }

  private compact(): void {
    const seqs: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < this.seqs.length; i++) {
      const seq = this.seqs[i]!;
      const id = this.ids[i]!;
      if (this.isLatest(id, seq) || this.tombstones.get(id) === seq) {
        seqs.push(seq);
        ids.push(id);
      }
    }
    this.seqs = seqs;
    this.ids = ids;
  }

  private firstAfter(seq: number): number {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqs[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
