import type { JobError, JobResult, JobStatus } from '@simmer/contracts';

/** A job as a store holds it. Times are epoch milliseconds. */
export interface StoredJob {
  id: string;
  status: JobStatus;
  createdAt: number;
  runAt: number;
  resolvedAt: number | null;
  result: JobResult | null;
  error: JobError | null;
  idempotencyKey: string | null;
  /** The store sequence number of this job's latest change. */
  updatedSeq: number;
  /** Identifies the current claim of a running job; null otherwise. */
  claimToken: string | null;
  /** When the current claim expires and another worker may take the job. */
  leaseUntil: number | null;
  /** How many times the job has been claimed. */
  attempts: number;
}

export interface NewJob {
  id: string;
  createdAt: number;
  runAt: number;
  idempotencyKey: string | null;
  /**
   * Keys of jobs created before this time (epoch ms) have expired (IDEMPOTENCY_KEY_TTL_MS): such a
   * key no longer returns its job, and creates a new one. Absent: keys never expire.
   */
  keysExpireBefore?: number;
}

export interface CreateOutcome {
  job: StoredJob;
  /** false when the idempotency key was already used: `job` is the existing job. */
  created: boolean;
}

export interface ListJobsOptions {
  status?: JobStatus;
  limit: number;
  /** Keyset pagination: only jobs whose id sorts before this one (older). */
  before?: string;
}

export interface ClaimOptions {
  now: number;
  limit: number;
  leaseMs: number;
  /** Names the claiming process in logs and for debugging. */
  owner: string;
}

export type Outcome =
  { status: 'resolved'; result: JobResult; resolvedAt: number } | { status: 'failed'; error: JobError; resolvedAt: number };

/** One entry of "changes since N": a job in its latest state, or the removal of a job. */
export type Change = { kind: 'job'; seq: number; job: StoredJob } | { kind: 'removed'; seq: number; id: string };

export interface Changes {
  /** What changed after the requested sequence, in sequence order, each job once, as of now. */
  changes: Change[];
  /** true when the requested point cannot be replayed (too old, or ahead of this store): reload instead. */
  reset: boolean;
}

export interface RemoveSettledOptions {
  /** Settled jobs whose resolvedAt is at or before this (epoch ms) are removed. */
  resolvedBefore: number;
  /** At most this many in one call. */
  limit: number;
}

export interface ExpireKeysOptions {
  /** Keys of jobs created before this (epoch ms) are forgotten; the jobs stay. */
  createdBefore: number;
  /** At most this many in one call. */
  limit: number;
}

export type StoreKind = 'file' | 'postgres';

export interface StoreHealth {
  /** false while the store cannot serve (closed, or its database unreachable). */
  ready: boolean;
  /** false while creates are refused (for example, the disk is short of space); reads and settles may go on. */
  acceptingCreates: boolean;
  /** Why it is not ready or not accepting creates, in words for /readyz and the logs; null when all is well. */
  reason: string | null;
}

/**
 * Where jobs live. Every implementation passes `test/contract/job-store-contract.ts`.
 *
 * Invariants every implementation MUST keep:
 * - a promise that resolves has made its change durable (a crash right after loses nothing);
 * - every change takes the next value of one monotonic sequence, which numbers live events;
 * - a job's outcome is written once: only the current claim may settle it.
 *
 * Ordering, which a follower of changes (the event hub) relies on:
 * - numbers become readable in order: `changesSince` never returns a change while one with a lower
 *   number is still to become readable, so reading on from the last number read skips nothing;
 * - a listener added with `onCommit` before a `lastSeq()` read hears of every commit that read did not cover;
 * - once a listener has heard `seq`, `lastSeq()` returns at least `seq`, and `changesSince(n)` returns
 *   every change numbered above `n` up to `seq` (a job changed again since, in its newer state);
 * - `lastSeq()` never goes back.
 */
export interface JobStore {
  readonly kind: StoreKind;

  /** Durably adds a pending job. With a key already used, returns that key's job (created: false); concurrent calls with one key create one job. */
  createJob(job: NewJob): Promise<CreateOutcome>;

  /** The job with this id, or undefined. */
  getJob(id: string): Promise<StoredJob | undefined>;

  /** Newest first (ids are UUIDv7, so by id), optionally one status; at most `limit`. */
  listJobs(options: ListJobsOptions): Promise<StoredJob[]>;

  /** How many jobs are in each status. */
  countJobs(): Promise<Record<JobStatus, number>>;

  /** The latest committed sequence number (0 for an empty store). */
  lastSeq(): Promise<number>;

  /**
   * Moves due pending jobs (runAt <= now), and running jobs whose lease has ended, to running
   * under a new claim with lease `now + leaseMs`; earliest runAt first; safe across processes
   * (no job is handed to two live claims); returns at most `limit`.
   */
  claimDueJobs(options: ClaimOptions): Promise<StoredJob[]>;

  /** Extends a running job's lease; false if the claim was lost (settled or taken over). */
  renewLease(id: string, claimToken: string, leaseUntil: number): Promise<boolean>;

  /** Writes a running job's outcome once; undefined (and no change) if this claim no longer holds the job. */
  settleJob(id: string, claimToken: string, outcome: Outcome): Promise<StoredJob | undefined>;

  /**
   * Gives claims that never started back: each job is pending again (its runAt kept, so due at
   * once, and claimable by anyone), the attempt its claim counted taken back, and each is a change
   * with the next sequence number. Claims no longer held (settled, taken over, unknown) are left alone.
   */
  releaseClaims(claims: { id: string; claimToken: string }[]): Promise<void>;

  /** The earliest time a pending job falls due or a running lease ends; null if there is none. */
  nextWakeAt(): Promise<number | null>;

  /**
   * What changed after sequence `after`, in sequence order, at most `limit` entries (reset when
   * more, when `after` is ahead of the store, or when removals after `after` are no longer known).
   */
  changesSince(after: number, limit: number): Promise<Changes>;

  /**
   * Removes settled (resolved or failed) jobs resolved at or before `resolvedBefore`, oldest first,
   * at most `limit`. Each removal is a change: it takes the next sequence number and
   * `changesSince` reports it as `removed`; the job is gone from get, list and counts, for good
   * (across reopen and crash). Safe to call from many processes at once. Returns how many it removed.
   */
  removeSettledJobs(options: RemoveSettledOptions): Promise<number>;

  /** Forgets the idempotency keys of jobs created before `createdBefore`, at most `limit`; returns how many. */
  expireIdempotencyKeys(options: ExpireKeysOptions): Promise<number>;

  /**
   * Calls `listener` after changes are committed, by this process or (for shared stores) any other,
   * with the latest sequence number. Returns an unsubscribe function.
   */
  onCommit(listener: (lastSeq: number) => void): () => void;

  /**
   * Calls `listener` once jobs made claimable (created, or claims given back) by any process are
   * committed, so a claim it prompts finds them, with the earliest runAt among them (0: unknown,
   * look now). A hint for waking workers, faster than `onCommit` and sent only for work that may be
   * claimed (not for claims, renewals, outcomes or removals); it may repeat. Returns an
   * unsubscribe function.
   */
  onJobsDue(listener: (runAt: number) => void): () => void;

  /** Whether the store can serve now, and whether it takes new jobs; cheap enough for every /readyz. */
  health(): StoreHealth;

  /** Finishes pending writes and releases files, locks and connections. */
  close(): Promise<void>;
}
