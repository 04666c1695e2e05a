import { SHORT_ID_LENGTH, type JobStatus } from '@simmer/contracts';
import type { StoredJob } from '../job-store.js';
import { ChangeLog, type LoggedChange } from './change-log.js';
import { MinHeap } from './min-heap.js';
import { SortedIds } from './sorted-ids.js';

/**
 * A job as the table holds it: a StoredJob whose result stays serialised in `resultJson` (its
 * `result` is always null here). A result is most of a resolved job's size and is read rarely (a
 * page of the list, a GET), so one string instead of a tree of objects and strings keeps a
 * resolved job under 2 KB of memory.
 */
export type TableJob = StoredJob & { result: null; resultJson: string | null };

/** The job as readers see it: a job without a result as it is (no copy per listed job), one with a result with it parsed. */
export function toStoredJob(job: TableJob): StoredJob {
  return job.resultJson === null ? job : withResult(job, JSON.parse(job.resultJson) as StoredJob['result']);
}

/** The job with the result its caller already holds (a settle), instead of parsing it back. */
export function withResult(job: TableJob, result: StoredJob['result']): StoredJob {
  // Spelled out: object rest (`{ resultJson, ...rest }`) takes V8's slow path.
  return {
    id: job.id,
    status: job.status,
    createdAt: job.createdAt,
    runAt: job.runAt,
    resolvedAt: job.resolvedAt,
    result,
    error: job.error,
    idempotencyKey: job.idempotencyKey,
    client: job.client,
    updatedSeq: job.updatedSeq,
    claimToken: job.claimToken,
    leaseUntil: job.leaseUntil,
    attempts: job.attempts,
    claimedAt: job.claimedAt,
    endedAttempts: job.endedAttempts,
  };
}

interface TimedEntry {
  at: number;
  id: string;
}

/** Roughly what a job adds to a snapshot, to tell when compaction would pay (see FileStore). */
function storedBytesOf(job: TableJob): number {
  return (
    300 +
    (job.resultJson?.length ?? 0) +
    (job.error === null ? 0 : 200) +
    (job.idempotencyKey?.length ?? 0) +
    (job.client?.length ?? 0) +
    job.endedAttempts.length * 100
  );
}

/** A job's short id (its last six hex digits) as a number: a small integer key, cheaper in a Map than a string. */
export const shortIdKey = (idOrShortId: string): number => parseInt(idOrShortId.slice(-SHORT_ID_LENGTH), 16);

/**
 * The file store's in-memory state: every job, with the indexes its queries need. Job objects
 * are replaced, never mutated, so a snapshot can hold references while changes go on.
 */
export class JobTable {
  private readonly jobs = new Map<string, TableJob>();
  /** Ids ascending; UUIDv7 sorts by creation time, so newest-first pages read it backwards. */
  private readonly ids = new SortedIds();
  /** The same, one set per status, so a filtered page reads only jobs of that status. */
  private readonly idsByStatus: Record<JobStatus, SortedIds> = {
    pending: new SortedIds(),
    running: new SortedIds(),
    resolved: new SortedIds(),
    failed: new SortedIds(),
    cancelled: new SortedIds(),
  };
  /** Short id → the job id ending with it (an array on the rare collision: ~6 % of short ids at 1,000,000 jobs). */
  private readonly idsByShortId = new Map<number, string | string[]>();
  /** Idempotency key → job id, in the order the keys were taken (so oldest first, for expiry). */
  private readonly idsByKey = new Map<string, string>();
  private readonly due = new MinHeap<TimedEntry>((entry) => entry.at);
  /** Settled jobs by resolvedAt, for retention. Entries of removed jobs are dropped as they surface. */
  private readonly settled = new MinHeap<TimedEntry>((entry) => entry.at);
  private readonly running = new Map<string, TableJob>();
  readonly changes = new ChangeLog(
    (id, seq) => this.jobs.get(id)?.updatedSeq === seq,
    () => this.jobs.size,
  );
  lastSeq = 0;
  /** Roughly the bytes a snapshot of the table takes. */
  liveBytes = 0;

  get size(): number {
    return this.jobs.size;
  }

  get(id: string): TableJob | undefined {
    return this.jobs.get(id);
  }

  idForKey(key: string): string | undefined {
    return this.idsByKey.get(key);
  }

  countByStatus(): Record<JobStatus, number> {
    const { pending, running, resolved, failed, cancelled } = this.idsByStatus;
    return { pending: pending.size, running: running.size, resolved: resolved.size, failed: failed.size, cancelled: cancelled.size };
  }

  values(): TableJob[] {
    return Array.from(this.jobs.values());
  }

  /**
   * Inserts or replaces a job; `job.updatedSeq` must be newer than the job's previous one.
   * Recovery passes `logChange: false` and calls `rebuildChangeLog` once at the end.
   */
  put(job: TableJob, logChange = true): void {
    const previous = this.jobs.get(job.id);
    this.jobs.set(job.id, job);
    this.liveBytes += storedBytesOf(job) - (previous ? storedBytesOf(previous) : 0);
    if (previous) {
      if (previous.status === 'running') this.running.delete(job.id);
      if (previous.status !== job.status) {
        this.idsByStatus[previous.status].delete(job.id);
        this.idsByStatus[job.status].add(job.id);
      }
    } else {
      this.ids.add(job.id);
      this.idsByStatus[job.status].add(job.id);
      this.addShortId(job.id);
      if (job.idempotencyKey !== null) this.takeKey(job.idempotencyKey, job.id);
    }
    if (job.status === 'pending' && (previous?.status !== 'pending' || previous.runAt !== job.runAt)) {
      this.due.push({ at: job.runAt, id: job.id });
    }
    if (job.status === 'running') this.running.set(job.id, job);
    if (job.resolvedAt !== null && previous?.resolvedAt !== job.resolvedAt) this.settled.push({ at: job.resolvedAt, id: job.id });
    if (job.updatedSeq > this.lastSeq) this.lastSeq = job.updatedSeq;
    if (logChange && job.updatedSeq !== previous?.updatedSeq) this.changes.record(job.updatedSeq, job.id);
  }

  /** Removes a job for good as change `seq`; its key goes with it. */
  remove(id: string, seq: number): TableJob | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    this.jobs.delete(id);
    this.liveBytes -= storedBytesOf(job);
    this.ids.delete(id);
    this.idsByStatus[job.status].delete(id);
    this.deleteShortId(id);
    this.running.delete(id);
    if (job.idempotencyKey !== null && this.idsByKey.get(job.idempotencyKey) === id) this.idsByKey.delete(job.idempotencyKey);
    if (seq > this.lastSeq) this.lastSeq = seq;
    this.changes.recordRemoval(seq, id);
    return job;
  }

  /** Forgets a job's idempotency key (the job stays); not a change readers see. */
  dropKey(id: string): TableJob | undefined {
    const job = this.jobs.get(id);
    if (job?.idempotencyKey == null) return undefined;
    if (this.idsByKey.get(job.idempotencyKey) === id) this.idsByKey.delete(job.idempotencyKey);
    const unkeyed: TableJob = { ...job, idempotencyKey: null };
    this.replaceQuietly(unkeyed);
    return unkeyed;
  }

  /** Rebuilds the change log from every job's latest sequence number and the tombstones. */
  rebuildChangeLog(): void {
    this.changes.rebuild(Array.from(this.jobs.values(), (job) => ({ seq: job.updatedSeq, id: job.id })));
  }

  /** Replaces a job without recording a change (lease renewals, key expiry, recovery fix-ups). */
  replaceQuietly(job: TableJob): void {
    const previous = this.jobs.get(job.id);
    this.jobs.set(job.id, job);
    if (previous) this.liveBytes += storedBytesOf(job) - storedBytesOf(previous);
    if (job.status === 'running') this.running.set(job.id, job);
  }

  /** Newest first, optionally one status and one short id, starting below `before`. */
  list(options: { status?: JobStatus; shortId?: string; limit: number; before?: string }): TableJob[] {
    if (options.shortId !== undefined) return this.listByShortId({ ...options, shortId: options.shortId });
    const ids = options.status === undefined ? this.ids : this.idsByStatus[options.status];
    return ids.descending(options.before, options.limit).map((id) => this.jobs.get(id)!);
  }

  private listByShortId({
    shortId,
    status,
    limit,
    before,
  }: {
    shortId: string;
    status?: JobStatus;
    limit: number;
    before?: string;
  }): TableJob[] {
    if (!/^[0-9a-f]{6}$/.test(shortId)) return [];
    const found = this.idsByShortId.get(shortIdKey(shortId));
    const ids = found === undefined ? [] : typeof found === 'string' ? [found] : [...found].sort().reverse();
    return ids
      .filter((id) => before === undefined || id < before)
      .map((id) => this.jobs.get(id)!)
      .filter((job) => status === undefined || job.status === status)
      .slice(0, limit);
  }

  private addShortId(id: string): void {
    const key = shortIdKey(id);
    const found = this.idsByShortId.get(key);
    if (found === undefined) this.idsByShortId.set(key, id);
    else if (typeof found === 'string') this.idsByShortId.set(key, [found, id]);
    else found.push(id);
  }

  private deleteShortId(id: string): void {
    const key = shortIdKey(id);
    const found = this.idsByShortId.get(key);
    if (found === id) this.idsByShortId.delete(key);
    else if (Array.isArray(found)) {
      const rest = found.filter((other) => other !== id);
      this.idsByShortId.set(key, rest.length === 1 ? rest[0]! : rest);
    }
  }

  /**
   * Due pending jobs (earliest runAt first), then running jobs whose lease has ended; at most
   * `limit`, none of `busy`. Taking a pending job removes it from the due heap.
   */
  takeDue(now: number, limit: number, busy: ReadonlySet<string>): TableJob[] {
    const taken = this.takeFromHeap(this.due, now, limit, busy, (job, entry) => job.status === 'pending' && job.runAt === entry.at);
    if (taken.length < limit) {
      for (const job of this.running.values()) {
        if (taken.length >= limit) break;
        if (job.leaseUntil !== null && job.leaseUntil <= now && !busy.has(job.id)) taken.push(job);
      }
    }
    return taken;
  }

  /** Settled jobs resolved at or before `resolvedBefore`, oldest first, at most `limit`, none of `busy`. */
  takeSettled(resolvedBefore: number, limit: number, busy: ReadonlySet<string>): TableJob[] {
    return this.takeFromHeap(this.settled, resolvedBefore, limit, busy, (job, entry) => job.resolvedAt === entry.at);
  }

  /** Jobs whose key was taken before `createdBefore` (keys are kept in the order taken), at most `limit`, none of `busy`. */
  keyedBefore(createdBefore: number, limit: number, busy: ReadonlySet<string>): TableJob[] {
    const found: TableJob[] = [];
    for (const id of this.idsByKey.values()) {
      if (found.length >= limit) break;
      const job = this.jobs.get(id);
      if (!job) continue;
      if (job.createdAt >= createdBefore) break;
      if (!busy.has(id)) found.push(job);
    }
    return found;
  }

  nextWakeAt(): number | null {
    let next: number | null = null;
    while (this.due.size > 0) {
      const top = this.due.peek()!;
      const job = this.jobs.get(top.id);
      if (job?.status === 'pending' && job.runAt === top.at) {
        next = top.at;
        break;
      }
      this.due.pop();
    }
    for (const job of this.running.values()) {
      if (job.leaseUntil !== null && (next === null || job.leaseUntil < next)) next = job.leaseUntil;
    }
    return next;
  }

  /** Live changes after `after`, in sequence order; `limit + 1` at most so callers can tell "more". */
  changesSince(after: number, limit: number): LoggedChange[] {
    return this.changes.since(after, limit);
  }

  /** A key taken again (its old job's key expired) moves to the end, keeping the map in the order keys were taken. */
  private takeKey(key: string, id: string): void {
    const previousId = this.idsByKey.get(key);
    if (previousId !== undefined) {
      this.idsByKey.delete(key);
      const previous = this.jobs.get(previousId);
      if (previous) this.replaceQuietly({ ...previous, idempotencyKey: null });
    }
    this.idsByKey.set(key, id);
  }

  /**
   * Pops entries with `at <= until` whose job still `matches`, at most `limit`; entries of jobs in
   * `busy` go back on the heap, stale entries (the job moved on or went) are dropped.
   */
  private takeFromHeap(
    heap: MinHeap<TimedEntry>,
    until: number,
    limit: number,
    busy: ReadonlySet<string>,
    matches: (job: TableJob, entry: TimedEntry) => boolean,
  ): TableJob[] {
    const taken: TableJob[] = [];
    const takenIds = new Set<string>();
    const putBack: TimedEntry[] = [];
    while (taken.length < limit) {
      const top = heap.peek();
      if (top === undefined || top.at > until) break;
      heap.pop();
      const job = this.jobs.get(top.id);
      // A job can have two entries that both still match: recovery replays a create, its claim and a
      // give-back (due at the same time again) without taking the first entry off. Taken once.
      if (!job || !matches(job, top) || takenIds.has(job.id)) continue;
      if (busy.has(job.id)) putBack.push(top);
      else {
        taken.push(job);
        takenIds.add(job.id);
      }
    }
    for (const entry of putBack) heap.push(entry);
    return taken;
  }
}
