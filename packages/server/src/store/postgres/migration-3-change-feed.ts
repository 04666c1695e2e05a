/**
 * Migration 3: change numbers ordered by transaction instead of taken from one locked counter row,
 * counts by status in striped rows, tombstones for removed jobs, and the indexes retention needs.
 * See "THE CHANGE FEED" at the top of postgres-store.ts for why the numbers are made this way.
 */

/** Change numbers a transaction may use: its own block of this many, from `simmer_xact_seq()` up. */
export const SEQ_BLOCK = 512;

/** Stripes of the counts table: a writer updates one (by its backend), a reader sums them all. */
export const COUNT_STRIPES = 64;

export const MIGRATION_3_SQL = `
  -- Writers wait (readers go on) while the counts move and the numbering changes, so no write is
  -- counted twice or numbered by both schemes.
  LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE;

  -- Counts by status, spread over ${COUNT_STRIPES} rows so that concurrent writers rarely touch the
  -- same one; GET /stats sums them.
  CREATE TABLE simmer_job_counts (
    stripe smallint PRIMARY KEY,
    pending bigint NOT NULL DEFAULT 0,
    running bigint NOT NULL DEFAULT 0,
    resolved bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0
  );
  INSERT INTO simmer_job_counts (stripe) SELECT generate_series(0, ${COUNT_STRIPES - 1});
  UPDATE simmer_job_counts SET (pending, running, resolved, failed) =
    (SELECT pending, running, resolved, failed FROM simmer_change_seq) WHERE stripe = 0;

  -- The same triggers as migration 2 call this function: from now on it writes to the stripe of
  -- the writing connection instead of the one counter row.
  CREATE OR REPLACE FUNCTION simmer_count_jobs() RETURNS trigger LANGUAGE plpgsql AS $fn$
  DECLARE
    d_pending bigint := 0; d_running bigint := 0; d_resolved bigint := 0; d_failed bigint := 0;
  BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      SELECT d_pending + count(*) FILTER (WHERE status = 'pending'), d_running + count(*) FILTER (WHERE status = 'running'),
             d_resolved + count(*) FILTER (WHERE status = 'resolved'), d_failed + count(*) FILTER (WHERE status = 'failed')
        INTO d_pending, d_running, d_resolved, d_failed FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      SELECT d_pending - count(*) FILTER (WHERE status = 'pending'), d_running - count(*) FILTER (WHERE status = 'running'),
             d_resolved - count(*) FILTER (WHERE status = 'resolved'), d_failed - count(*) FILTER (WHERE status = 'failed')
        INTO d_pending, d_running, d_resolved, d_failed FROM old_rows;
    END IF;
    IF d_pending <> 0 OR d_running <> 0 OR d_resolved <> 0 OR d_failed <> 0 THEN
      UPDATE simmer_job_counts SET pending = pending + d_pending, running = running + d_running,
        resolved = resolved + d_resolved, failed = failed + d_failed
      WHERE stripe = pg_backend_pid() % ${COUNT_STRIPES};
    END IF;
    RETURN NULL;
  END
  $fn$;

  -- A removed job's change: its number and id, kept for a while so "changes since N" can say the
  -- job went away. Pruned by age; what was pruned is remembered in forgotten_through.
  CREATE TABLE simmer_removals (
    seq bigint PRIMARY KEY,
    id uuid NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX simmer_removals_removed_at ON simmer_removals (removed_at);

  CREATE TABLE simmer_change_feed (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- Change numbers are (transaction id - xid_base) * ${SEQ_BLOCK} + position in the transaction.
    xid_base bigint NOT NULL,
    -- The head before this migration: the feed never reports less.
    floor_seq bigint NOT NULL,
    -- Removals up to here are no longer remembered: a reader from before must reload.
    forgotten_through bigint NOT NULL DEFAULT 0
  );

  -- Retention: the oldest settled jobs first; keys to expire, oldest first.
  CREATE INDEX jobs_settled_resolved_at ON jobs (resolved_at, id) WHERE status IN ('resolved', 'failed');
  CREATE INDEX jobs_keyed_created_at ON jobs (created_at) WHERE idempotency_key IS NOT NULL;

  -- A write by an older release (numbered from the counter row, below every new number) is
  -- renumbered by its own transaction, so readers of this release never skip it during a rolling
  -- deploy. Its numbers within one statement are consecutive, so their position stays unique.
  CREATE FUNCTION simmer_legacy_seq() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    NEW.updated_seq := simmer_xact_seq() + NEW.updated_seq % ${SEQ_BLOCK};
    RETURN NEW;
  END
  $fn$;

  DO $do$
  DECLARE
    head bigint := (SELECT value FROM simmer_change_seq);
    xid bigint := pg_current_xact_id()::text::bigint;
    base bigint;
    first_seq bigint;
  BEGIN
    -- The first new number lies above every old one.
    base := xid - head / ${SEQ_BLOCK} - 2;
    first_seq := (xid - base) * ${SEQ_BLOCK};
    INSERT INTO simmer_change_feed (xid_base, floor_seq) VALUES (base, head);
    EXECUTE format(
      'CREATE FUNCTION simmer_xact_seq() RETURNS bigint LANGUAGE sql VOLATILE AS %L',
      format('SELECT (pg_current_xact_id()::text::bigint - %s) * ${SEQ_BLOCK}', base));
    EXECUTE format(
      'CREATE FUNCTION simmer_seq_horizon() RETURNS bigint LANGUAGE sql STABLE AS %L',
      format('SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint - %s) * ${SEQ_BLOCK}', base));
    EXECUTE format(
      'CREATE TRIGGER jobs_legacy_seq_insert BEFORE INSERT ON jobs FOR EACH ROW WHEN (NEW.updated_seq < %s) EXECUTE FUNCTION simmer_legacy_seq()',
      first_seq);
    EXECUTE format(
      'CREATE TRIGGER jobs_legacy_seq_update BEFORE UPDATE OF updated_seq ON jobs FOR EACH ROW WHEN (NEW.updated_seq < %s AND NEW.updated_seq <> OLD.updated_seq) EXECUTE FUNCTION simmer_legacy_seq()',
      first_seq);
  END
  $do$;
`;
