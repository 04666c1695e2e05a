/** Creating jobs: many per statement, idempotency keys honoured across processes, expired keys moved. */

import type { CreateOutcome, NewJob, StoredJob } from '../job-store.js';
import type { Database } from './database.js';
import { JOB_SQL } from './job-sql.js';
import { toStoredJob, type JobRow } from './job-row.js';

/**
 * Creates `jobs` (one outcome each, in order) with one statement for all that need no more:
 * a key that appears twice in the batch goes to the database once and the others follow its
 * outcome; a key already taken is looked up, and moved to the new job if its job was created
 * before that job's `keysExpireBefore`. `wrote` hears the change number of every write.
 */
export async function createJobs(
  db: Database,
  jobs: NewJob[],
  wrote: (seq: number) => void,
): Promise<(CreateOutcome | Promise<CreateOutcome>)[]> {
  const leaders = new Map<string, number>();
  const sent: NewJob[] = [];
  const leaderOf = jobs.map((job) => {
    const key = job.idempotencyKey;
    const leader = key === null ? undefined : leaders.get(key);
    if (leader !== undefined) return leader;
    if (key !== null) leaders.set(key, sent.length);
    sent.push(job);
    return -1;
  });
  const { rows } = await db.query<JobRow>(JOB_SQL.createBatch, [
    sent.map((job) => job.id),
    sent.map((job) => job.createdAt),
    sent.map((job) => job.runAt),
    sent.map((job) => job.idempotencyKey),
    sent.map((job) => job.client ?? null),
  ]);
  const created = new Map(rows.map((row) => [row.id, toStoredJob(row)]));
  const first = Math.min(...[...created.values()].map((job) => job.updatedSeq));
  if (created.size > 0) wrote(first);
  // Not inserted: its key was taken, by a committed job or by one committed meanwhile.
  const outcomes = sent.map((job): Promise<CreateOutcome> => {
    const stored = created.get(job.id);
    return stored ? Promise.resolve({ job: stored, created: true }) : createKeyed(db, job, wrote);
  });
  let next = 0;
  return leaderOf.map((leader) => (leader === -1 ? outcomes[next++]! : outcomes[leader]!.then(({ job }) => ({ job, created: false }))));
}

/** One keyed create whose key was taken: the key's job, or a new job when that one's key has expired. */
async function createKeyed(db: Database, job: NewJob, wrote: (seq: number) => void): Promise<CreateOutcome> {
  const key = job.idempotencyKey!;
  // Three rounds at most: a conflicting key's job is committed by the time our insert saw the
  // conflict, and a key moves at most once per cutoff.
  for (let round = 0; round < 3; round++) {
    const existing = (await db.query<JobRow>(JOB_SQL.byKey, [key])).rows[0];
    if (existing) {
      const found = toStoredJob(existing);
      if (job.keysExpireBefore === undefined || found.createdAt >= job.keysExpireBefore) return { job: found, created: false };
      const moved = await moveKey(db, job, job.keysExpireBefore);
      if (moved) {
        wrote(moved.updatedSeq);
        return { job: moved, created: true };
      }
      continue; // someone else moved it first: their job is the key's now
    }
    const { rows } = await db.query<JobRow>(JOB_SQL.createBatch, [[job.id], [job.createdAt], [job.runAt], [key], [job.client ?? null]]);
    if (rows[0]) {
      const stored = toStoredJob(rows[0]);
      wrote(stored.updatedSeq);
      return { job: stored, created: true };
    }
  }
  throw new Error(`job ${job.id} was neither created nor found by its idempotency key`);
}

/** In one transaction: takes the key from its expired job and gives it to the new one; undefined if the key was not expired any more. */
async function moveKey(db: Database, job: NewJob, expireBefore: number): Promise<StoredJob | undefined> {
  return db.transaction(async (client) => {
    const taken = await client.query(JOB_SQL.expireKey, [job.idempotencyKey, expireBefore]);
    if (taken.rowCount !== 1) return undefined;
    const { rows } = await client.query<JobRow>(JOB_SQL.createOne, [
      job.id,
      job.createdAt,
      job.runAt,
      job.idempotencyKey,
      job.client ?? null,
    ]);
    return toStoredJob(rows[0]!);
  });
}
