/**
 * Migration 5: who created each job, pseudonymously (issue 23). `client_key` is the creating
 * client's key (see jobs/client-keys.ts: an HMAC of its address under the store's secret, never
 * the address), so a worker can hold a job to its client's share of a budget (the Unsplash photo
 * supply). NULL for jobs created before: such jobs are held to no share.
 */

export const MIGRATION_5_SQL = `
  -- Nullable and without a default: added without rewriting the table or holding it for long.
  ALTER TABLE jobs ADD COLUMN client_key text;
`;
