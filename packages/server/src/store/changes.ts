import type { Change, Changes, StoredJob } from './job-store.js';

/**
 * The reset rule of "changes since N", the same for every store. A reader must reload instead of
 * replaying when it asks from ahead of the head (a number this store never issued: the data was
 * replaced), when more than `limit` entries changed since (a reload is cheaper), or when it asks
 * from before `forgottenThrough` (removals up to there are no longer remembered, so a replay could
 * not tell it which jobs went away). `read` holds the entries after `after`, at most `limit + 1`.
 */
export function changesOrReset(args: { after: number; head: number; forgottenThrough: number; limit: number; read: Change[] }): Changes {
  const { after, head, forgottenThrough, limit, read } = args;
  if (after > head || after < forgottenThrough || read.length > limit) return { changes: [], reset: true };
  return { changes: read, reset: false };
}

/** A job in its latest state, as a change. */
export const jobChange = (job: StoredJob): Change => ({ kind: 'job', seq: job.updatedSeq, job });
