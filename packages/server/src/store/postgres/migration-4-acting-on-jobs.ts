/**
 * Migration 4: acting on jobs (issue 20). The `cancelled` status (counted, and removed by
 * retention like the other ended jobs), each job's attempts, the short-id index behind
 * `GET /jobs?q=`, and the table that keeps the control tokens' secret.
 */

import { ATTEMPTS_KEPT, SHORT_ID_LENGTH } from '@simmer/contracts/constants';
import { COUNT_STRIPES } from './migration-3-change-feed.js';

export const MIGRATION_4_SQL = `
  -- The current claim's start, and the ended attempts (oldest first, the last ${ATTEMPTS_KEPT}) as
  -- [{startedAt, endedAt, outcome, error}], times in epoch milliseconds, as the API shows them.
  -- A constant default: added without rewriting the table.
  ALTER TABLE jobs
    ADD COLUMN claimed_at timestamptz,
    ADD COLUMN attempt_log jsonb NOT NULL DEFAULT '[]'::jsonb;

  -- The status list and "an ended job has resolved_at" gain cancelled. Migration 1 left these two
  -- checks unnamed (they are the only ones comparing status = ANY (...)): found by definition.
  DO $do$
  DECLARE
    c record;
  BEGIN
    FOR c IN SELECT conname FROM pg_constraint
      WHERE conrelid = 'jobs'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%status = ANY%'
    LOOP
      EXECUTE format('ALTER TABLE jobs DROP CONSTRAINT %I', c.conname);
    END LOOP;
  END
  $do$;
  ALTER TABLE jobs
    ADD CONSTRAINT jobs_status_known CHECK (status IN ('pending', 'running', 'resolved', 'failed', 'cancelled')),
    ADD CONSTRAINT jobs_ended_has_resolved_at CHECK ((status IN ('resolved', 'failed', 'cancelled')) = (resolved_at IS NOT NULL));

  -- Counts by status: the same triggers, one more status.
  ALTER TABLE simmer_job_counts ADD COLUMN cancelled bigint NOT NULL DEFAULT 0;
  CREATE OR REPLACE FUNCTION simmer_count_jobs() RETURNS trigger LANGUAGE plpgsql AS $fn$
  DECLARE
    d_pending bigint := 0; d_running bigint := 0; d_resolved bigint := 0; d_failed bigint := 0; d_cancelled bigint := 0;
  BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      SELECT d_pending + count(*) FILTER (WHERE status = 'pending'), d_running + count(*) FILTER (WHERE status = 'running'),
             d_resolved + count(*) FILTER (WHERE status = 'resolved'), d_failed + count(*) FILTER (WHERE status = 'failed'),
             d_cancelled + count(*) FILTER (WHERE status = 'cancelled')
        INTO d_pending, d_running, d_resolved, d_failed, d_cancelled FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      SELECT d_pending - count(*) FILTER (WHERE status = 'pending'), d_running - count(*) FILTER (WHERE status = 'running'),
             d_resolved - count(*) FILTER (WHERE status = 'resolved'), d_failed - count(*) FILTER (WHERE status = 'failed'),
             d_cancelled - count(*) FILTER (WHERE status = 'cancelled')
        INTO d_pending, d_running, d_resolved, d_failed, d_cancelled FROM old_rows;
    END IF;
    IF d_pending <> 0 OR d_running <> 0 OR d_resolved <> 0 OR d_failed <> 0 OR d_cancelled <> 0 THEN
      UPDATE simmer_job_counts SET pending = pending + d_pending, running = running + d_running,
        resolved = resolved + d_resolved, failed = failed + d_failed, cancelled = cancelled + d_cancelled
      WHERE stripe = pg_backend_pid() % ${COUNT_STRIPES};
    END IF;
    RETURN NULL;
  END
  $fn$;

  -- Retention of cancelled jobs, beside migration 3's index of resolved and failed ones (a new
  -- partial index is empty here, so this migration builds nothing over the existing rows for it).
  CREATE INDEX jobs_cancelled_resolved_at ON jobs (resolved_at, id) WHERE status = 'cancelled';

  -- GET /jobs?q=<short id>: the last ${SHORT_ID_LENGTH} hex digits of the id. Built over every
  -- existing row while this migration holds the table (about a second per million jobs).
  CREATE INDEX jobs_short_id ON jobs (right(id::text, ${SHORT_ID_LENGTH}));

  -- An attempt's end appended to a job's attempts, keeping the newest ${ATTEMPTS_KEPT}.
  CREATE FUNCTION simmer_attempt_ended(log jsonb, started timestamptz, ended timestamptz, outcome text, error jsonb)
  RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
    SELECT (CASE WHEN jsonb_array_length(log) >= ${ATTEMPTS_KEPT} THEN log - 0 ELSE log END) || jsonb_build_array(jsonb_build_object(
      'startedAt', round(extract(epoch from started) * 1000)::int8,
      'endedAt', round(extract(epoch from ended) * 1000)::int8,
      'outcome', outcome,
      'error', error))
  $fn$;

  -- Secrets every process shares, made by the first process that needs them (control-token-key:
  -- the key control tokens are derived with; see jobs/control-tokens.ts).
  CREATE TABLE simmer_secrets (
    name text PRIMARY KEY,
    value bytea NOT NULL
  );
`;
