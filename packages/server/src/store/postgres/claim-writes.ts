/** Writes on claimed jobs, many per statement: settles, lease renewals, releases. */

import type { Outcome, StoredJob } from '../job-store.js';
import type { Database } from './database.js';
import { JOB_SQL, MAX_ROWS_PER_WRITE } from './job-sql.js';
import { isUuid, toSettledJob, type JobRow } from './job-row.js';

export interface QueuedSettle {
  id: string;
  claimToken: string;
  outcome: Outcome;
}

export interface QueuedRenewal {
  id: string;
  claimToken: string;
  until: number;
}

/** Writes outcomes, each only if its claim still holds; `wrote` hears the transaction's first change number. */
export async function settleBatch(db: Database, settles: QueuedSettle[], wrote: (seq: number) => void): Promise<(StoredJob | undefined)[]> {
  const { rows } = await db.query<Omit<JobRow, 'result' | 'error'>>(JOB_SQL.settleBatch, [
    settles.map((s) => s.id),
    settles.map((s) => s.claimToken),
    settles.map((s) => s.outcome.status),
    JSON.stringify(settles.map((s) => (s.outcome.status === 'resolved' ? s.outcome.result : s.outcome.error))),
    settles.map((s) => s.outcome.resolvedAt),
  ]);
  if (rows.length > 0) wrote(Math.min(...rows.map((row) => Number(row.updated_seq))));
  // A job missing from the answer was not this claim's to settle any more (its lease was lost).
  const byId = new Map(rows.map((row) => [row.id, row]));
  return settles.map((s) => {
    const row = byId.get(s.id);
    return row && toSettledJob(row, s.outcome);
  });
}

/** Extends leases; true for each claim that still held. */
export async function renewBatch(db: Database, renewals: QueuedRenewal[]): Promise<boolean[]> {
  const { rows } = await db.query<{ id: string }>(JOB_SQL.renewBatch, [
    renewals.map((r) => r.id),
    renewals.map((r) => r.claimToken),
    renewals.map((r) => r.until),
  ]);
  const renewed = new Set(rows.map((row) => row.id));
  return renewals.map((r) => renewed.has(r.id));
}

/** Gives claims back to the queue, in statements of at most MAX_ROWS_PER_WRITE. */
export async function releaseClaims(
  db: Database,
  claims: { id: string; claimToken: string }[],
  at: number,
  wrote: (seq: number) => void,
): Promise<void> {
  const valid = claims.filter((c) => isUuid(c.id) && isUuid(c.claimToken));
  for (let i = 0; i < valid.length; i += MAX_ROWS_PER_WRITE) {
    const chunk = valid.slice(i, i + MAX_ROWS_PER_WRITE);
    const { rows } = await db.query<{ updated_seq: string }>(JOB_SQL.releaseBatch, [
      chunk.map((c) => c.id),
      chunk.map((c) => c.claimToken),
      at,
    ]);
    if (rows.length > 0) wrote(Math.min(...rows.map((row) => Number(row.updated_seq))));
  }
}
