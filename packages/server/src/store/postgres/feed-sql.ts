/**
 * The statements of the change feed ("changes since N", the head) and of retention (removals,
 * tombstones, key expiry). Readers only ever read below the horizon: numbers of transactions that
 * have all finished (see "THE CHANGE FEED" in postgres-store.ts).
 */

import { FEED_CHANNEL } from './change-listener.js';
import { jobColumns, toTimestamp } from './job-row.js';

/** Any constant works, as long as every Simmer process uses the same one: "simmer:sweep". */
export const SWEEP_LOCK_KEY = 0x73696d6d65727377n;

/** Tombstones of removed jobs are kept this long; a reader further behind must reload. */
export const TOMBSTONE_TTL_MS = 60 * 60 * 1000;

/** Tombstones pruned per sweep, at most. */
const PRUNE_BATCH = 1_000;

/**
 * The head: the newest change number below the horizon, or just below the horizon while a
 * committed change waits above it. That change may have replaced a job's earlier number, one a
 * reader was already given; the head must never fall below a number handed out, and every number
 * below the horizon is final, so horizon − 1 is a safe point to resume from.
 * Every part is a min or max so that the planner reads one end of an index: an EXISTS over a
 * range whose bound it cannot see is planned as a scan of the whole table (40 ms at 20,000 jobs).
 */
const HEAD = (horizon: string): string => `GREATEST(f.floor_seq, f.forgotten_through,
  (SELECT max(updated_seq) FROM jobs WHERE updated_seq < ${horizon}),
  (SELECT max(seq) FROM simmer_removals WHERE seq < ${horizon}),
  CASE WHEN (SELECT min(updated_seq) FROM jobs WHERE updated_seq >= ${horizon}) IS NOT NULL
         OR (SELECT min(seq) FROM simmer_removals WHERE seq >= ${horizon}) IS NOT NULL THEN ${horizon} - 1 END)`;

const NO_JOB = `NULL::uuid AS id, NULL::text AS status, NULL::int8 AS created_at, NULL::int8 AS run_at, NULL::int8 AS resolved_at,
  NULL::jsonb AS result, NULL::jsonb AS error, NULL::text AS idempotency_key, NULL::text AS client_key, NULL::int8 AS updated_seq, NULL::uuid AS claim_token,
  NULL::int8 AS lease_until, NULL::int4 AS attempts, NULL::int8 AS claimed_at, NULL::jsonb AS attempt_log`;

export const FEED_SQL = {
  // The head and the horizon, in one snapshot.
  head: `
    SELECT h.horizon, ${HEAD('h.horizon')} AS head
    FROM (SELECT simmer_seq_horizon() AS horizon) h, simmer_change_feed f`,

  // One statement, one snapshot: the head, then changed jobs and removals after $1 and below the
  // horizon, each side in number order and at most $2 (the caller merges them).
  changes: `
    WITH h AS MATERIALIZED (SELECT simmer_seq_horizon() AS horizon)
    SELECT 'head' AS kind, ${HEAD('h.horizon')} AS seq, f.forgotten_through AS forgotten, h.horizon AS horizon, ${NO_JOB}
    FROM h, simmer_change_feed f
    UNION ALL (
      SELECT 'job', jobs.updated_seq, NULL, NULL, ${jobColumns()} FROM jobs
      WHERE jobs.updated_seq > $1 AND jobs.updated_seq < (SELECT horizon FROM h)
      ORDER BY jobs.updated_seq LIMIT $2
    )
    UNION ALL (
      SELECT 'removed', r.seq, NULL, NULL, ${NO_JOB.replace('NULL::uuid AS id', 'r.id')} FROM simmer_removals r
      WHERE r.seq > $1 AND r.seq < (SELECT horizon FROM h)
      ORDER BY r.seq LIMIT $2
    )`,

  // One sweeper at a time across processes (the others get 0): removes the oldest ended jobs,
  // each with its own change number and a tombstone, and prunes tombstones past their time,
  // remembering how far removals are forgotten.
  removeSettled: `
    WITH sweeper AS MATERIALIZED (
      SELECT pg_try_advisory_xact_lock(${SWEEP_LOCK_KEY.toString()}) AS held
    ), settled AS (
      SELECT id, resolved_at FROM jobs
      WHERE status IN ('resolved', 'failed') AND resolved_at <= ${toTimestamp('$1')} AND (SELECT held FROM sweeper)
      ORDER BY resolved_at, id LIMIT $2
      FOR UPDATE SKIP LOCKED
    ), cancelled AS (
      SELECT id, resolved_at FROM jobs
      WHERE status = 'cancelled' AND resolved_at <= ${toTimestamp('$1')} AND (SELECT held FROM sweeper)
      ORDER BY resolved_at, id LIMIT $2
      FOR UPDATE SKIP LOCKED
    ), victims AS (
      -- Each side read from its own partial index (migrations 3 and 4), then merged.
      SELECT id FROM (SELECT * FROM settled UNION ALL SELECT * FROM cancelled) ended ORDER BY resolved_at, id LIMIT $2
    ), removed AS (
      DELETE FROM jobs WHERE jobs.id = ANY(ARRAY(SELECT id FROM victims)) RETURNING jobs.id, jobs.resolved_at
    ), xact AS MATERIALIZED (
      SELECT simmer_xact_seq() AS base WHERE EXISTS (SELECT 1 FROM removed)
    ), pruned AS (
      DELETE FROM simmer_removals WHERE seq IN (
        SELECT seq FROM simmer_removals
        WHERE removed_at < now() - make_interval(secs => ${TOMBSTONE_TTL_MS / 1000}) AND (SELECT held FROM sweeper)
        ORDER BY removed_at LIMIT ${PRUNE_BATCH}
      ) RETURNING seq
    ), forgotten AS (
      UPDATE simmer_change_feed SET forgotten_through = GREATEST(forgotten_through, (SELECT max(seq) FROM pruned))
      WHERE EXISTS (SELECT 1 FROM pruned)
    )
    INSERT INTO simmer_removals (seq, id)
    SELECT xact.base + row_number() OVER (ORDER BY removed.resolved_at, removed.id) - 1, removed.id FROM removed, xact
    RETURNING seq, pg_notify('${FEED_CHANNEL}', (SELECT base FROM xact)::text)`,

  // Keys are bookkeeping, not part of what a client sees: forgetting one is not a change.
  // `id = ANY(ARRAY(...))`, not `id IN (...)`: planned without knowing $2, IN becomes a hash join
  // over the whole table; ANY looks each id up in the primary key.
  expireKeys: `
    WITH expired AS (
      SELECT id FROM jobs WHERE idempotency_key IS NOT NULL AND created_at < ${toTimestamp('$1')}
      ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
    )
    UPDATE jobs SET idempotency_key = NULL WHERE id = ANY(ARRAY(SELECT id FROM expired))`,
} as const;
