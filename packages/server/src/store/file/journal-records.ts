import type { JobError, JobResult } from '@simmer/contracts';
import type { StoredJob } from '../job-store.js';
import type { JobTable } from './job-table.js';

/**
 * What the journal holds: one record per change. The same `applyRecord` serves the live path
 * (after the record is durable) and recovery, so replay cannot drift from what was acknowledged.
 * Records carry the change's sequence number; applying one that a job has already seen (for
 * example, replaying a journal a snapshot already covers) is a no-op.
 */
export type JournalRecord =
  | { t: 'create'; seq: number; id: string; createdAt: number; runAt: number; key: string | null }
  | { t: 'claim'; seq: number; id: string; token: string; leaseUntil: number; attempts: number }
  | { t: 'renew'; id: string; token: string; leaseUntil: number }
  | {
      t: 'settle';
      seq: number;
      id: string;
      token: string;
      status: 'resolved' | 'failed';
      resolvedAt: number;
      result: JobResult | null;
      error: JobError | null;
    };

/** Applies a record to the table; returns the job it produced, or undefined if it changed nothing. */
export function applyRecord(table: JobTable, record: JournalRecord): StoredJob | undefined {
  const job = table.get(record.id);
  switch (record.t) {
    case 'create': {
      if (job) return undefined;
      const created: StoredJob = {
        id: record.id,
        status: 'pending',
        createdAt: record.createdAt,
        runAt: record.runAt,
        resolvedAt: null,
        result: null,
        error: null,
        idempotencyKey: record.key,
        updatedSeq: record.seq,
        claimToken: null,
        leaseUntil: null,
        attempts: 0,
      };
      table.put(created);
      return created;
    }
    case 'claim': {
      if (!job || record.seq <= job.updatedSeq) return undefined;
      const claimed: StoredJob = {
        ...job,
        status: 'running',
        claimToken: record.token,
        leaseUntil: record.leaseUntil,
        attempts: record.attempts,
        updatedSeq: record.seq,
      };
      table.put(claimed);
      return claimed;
    }
    case 'renew': {
      if (job?.status !== 'running' || job.claimToken !== record.token) return undefined;
      const renewed: StoredJob = { ...job, leaseUntil: record.leaseUntil };
      table.replaceQuietly(renewed);
      return renewed;
    }
    case 'settle': {
      if (!job || record.seq <= job.updatedSeq) return undefined;
      const settled: StoredJob = {
        ...job,
        status: record.status,
        resolvedAt: record.resolvedAt,
        result: record.result,
        error: record.error,
        claimToken: null,
        leaseUntil: null,
        updatedSeq: record.seq,
      };
      table.put(settled);
      return settled;
    }
  }
}

const RECORD_TYPES = new Set(['create', 'claim', 'renew', 'settle']);

/** Checks a decoded payload's shape before recovery trusts it. */
export function isJournalRecord(value: unknown): value is JournalRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as { t?: unknown; id?: unknown };
  return typeof record.t === 'string' && RECORD_TYPES.has(record.t) && typeof record.id === 'string';
}
