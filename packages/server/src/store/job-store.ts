import type { JobError, JobResult, JobStatus } from '@simmer/contracts';
import type { EndedAttempt } from './attempts.js';

export type { EndedAttempt } from './attempts.js';

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
  /**
   * Who created the job, pseudonymously (jobs/client-keys.ts): a key that tells clients apart
   * without naming them, so per-client budgets can follow a job to whichever worker runs it. Never
   * shown in the API. null for jobs created before it was kept.
   */
  client: string | null;
  /** The store sequence number of this job's latest change. */
  updatedSeq: number;
  /** Identifies the current claim of a running job; null otherwise. */
  claimToken: string | null;
  /** When the current claim expires and another worker may take the job. */
  leaseUntil: number | null;
  /** How many times the job has been claimed (a claim given back unstarted is not counted). */
  attempts: number;
  /** When the current claim began (the running attempt's start); null unless running. */
  claimedAt: number | null;
  /** The job's ended attempts, oldest first, the newest ATTEMPTS_KEPT at most; the running one is `claimedAt`. */
  endedAttempts: readonly EndedAttempt[];
}

export interface NewJob {
  id: string;
  createdAt: number;
  runAt: number;
  idempotencyKey: string | null;
  /** The creating client's key (see StoredJob.client); absent: null. */
  client?: string | null;
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
  /** Only jobs whose id ends with these six lower-case hex digits (the short id the page shows). */
  shortId?: string;
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

/**
 * What an action (cancel, run now, retry) did: `done` changed the job (durably) into `job`;
 * `unchanged` found it already where the action leads (a cancel of a cancelled job); `conflict`
 * found it in a status the action does not apply to; `not-found`: there is no such job.
 */
export type ActionResult =
  { kind: 'done'; job: StoredJob } | { kind: 'unchanged'; job: StoredJob } | { kind: 'conflict'; job: StoredJob } | { kind: 'not-found' };

/** A claim a worker holds: the job and the claim's token. */
export interface Claim {
  id: string;
  claimToken: string;
}

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
   * with the next sequence number; its attempt ends `given-back` at `at`. Claims no longer held
   * (settled, taken over, unknown) are left alone.
   */
  releaseClaims(claims: Claim[], at: number): Promise<void>;

  /**
   * Cancels a pending or running job: status `cancelled`, `resolvedAt` = `at`. A running job's
   * claim ends with it: its attempt ends `cancelled`, a settle or renewal by that claim changes
   * nothing, and `onClaimsEnded` tells the claim's holder. On a cancelled job: `unchanged`;
   * resolved or failed: `conflict`. Exactly one of a cancel and a settle racing on one job wins.
   */
  cancelJob(id: string, at: number): Promise<ActionResult>;

  /** Makes a pending job due at `at` (unless it is due earlier already); any other status: `conflict`. */
  runJobNow(id: string, at: number): Promise<ActionResult>;

  /**
   * Puts a failed or cancelled job back to pending, due at `at`, without its result, error or
   * `resolvedAt` (its attempts stay); any other status: `conflict`.
   */
  retryJob(id: string, at: number): Promise<ActionResult>;

  /**
   * Removes a job whatever its status, as retention does (a change, reported as `removed`). A
   * running job's claim ends with it (see `cancelJob`). false when there is no such job.
   */
  deleteJob(id: string): Promise<boolean>;

  /**
   * Calls `listener` with claims that someone other than their holder ended (a cancel, a delete),
   * in this process or (for shared stores) any other, once that is committed, so the holder can
   * stop the work at once. A hint: a holder that misses it finds out at its next lease renewal.
   */
  onClaimsEnded(listener: (claims: Claim[]) => void): () => void;

  /**
   * The secret that control tokens are derived from (see jobs/control-tokens.ts): random, made
   * with the store's data the first time it is opened, and the same for every process sharing it.
   */
  readonly tokenKey: Buffer;

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
