/** "Changes since N" from one read of FEED_SQL.changes: the head row, changed jobs and removals, merged in number order. */

import type { Change } from '../job-store.js';
import { jobChange } from '../changes.js';
import type { Database } from './database.js';
import { FEED_SQL } from './feed-sql.js';
import { toStoredJob, type JobRow } from './job-row.js';

interface ChangeRow extends JobRow {
  kind: 'head' | 'job' | 'removed';
  seq: string;
  forgotten: string | null;
  horizon: string | null;
}

export interface ChangesRead {
  /** The newest change number below the horizon. */
  head: number;
  horizon: number;
  /** Removals up to here are no longer remembered. */
  forgottenThrough: number;
  /** Changes after the requested number, in order, at most the requested count. */
  read: Change[];
}

export async function readChanges(db: Database, after: number, count: number): Promise<ChangesRead> {
  const { rows } = await db.query<ChangeRow>(FEED_SQL.changes, [after, count]);
  const headRow = rows.find((row) => row.kind === 'head');
  const read = rows
    .filter((row) => row.kind !== 'head')
    .map((row): Change => (row.kind === 'job' ? jobChange(toStoredJob(row)) : { kind: 'removed', seq: Number(row.seq), id: row.id }))
    .sort((a, b) => a.seq - b.seq)
    .slice(0, count);
  return {
    head: Number(headRow?.seq ?? 0),
    horizon: Number(headRow?.horizon ?? 0),
    forgottenThrough: Number(headRow?.forgotten ?? 0),
    read,
  };
}
