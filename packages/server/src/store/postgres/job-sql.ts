/**
 * The statements that write and read jobs. Every write that changes what a client sees numbers
 * its rows `simmer_xact_seq() + position` (see "THE CHANGE FEED" in postgres-store.ts) and
 * signals in the same transaction: on DUE_CHANNEL when it made jobs claimable, on FEED_CHANNEL
 * otherwise (see change-listener.ts).
 */

import { JOB_STATUSES, SHORT_ID_LENGTH } from '@simmer/contracts/constants';
import type { ListJobsOptions } from '../job-store.js';
import { CLAIMS_ENDED_CHANNEL, DUE_CHANNEL, FEED_CHANNEL } from './change-listener.js';
import { jobColumns, toTimestamp } from './job-row.js';

/** Rows one statement may number: a transaction's block of change numbers (see migration 3). */
export { SEQ_BLOCK as MAX_ROWS_PER_WRITE } from './migration-3-change-feed.js';

/** The cutoff for due jobs and ended leases: the caller's time, but never later than the database's. */
const CLOCK_CTE = `clock AS MATERIALIZED (SELECT LEAST($1::float8, extract(epoch from now())::float8 * 1000) AS ms)`;

/** A notification: "<first number of this transaction> [<earliest runAt (ms) of jobs made claimable>]". */
const notify = (base: string, due?: string): string =>
  due === undefined
    ? `pg_notify('${FEED_CHANNEL}', ${base}::text)`
    : `pg_notify('${DUE_CHANNEL}', ${base}::text || ' ' || round(${due})::text)`;

/** Tells the claim's holder its claim was ended (a cancel, a delete): see CLAIMS_ENDED_CHANNEL. */
const notifyClaimEnded = (id: string, token: string): string =>
  `pg_notify('${CLAIMS_ENDED_CHANNEL}', ${id}::text || ' ' || ${token}::text)`;

/** The running attempt of row `j` ended at `ended` (timestamptz) as `outcome`: its attempts with it appended (migration 4). */
const attemptEnded = (ended: string, outcome: string, error = 'NULL'): string =>
  `simmer_attempt_ended(j.attempt_log, coalesce(j.claimed_at, j.run_at), ${ended}, ${outcome}, ${error})`;

/** Columns a settle returns: enough to describe the job, without reading back the result just written. */
const SETTLED_COLUMNS = jobColumns('j')
  .split(', ')
  .filter((column) => !/AS (result|error)$/.test(column))
  .join(', ');

export const JOB_SQL = {
  // Many jobs in one statement, so concurrent creates share one round trip and one commit. Keys
  // are distinct within a batch; a key already taken inserts nothing (the caller looks it up).
  createBatch: `
    WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::text[], $5::text[])
        WITH ORDINALITY AS t(id, created_ms, run_ms, idempotency_key, client_key, n)
    ), fresh AS (
      SELECT input.*, row_number() OVER (ORDER BY n) - 1 AS pos FROM input
      WHERE idempotency_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.idempotency_key = input.idempotency_key)
    ), xact AS MATERIALIZED (
      SELECT simmer_xact_seq() AS base, (SELECT min(run_ms) FROM fresh) AS due WHERE EXISTS (SELECT 1 FROM fresh)
    ), signal AS MATERIALIZED (
      SELECT ${notify('base', 'due')} FROM xact
    )
    INSERT INTO jobs AS j (id, status, created_at, run_at, idempotency_key, client_key, updated_seq, attempts)
    SELECT fresh.id, 'pending', ${toTimestamp('fresh.created_ms')}, ${toTimestamp('fresh.run_ms')}, fresh.idempotency_key, fresh.client_key,
      xact.base + fresh.pos, 0
    FROM fresh, xact, signal
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING ${jobColumns('j')}`,

  // An expired key moves to a new job: run in one transaction after `expireKey` took it away.
  createOne: `
    WITH xact AS MATERIALIZED (SELECT simmer_xact_seq() AS base, ${notify('simmer_xact_seq()', '$3::float8')})
    INSERT INTO jobs AS j (id, status, created_at, run_at, idempotency_key, client_key, updated_seq, attempts)
    SELECT $1::uuid, 'pending', ${toTimestamp('$2')}, ${toTimestamp('$3')}, $4::text, $5::text, xact.base, 0 FROM xact
    RETURNING ${jobColumns('j')}`,

  // Takes a key from its job when that job was created before the cutoff (the job itself stays).
  expireKey: `UPDATE jobs SET idempotency_key = NULL WHERE idempotency_key = $1 AND created_at < ${toTimestamp('$2')} RETURNING id`,

  byKey: `SELECT ${jobColumns()} FROM jobs WHERE idempotency_key = $1`,

  byId: `SELECT ${jobColumns()} FROM jobs WHERE id = $1`,

  count: `SELECT sum(pending) AS pending, sum(running) AS running, sum(resolved) AS resolved, sum(failed) AS failed,
    sum(cancelled) AS cancelled FROM simmer_job_counts`,

  // Due pending jobs and ended leases, each side from its partial index, both locked with SKIP
  // LOCKED so concurrent claimers split the work instead of queueing on one row. EvalPlanQual
  // re-checks a row's status and lease after waiting, so a row just taken is never taken twice.
  claim: `
    WITH ${CLOCK_CTE}, pending AS (
      SELECT id, run_at FROM jobs
      WHERE status = 'pending' AND run_at <= (SELECT ${toTimestamp('ms')} FROM clock)
      ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED
    ), expired AS (
      SELECT id, run_at FROM jobs
      WHERE status = 'running' AND lease_until <= (SELECT ${toTimestamp('ms')} FROM clock)
      ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED
    ), picked AS (
      SELECT id, row_number() OVER (ORDER BY run_at, id) - 1 AS pos
      FROM (SELECT id, run_at FROM pending UNION ALL SELECT id, run_at FROM expired ORDER BY run_at, id LIMIT $2) due
    ), xact AS MATERIALIZED (
      SELECT simmer_xact_seq() AS base, ${notify('simmer_xact_seq()')} WHERE EXISTS (SELECT 1 FROM picked)
    )
    UPDATE jobs AS j SET
      status = 'running',
      claim_token = gen_random_uuid(),
      claimed_by = $4,
      lease_until = (SELECT ${toTimestamp('(ms + $3::float8)')} FROM clock),
      attempts = j.attempts + 1,
      -- A running job claimed again was given up by its holder: its lease ran out.
      attempt_log = CASE WHEN j.status = 'running'
        THEN ${attemptEnded(`(SELECT ${toTimestamp('ms')} FROM clock)`, `'lease-expired'`)} ELSE j.attempt_log END,
      claimed_at = (SELECT ${toTimestamp('ms')} FROM clock),
      updated_seq = xact.base + picked.pos
    FROM picked, xact
    WHERE j.id = picked.id
    RETURNING ${jobColumns('j')}`,

  // Lease renewals are bookkeeping, not changes: no number, no signal.
  renewBatch: `
    UPDATE jobs AS j SET lease_until = ${toTimestamp('input.until_ms')}
    FROM unnest($1::uuid[], $2::uuid[], $3::float8[]) AS input(id, claim_token, until_ms)
    WHERE j.id = ANY($1::uuid[]) AND j.id = input.id AND j.claim_token = input.claim_token AND j.status = 'running'
    RETURNING j.id`,

  // Many settles in one statement, each only if its claim still holds. The target CTE locks the
  // rows in id order, so two batches never wait on each other in a cycle; `id = ANY(...)` keeps
  // the plan on the primary key however many jobs are running. Each row finds its outcome by its
  // place in the arrays (not by joining the inputs as a table: the planner cannot see their size
  // and joined them in a nested loop, quadratic in the batch), and that place is its position in
  // the transaction's block of numbers. A claim holds while its token is on the row: a settled or
  // released job has none, a reclaimed one a new one (and only running jobs have one). The
  // outcomes (a result or an error each) come as one JSON array: node-postgres escapes a text[]
  // of JSON documents character by character, 3 % of a worker's busy time.
  settleBatch: `
    WITH target AS (
      SELECT id, array_position($1::uuid[], id) AS i FROM jobs
      WHERE id = ANY($1::uuid[]) AND claim_token = ($2::uuid[])[array_position($1::uuid[], id)]
      ORDER BY id
      FOR UPDATE
    ), xact AS MATERIALIZED (
      SELECT simmer_xact_seq() AS base, ${notify('simmer_xact_seq()')} WHERE EXISTS (SELECT 1 FROM target)
    )
    UPDATE jobs AS j SET
      status = ($3::text[])[t.i],
      result = CASE WHEN ($3::text[])[t.i] = 'resolved' THEN $4::jsonb -> (t.i - 1)::int END,
      error = CASE WHEN ($3::text[])[t.i] = 'failed' THEN $4::jsonb -> (t.i - 1)::int END,
      resolved_at = ${toTimestamp('($5::float8[])[t.i]')},
      claim_token = NULL,
      lease_until = NULL,
      attempt_log = ${attemptEnded(toTimestamp('($5::float8[])[t.i]'), '($3::text[])[t.i]', `CASE WHEN ($3::text[])[t.i] = 'failed' THEN $4::jsonb -> (t.i - 1)::int END`)},
      claimed_at = NULL,
      updated_seq = xact.base + t.i - 1
    FROM target t, xact
    WHERE j.id = t.id
    RETURNING ${SETTLED_COLUMNS}`,

  // Gives claims that never started back to the queue, due at once for any worker; $3: when (ms).
  releaseBatch: `
    WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS t(id, claim_token)
    ), target AS (
      SELECT jobs.id, jobs.run_at FROM jobs JOIN input ON jobs.id = input.id AND jobs.claim_token = input.claim_token
      WHERE jobs.id = ANY($1::uuid[]) AND jobs.status = 'running'
      ORDER BY jobs.id
      FOR UPDATE OF jobs
    ), numbered AS (
      SELECT id, row_number() OVER (ORDER BY id) - 1 AS pos, min(run_at) OVER () AS due FROM target
    ), xact AS MATERIALIZED (
      SELECT simmer_xact_seq() AS base WHERE EXISTS (SELECT 1 FROM target)
    )
    UPDATE jobs AS j SET
      status = 'pending', claim_token = NULL, claimed_by = NULL, lease_until = NULL,
      attempts = greatest(j.attempts - 1, 0),
      attempt_log = ${attemptEnded(toTimestamp('$3'), `'given-back'`)}, claimed_at = NULL,
      updated_seq = xact.base + numbered.pos
    FROM numbered, xact
    WHERE j.id = numbered.id
    RETURNING j.id, j.updated_seq, ${notify('xact.base', 'extract(epoch from numbered.due) * 1000')}`,

  // The actions (issue 20), one job each: the row is locked as it is now (after any write in
  // flight on it commits), so a cancel and a settle racing on one job cannot both win: the later
  // one finds the row no longer in a status (or under a claim) it may change. No row: the caller
  // reads the job to tell "no such job" from "not in a status this action applies to".
  cancel: `
    WITH target AS (
      SELECT id, status, claim_token FROM jobs WHERE id = $1 AND status IN ('pending', 'running') FOR UPDATE
    ), xact AS MATERIALIZED (
      SELECT simmer_xact_seq() AS base, ${notify('simmer_xact_seq()')} WHERE EXISTS (SELECT 1 FROM target)
    )
    UPDATE jobs AS j SET
      status = 'cancelled', resolved_at = ${toTimestamp('$2')},
      claim_token = NULL, claimed_by = NULL, lease_until = NULL,
      attempt_log = CASE WHEN j.status = 'running' THEN ${attemptEnded(toTimestamp('$2'), `'cancelled'`)} ELSE j.attempt_log END,
      claimed_at = NULL,
      updated_seq = xact.base
    FROM target t, xact
    WHERE j.id = t.id
    RETURNING ${jobColumns('j')}, CASE WHEN t.status = 'running' THEN ${notifyClaimEnded('t.id', 't.claim_token')} END AS ended_claim`,

  runNow: `
    WITH target AS (
      SELECT id FROM jobs WHERE id = $1 AND status = 'pending' FOR UPDATE
    ), xact AS MATERIALIZED (
      SELECT simmer_xact_seq() AS base WHERE EXISTS (SELECT 1 FROM target)
    )
    UPDATE jobs AS j SET run_at = LEAST(j.run_at, ${toTimestamp('$2')}), updated_seq = xact.base
    FROM target t, xact
    WHERE j.id = t.id
    RETURNING ${jobColumns('j')}, ${notify('xact.base', 'extract(epoch from j.run_at) * 1000')}`,

  retry: `
    WITH target AS (
      SELECT id FROM jobs WHERE id = $1 AND status IN ('failed', 'cancelled') FOR UPDATE
    ), xact AS MATERIALIZED (
      SELECT simmer_xact_seq() AS base WHERE EXISTS (SELECT 1 FROM target)
    )
    UPDATE jobs AS j SET
      status = 'pending', run_at = ${toTimestamp('$2')}, resolved_at = NULL, result = NULL, error = NULL,
      updated_seq = xact.base
    FROM target t, xact
    WHERE j.id = t.id
    RETURNING ${jobColumns('j')}, ${notify('xact.base', '$2::float8')}`,

  // A removal like retention's (a change number on a tombstone), from any status.
  delete: `
    WITH removed AS (
      DELETE FROM jobs WHERE id = $1 RETURNING id, status, claim_token
    ), xact AS MATERIALIZED (
      SELECT simmer_xact_seq() AS base, ${notify('simmer_xact_seq()')} WHERE EXISTS (SELECT 1 FROM removed)
    ), tombstone AS (
      INSERT INTO simmer_removals (seq, id) SELECT xact.base, removed.id FROM removed, xact RETURNING seq
    )
    SELECT tombstone.seq, CASE WHEN removed.status = 'running' THEN ${notifyClaimEnded('removed.id', 'removed.claim_token')} END AS ended_claim
    FROM tombstone, removed`,

  nextWake: `
    SELECT round(extract(epoch from least(
      (SELECT min(run_at) FROM jobs WHERE status = 'pending'),
      (SELECT min(lease_until) FROM jobs WHERE status = 'running')
    )) * 1000)::int8 AS at`,
} as const;

/**
 * Newest first, with only the conditions in use, so the planner always sees a plain index range
 * scan (or, by short id, the few rows of the short-id index, sorted). The status is written into the statement, not passed: one plan serves every call (see
 * Database), and a plan made for "some status" would scan the whole table for a rare one. Only
 * the known statuses are ever written in.
 */
export function listJobsStatement({ status, shortId, limit, before }: ListJobsOptions): { text: string; values: unknown[] } {
  if (status !== undefined && !JOB_STATUSES.includes(status)) throw new TypeError(`not a job status: ${String(status)}`);
  const where: string[] = [];
  const values: unknown[] = [];
  if (status !== undefined) where.push(`status = '${status}'`);
  if (shortId !== undefined) where.push(`right(id::text, ${SHORT_ID_LENGTH}) = $${values.push(shortId)}`);
  if (before !== undefined) where.push(`id < $${values.push(before)}::uuid`);
  const text = `SELECT ${jobColumns()} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${values.push(limit)}`;
  return { text, values };
}
