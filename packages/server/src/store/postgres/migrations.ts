/** The PostgreSQL schema, as numbered migrations applied in order at start. */

import pg, { type ClientBase } from 'pg';
import type { Logger } from 'pino';
import { backoffDelay } from '@simmer/contracts/backoff';
import { isConnectionError } from './connection-errors.js';
import { MIGRATION_3_SQL } from './migration-3-change-feed.js';
import { MIGRATION_4_SQL } from './migration-4-acting-on-jobs.js';
import { MIGRATION_5_SQL } from './migration-5-client-keys.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Append only: a migration that has shipped is never edited, renumbered or removed, because
 * databases out there record its version as applied. Change the schema with a new entry.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs and the change counter',
    sql: `
      -- One row: the last change sequence number handed out. See postgres-store.ts, "THE CHANGE
      -- SEQUENCE", for why this is a locked counter row and not a SEQUENCE.
      CREATE TABLE simmer_change_seq (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        value bigint NOT NULL CHECK (value >= 0)
      );
      INSERT INTO simmer_change_seq (singleton, value) VALUES (true, 0);

      CREATE TABLE jobs (
        id uuid PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('pending', 'running', 'resolved', 'failed')),
        created_at timestamptz NOT NULL,
        run_at timestamptz NOT NULL,
        resolved_at timestamptz,
        result jsonb,
        error jsonb,
        idempotency_key text UNIQUE,
        updated_seq bigint NOT NULL,
        claim_token uuid,
        claimed_by text,
        lease_until timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        -- The state machine, enforced where the data lives.
        CHECK ((status = 'running') = (claim_token IS NOT NULL AND lease_until IS NOT NULL)),
        CHECK ((status IN ('resolved', 'failed')) = (resolved_at IS NOT NULL)),
        CHECK (status <> 'resolved' OR result IS NOT NULL),
        CHECK (status <> 'failed' OR error IS NOT NULL)
      );

      -- "Changes since N" (and the uniqueness of every change number).
      CREATE UNIQUE INDEX jobs_updated_seq ON jobs (updated_seq);
      -- What falls due next, and what claimers scan first.
      CREATE INDEX jobs_pending_run_at ON jobs (run_at) WHERE status = 'pending';
      -- Leases that end: crashed workers' jobs.
      CREATE INDEX jobs_running_lease_until ON jobs (lease_until) WHERE status = 'running';
      -- Newest-first keyset pagination filtered by status (unfiltered uses the primary key).
      CREATE INDEX jobs_status_id ON jobs (status, id DESC);
    `,
  },
  {
    version: 2,
    name: 'job counts by status, kept by triggers',
    sql: `
      -- GET /stats is read by every page after every burst of changes; counting a large table
      -- each time would not scale. Statement-level triggers keep the counts in the counter row,
      -- whichever release or tool writes the jobs, at one row update per writing statement.
      ALTER TABLE simmer_change_seq
        ADD COLUMN pending bigint NOT NULL DEFAULT 0,
        ADD COLUMN running bigint NOT NULL DEFAULT 0,
        ADD COLUMN resolved bigint NOT NULL DEFAULT 0,
        ADD COLUMN failed bigint NOT NULL DEFAULT 0;

      CREATE FUNCTION simmer_count_jobs() RETURNS trigger LANGUAGE plpgsql AS $fn$
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
        -- Lease renewals change no status: they must not take the counter row's lock.
        IF d_pending <> 0 OR d_running <> 0 OR d_resolved <> 0 OR d_failed <> 0 THEN
          UPDATE simmer_change_seq SET pending = pending + d_pending, running = running + d_running,
            resolved = resolved + d_resolved, failed = failed + d_failed;
        END IF;
        RETURN NULL;
      END
      $fn$;

      -- Creating the triggers locks out writers until this migration commits, so the counts
      -- taken below match the table exactly.
      CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION simmer_count_jobs();
      CREATE TRIGGER jobs_count_update AFTER UPDATE ON jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION simmer_count_jobs();
      CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION simmer_count_jobs();

      UPDATE simmer_change_seq SET
        pending = (SELECT count(*) FROM jobs WHERE status = 'pending'),
        running = (SELECT count(*) FROM jobs WHERE status = 'running'),
        resolved = (SELECT count(*) FROM jobs WHERE status = 'resolved'),
        failed = (SELECT count(*) FROM jobs WHERE status = 'failed');
    `,
  },
  {
    version: 3,
    name: 'change numbers ordered by transaction, striped counts, removals and retention indexes',
    sql: MIGRATION_3_SQL,
  },
  {
    version: 4,
    name: 'cancelled jobs, attempts, short-id search, shared secrets',
    sql: MIGRATION_4_SQL,
  },
  {
    version: 5,
    name: "each job's client key",
    sql: MIGRATION_5_SQL,
  },
];

/** Any constant works, as long as every Simmer process uses the same one: "simmer:migrate". */
const MIGRATION_LOCK_KEY = 0x73696d6d65726d67n;

export interface MigrateOptions {
  /**
   * The longest one statement waits for a lock (default 1 s). A migration queued behind a lock that
   * someone holds would otherwise make every later query on the table queue behind it: it gives up
   * instead, and the caller tries again later.
   */
  lockTimeoutMs?: number;
  /** The longest one migration statement may run (default 5 min). */
  statementTimeoutMs?: number;
}

/** SQLSTATE 55P03: a lock was not granted within lock_timeout. */
export const isLockTimeout = (error: unknown): boolean =>
  (error as { code?: unknown } | null)?.code === '55P03' || (error as { cause?: { code?: unknown } } | null)?.cause?.code === '55P03';

/**
 * Brings the database's schema up to `MIGRATIONS`. Safe when many processes start at once: all of
 * it runs in one transaction holding a transaction-scoped advisory lock, so the first process
 * migrates and the others wait, then find nothing left to do. A failed migration changes nothing.
 * Every lock wait is bounded by `lockTimeoutMs`: a migration that cannot get its lock fails with a
 * lock timeout (see `isLockTimeout`) and changes nothing, and the caller may try again.
 */
export async function migrate(client: ClientBase, logger: Logger, options: MigrateOptions = {}): Promise<void> {
  const { rows } = await client.query<{ version: string }>('SELECT current_setting($$server_version_num$$) AS version');
  const serverVersion = Number(rows[0]?.version ?? 0);
  if (serverVersion < 130000) {
    // gen_random_uuid() is built in from 13 on.
    throw new Error(`PostgreSQL 13 or newer is required (server_version_num ${serverVersion})`);
  }

  await client.query('BEGIN');
  try {
    await client.query(`SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`, [
      `${options.lockTimeoutMs ?? 1_000}ms`,
      `${options.statementTimeoutMs ?? 300_000}ms`,
    ]);
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const applied = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(applied.rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    const known = MIGRATIONS.at(-1)?.version ?? 0;
    if (newest > known) {
      // A newer release migrated this database (a rolling deploy). Migrations only add, so older
      // code keeps working; say so rather than refuse.
      logger.warn({ databaseSchema: newest, knownSchema: known }, 'database schema is newer than this release');
    }
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      logger.info({ version: migration.version, name: migration.name }, 'applied database migration');
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new Error(`database migration failed: ${(error as Error).message}`, { cause: error });
  }
}

export interface MigrateWithRetryOptions {
  databaseUrl: string;
  logger: Logger;
  /** How long an unreachable database is retried (default 30 s). */
  connectTimeoutMs?: number;
  /** How long a migration that cannot get its locks is retried (default 60 s). */
  migrationTimeoutMs?: number;
  migration?: MigrateOptions;
}

/**
 * Migrates on a connection of its own, retrying while the database cannot be reached (for
 * `connectTimeoutMs`) and while a lock the migration needs is held by someone else (for
 * `migrationTimeoutMs`: each try waits at most `lock_timeout`, so it never holds up other
 * sessions for long). Then gives up with an error that says what blocked it.
 */
export async function migrateWithRetry(options: MigrateWithRetryOptions): Promise<void> {
  const { logger } = options;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({
      connectionString: options.databaseUrl,
      application_name: 'simmer-migrate',
      connectionTimeoutMillis: 5_000,
    });
    client.on('error', () => undefined); // reported through the rejected query instead
    try {
      await client.connect();
      await migrate(client, logger, options.migration);
      return;
    } catch (error) {
      const cause = (error as Error).cause ?? error;
      const elapsed = Date.now() - started;
      const blocked = isLockTimeout(cause);
      if (
        blocked
          ? elapsed >= (options.migrationTimeoutMs ?? 60_000)
          : !isConnectionError(cause) || elapsed >= (options.connectTimeoutMs ?? 30_000)
      ) {
        if (blocked)
          throw new Error(
            `database migration gave up after ${Math.round(elapsed / 1000)} s: a lock it needs stayed held by another session (${(cause as Error).message})`,
            { cause: error },
          );
        throw error;
      }
      const delay = backoffDelay(attempt, { baseMs: 200, maxMs: 2_000 });
      logger.warn(
        { err: error, attempt },
        blocked ? `database migration is waiting for a lock; retrying in ${delay} ms` : `database not reachable; retrying in ${delay} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
