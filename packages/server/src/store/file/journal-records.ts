import type { AttemptOutcome, JobError, JobResult } from '@simmer/contracts';
import { NO_ATTEMPTS, withEndedAttempt } from '../attempts.js';
import type { JobTable, TableJob } from './job-table.js';

/**
 * What the journal holds: one record per change. The same `applyRecord` serves the live path
 * (after the record is durable) and recovery, so replay cannot drift from what was acknowledged.
 * Records carry the change's sequence number; applying one that a job has already seen (for
 * example, replaying a journal a snapshot already covers) is a no-op.
 */
export type JournalRecord =
  /** `client`: the creating client's key (journals written before it was kept have none). */
  | { t: 'create'; seq: number; id: string; createdAt: number; runAt: number; key: string | null; client?: string | null }
  /** `at`: when the claim was taken (journals written before attempts were kept have none). */
  | { t: 'claim'; seq: number; id: string; token: string; leaseUntil: number; attempts: number; at?: number }
  | { t: 'renew'; id: string; token: string; leaseUntil: number }
  | {
      t: 'settle';
      seq: number;
      id: string;
      token: string;
      status: 'resolved' | 'failed';
      resolvedAt: number;
      /** The result, serialised as the table keeps it; journals written before it carry `result`. */
      resultJson?: string | null;
      result?: JobResult | null;
      error: JobError | null;
    }
  /**
   * A claim that never started was given back: the job is pending again, its attempt not counted; a
   * change. `at`: when (records written before attempts were kept have none).
   */
  | { t: 'release'; seq: number; id: string; token: string; attempts: number; at?: number }
  /** A pending or running job was cancelled at `at`: a change, and the end of a running job's claim. */
  | { t: 'cancel'; seq: number; id: string; at: number }
  /** A pending job was made due at `runAt` (run now): a change. */
  | { t: 'run'; seq: number; id: string; runAt: number }
  /** A failed or cancelled job went back to pending, due at `runAt`: a change. */
  | { t: 'retry'; seq: number; id: string; runAt: number }
  /** Retention or a delete removed the job (ending a running job's claim): a change with its own number. */
  | { t: 'remove'; seq: number; id: string }
  /** The job's idempotency key expired (the job stays); not a change readers see. */
  | { t: 'unkey'; id: string };

/** Applies a record to the table; returns the job it produced (or removed), or undefined if it changed nothing. */
export function applyRecord(table: JobTable, record: JournalRecord): TableJob | undefined {
  const job = table.get(record.id);
  switch (record.t) {
    case 'create': {
      if (job) return undefined;
      const created: TableJob = {
        id: record.id,
        status: 'pending',
        createdAt: record.createdAt,
        runAt: record.runAt,
        resolvedAt: null,
        result: null,
        resultJson: null,
        error: null,
        idempotencyKey: record.key,
        client: record.client ?? null,
        updatedSeq: record.seq,
        claimToken: null,
        leaseUntil: null,
        attempts: 0,
        claimedAt: null,
        endedAttempts: NO_ATTEMPTS,
      };
      table.put(created);
      return created;
    }
    case 'claim': {
      if (!job || record.seq <= job.updatedSeq) return undefined;
      // Older journals did not say when: the job's due time, or the end of the lease taken over, is as close as is known.
      const at = record.at ?? Math.max(job.runAt, job.leaseUntil ?? 0);
      const claimed: TableJob = {
        ...job,
        status: 'running',
        claimToken: record.token,
        leaseUntil: record.leaseUntil,
        attempts: record.attempts,
        updatedSeq: record.seq,
        // A running job claimed again was given up by its holder: its lease ran out.
        endedAttempts: job.status === 'running' ? endAttempt(job, at, 'lease-expired', null) : job.endedAttempts,
        claimedAt: at,
      };
      table.put(claimed);
      return claimed;
    }
    case 'renew': {
      if (job?.status !== 'running' || job.claimToken !== record.token) return undefined;
      const renewed: TableJob = { ...job, leaseUntil: record.leaseUntil };
      table.replaceQuietly(renewed);
      return renewed;
    }
    case 'settle': {
      if (!job || record.seq <= job.updatedSeq) return undefined;
      const resultJson = record.resultJson ?? (record.result ? JSON.stringify(record.result) : null);
      const settled: TableJob = {
        ...job,
        status: record.status,
        resolvedAt: record.resolvedAt,
        resultJson,
        error: record.error,
        claimToken: null,
        leaseUntil: null,
        updatedSeq: record.seq,
        endedAttempts: endAttempt(job, record.resolvedAt, record.status, record.error),
        claimedAt: null,
      };
      table.put(settled);
      return settled;
    }
    case 'release': {
      if (job?.status !== 'running' || job.claimToken !== record.token || record.seq <= job.updatedSeq) return undefined;
      const released: TableJob = {
        ...job,
        status: 'pending',
        claimToken: null,
        leaseUntil: null,
        attempts: record.attempts,
        updatedSeq: record.seq,
        endedAttempts: endAttempt(job, record.at ?? job.claimedAt ?? job.runAt, 'given-back', null),
        claimedAt: null,
      };
      table.put(released);
      return released;
    }
    case 'cancel': {
      if (!job || record.seq <= job.updatedSeq) return undefined;
      const cancelled: TableJob = {
        ...job,
        status: 'cancelled',
        resolvedAt: record.at,
        claimToken: null,
        leaseUntil: null,
        updatedSeq: record.seq,
        endedAttempts: job.status === 'running' ? endAttempt(job, record.at, 'cancelled', null) : job.endedAttempts,
        claimedAt: null,
      };
      table.put(cancelled);
      return cancelled;
    }
    case 'run': {
      if (!job || record.seq <= job.updatedSeq) return undefined;
      const due: TableJob = { ...job, runAt: record.runAt, updatedSeq: record.seq };
      table.put(due);
      return due;
    }
    case 'retry': {
      if (!job || record.seq <= job.updatedSeq) return undefined;
      const retried: TableJob = {
        ...job,
        status: 'pending',
        runAt: record.runAt,
        resolvedAt: null,
        resultJson: null,
        error: null,
        updatedSeq: record.seq,
      };
      table.put(retried);
      return retried;
    }
    case 'remove':
      if (!job || record.seq <= job.updatedSeq) return undefined;
      return table.remove(record.id, record.seq);
    case 'unkey':
      return table.dropKey(record.id);
  }
}

const RECORD_TYPES = new Set(['create', 'claim', 'renew', 'settle', 'release', 'cancel', 'run', 'retry', 'remove', 'unkey']);

/** Checks a decoded payload's shape before recovery trusts it. */
export function isJournalRecord(value: unknown): value is JournalRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as { t?: unknown; id?: unknown };
  return typeof record.t === 'string' && RECORD_TYPES.has(record.t) && typeof record.id === 'string';
}

/** The sequence number a record takes, or null for records that are not changes (renew, unkey). */
export function recordSeq(record: JournalRecord): number | null {
  return 'seq' in record ? record.seq : null;
}

/** The job's ended attempts with its running one ended at `at`, as `outcome`. */
function endAttempt(job: TableJob, at: number, outcome: AttemptOutcome, error: JobError | null): TableJob['endedAttempts'] {
  // A job running when attempts started to be kept has no claim time: its due time stands in.
  return withEndedAttempt(job.endedAttempts, { startedAt: job.claimedAt ?? job.runAt, endedAt: at, outcome, error });
}
