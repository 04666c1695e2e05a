/**
 * Every setting the server reads, each written once: its kind and range, its default and the
 * sentence the README's configuration table shows. The environment name is the key in
 * SCREAMING_SNAKE_CASE (`jobLeaseMs` is `JOB_LEASE_MS`); the `Config` type is derived from this
 * table, `loadConfig` reads it, and a test holds the README's table to it
 * (`npm run docs:settings` writes that table again).
 *
 * A new setting is one entry here, plus its use.
 */

import { getHeapStatistics } from 'node:v8';
import { hostNames, integer, oneOf, optional, origins, secret, text, trustProxy, url, type Kind } from './kinds.js';

export interface Setting<T> {
  kind: Kind<T>;
  default: T;
  /** What it does, as the README says it (Markdown). */
  doc: string;
  /** The default as the README shows it, where the kind cannot say it (a path worked out at start). */
  shownDefault?: string;
}

const setting = <T>(kind: Kind<T>, fallback: T, doc: string, shownDefault?: string): Setting<T> => ({
  kind,
  default: fallback,
  doc,
  ...(shownDefault === undefined ? {} : { shownDefault }),
});

const DAY_MS = 24 * 3600_000;
const WEEK_MS = 7 * DAY_MS;
const CENTURY_MS = 100 * 365 * DAY_MS;
const MANY = 1_000_000_000;
/** What one stored job may hold in the file store's heap: ~1.3 KB measured, rounded up. */
const JOB_HEAP_BYTES = 2 * 1024;
/** MAX_STORED_JOBS by default: 40 % of V8's heap limit at JOB_HEAP_BYTES a job, below the 85 % at which requests are shed. */
const STORED_JOBS_BY_HEAP = Math.floor((getHeapStatistics().heap_size_limit * 0.4) / JOB_HEAP_BYTES);

export const STORE_KINDS = ['file', 'postgres'] as const;
export const ROLES = ['all', 'api', 'worker'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const SETTINGS = {
  port: setting(integer(0, 65535), 3000, 'HTTP port (`0`: any free port)'),
  host: setting(text, '127.0.0.1', 'address to listen on'),
  tlsCertFile: setting(
    optional(text),
    null,
    'PEM certificate chain: with `TLS_KEY_FILE`, the server speaks HTTPS with HTTP/2 (HTTP/1.1 for clients without it); both are read again on `SIGHUP` or when they change',
  ),
  tlsKeyFile: setting(optional(text), null, 'PEM private key of `TLS_CERT_FILE`'),
  dataDir: setting(
    text,
    './data',
    "the file store's journal and snapshots (one process per directory, held by an OS lock; private: `0700`/`0600`)",
  ),
  dataDirMinFreeBytes: setting(
    integer(0, Number.MAX_SAFE_INTEGER, 'bytes'),
    128 * 1024 * 1024,
    'below this free space on `DATA_DIR`, creates get `503` and `/readyz` says why; reads and running jobs go on',
  ),
  store: setting(oneOf(STORE_KINDS), 'file', '`file` (embedded) or `postgres`'),
  databaseUrl: setting(optional(url(['postgres:', 'postgresql:'])), null, 'PostgreSQL connection string, for `STORE=postgres`'),
  role: setting(oneOf(ROLES), 'all', '`all`, `api` (HTTP only) or `worker` (jobs only; needs `STORE=postgres`)'),
  unsplashAccessKey: setting(optional(secret), null, 'Unsplash access key; without it, the built-in demo catalog'),
  unsplashApiUrl: setting(url(['http:', 'https:']), 'https://api.unsplash.com', 'Unsplash API base URL'),
  unsplashTimeoutMs: setting(integer(100, 300_000), 10_000, 'timeout of one Unsplash call'),
  unsplashRetryBaseMs: setting(integer(1, 600_000), 1_000, 'first retry backoff of a failed Unsplash call (exponential, full jitter)'),
  unsplashRetryMaxMs: setting(integer(1, 3600_000), 60_000, 'longest retry backoff of a failed Unsplash call'),
  unsplashQuotaWaitMs: setting(integer(1, 3600_000), 60_000, 'pause when the hourly quota is spent'),
  unsplashClientSharePercent: setting(
    integer(1, 100),
    10,
    "one client's share of the hour's Unsplash photos (limit × 30), in percent: while the quota is short (under half left, or spent), a client past its share gets its jobs failed with `photo_share_spent`; per worker process",
  ),
  jobDelayMinMs: setting(integer(0, WEEK_MS), 5_000, "a new job's shortest delay"),
  jobDelayMaxMs: setting(integer(0, WEEK_MS), 300_000, "a new job's longest delay"),
  jobDelayStepMs: setting(integer(1, WEEK_MS), 5_000, 'delays are whole steps of this between the shortest and the longest'),
  jobConcurrency: setting(integer(1, 10_000), 32, 'jobs running at once per process'),
  jobRetryLimitMs: setting(integer(0, DAY_MS, 'ms'), 15 * 60_000, 'a job that cannot get a photo for this long fails'),
  jobLeaseMs: setting(integer(1_000, 3600_000), 30_000, "a running job's claim; a crashed worker's job is taken again after it"),
  jobRetentionMs: setting(
    integer(0, CENTURY_MS, 'ms'),
    30 * DAY_MS,
    'ended jobs (resolved, failed, cancelled) whose `resolvedAt` is older are removed (`event: removed`, then `404`); `0` keeps them forever',
  ),
  idempotencyKeyTtlMs: setting(
    integer(1_000, CENTURY_MS, 'ms'),
    DAY_MS,
    'after this an `Idempotency-Key` no longer returns its job (the job stays)',
  ),
  eventsReplayLimit: setting(integer(1, 1_000_000), 5_000, 'a `/events` client further behind than this many changes is told to reload'),
  eventsHeartbeatMs: setting(integer(100, 3600_000), 15_000, 'comment heartbeat on idle event streams'),
  logLevel: setting(oneOf(LOG_LEVELS), 'info', '`fatal` … `trace`, `silent`'),
  webRoot: setting(optional(text), null, 'directory of the built page to serve', 'the built page (`packages/web/dist`)'),

  // Limits and bounds (docs/design.md, "Limits and bounds").
  trustProxy: setting(
    trustProxy,
    false,
    "whose `X-Forwarded-For` is believed: `true`, a hop count, or comma-separated addresses / CIDRs of your proxies; otherwise the client is the socket's address",
  ),
  rateLimitCreates: setting(
    integer(0, MANY),
    600,
    '`POST /jobs` per client per minute (`0`: off); over it `429` with `Retry-After` and `RateLimit-*`',
  ),
  rateLimitDownloads: setting(integer(0, MANY), 30, '`POST /jobs/{id}/download` per client per minute (`0`: off); over it `429`'),
  rateLimitActions: setting(
    integer(0, MANY),
    120,
    'cancel, run now, retry and delete (`POST /jobs/{id}/cancel` … `DELETE /jobs/{id}`) per client per minute, together (`0`: off); over it `429`',
  ),
  maxPendingJobs: setting(integer(1, MANY), 1_000_000, 'jobs pending or running; past it creates and retries get `503` + `Retry-After`'),
  eventsMaxStreams: setting(integer(1, 1_000_000), 10_000, 'open `/events` streams per process; past it `503`'),
  eventsMaxStreamsPerClient: setting(integer(1, 1_000_000), 20, 'open `/events` streams per client; past it `429`'),
  eventsStallTimeoutMs: setting(
    integer(1_000, 3600_000),
    30_000,
    'an `/events` client that accepts no data this long is disconnected (it resumes); must exceed `EVENTS_HEARTBEAT_MS`',
  ),
  metricsToken: setting(
    optional(secret),
    null,
    'when set, `/metrics` needs `Authorization: Bearer <token>`; unset, it answers loopback clients only',
  ),
  operatorToken: setting(
    optional(secret),
    null,
    'when set (16 or more visible ASCII characters), `Authorization: Bearer <token>` may cancel, run, retry and delete every job; unset, there is no operator and only the device that created a job may act on it',
  ),
  allowedOrigins: setting(
    origins,
    [],
    'other origins (`https://example.com`, comma-separated) whose pages may `POST`; any other `Origin` gets `403`',
  ),
  allowedHosts: setting(
    hostNames,
    [],
    'host names the server answers to besides `localhost`, IP addresses and `HOST` (`simmer.example.com`, `*.example.com`, comma-separated; `*`: any); any other `Host` gets `421` (DNS rebinding)',
  ),
  maxConnections: setting(
    optional(integer(1, MANY)),
    null,
    'open connections per process; past it a new one is closed at once',
    'the open-file limit less a quarter of it (at most 256) for files',
  ),
  maxConnectionsPerClient: setting(
    integer(1, MANY),
    // Headroom for many browsers behind one NAT, and for HTTP clients that open up to twice their
    // concurrent requests in connections (undici, measured).
    256,
    'open connections per client address (trusted proxies excepted); past it a new one is closed at once',
  ),
  listRowsPerSecond: setting(
    integer(1, MANY),
    10_000,
    '`GET /jobs` rows per client per second, twice that at once after a quiet spell (a list is charged its `limit`, less what it did not return); past it `429` + `Retry-After`',
  ),
  maxStoredJobs: setting(
    integer(1, MANY),
    STORED_JOBS_BY_HEAP,
    'jobs kept, of any status; past it the oldest settled jobs are removed early (`event: removed`), and when only pending and running jobs are left creates get `503` + `Retry-After`',
    '40 % of the heap limit at 2 KiB a job (about 420,000 with a 2 GiB heap)',
  ),
} satisfies Record<string, Setting<never> | Setting<unknown>>;

type ValueOf<S> = S extends Setting<infer T> ? T : never;

/** The settings as the server uses them. */
export type Config = { readonly [Key in keyof typeof SETTINGS]: ValueOf<(typeof SETTINGS)[Key]> };

/** Rules between settings, each a problem sentence when broken. */
export const CROSS_CHECKS: readonly ((config: Config) => string | null)[] = [
  (c) =>
    c.jobDelayMinMs > c.jobDelayMaxMs
      ? `JOB_DELAY_MIN_MS (${c.jobDelayMinMs}) must not exceed JOB_DELAY_MAX_MS (${c.jobDelayMaxMs})`
      : null,
  (c) =>
    c.unsplashRetryBaseMs > c.unsplashRetryMaxMs
      ? `UNSPLASH_RETRY_BASE_MS (${c.unsplashRetryBaseMs}) must not exceed UNSPLASH_RETRY_MAX_MS (${c.unsplashRetryMaxMs})`
      : null,
  // Heartbeats are what a quiet stream sends: a stall timeout shorter would drop healthy clients.
  (c) =>
    c.eventsStallTimeoutMs <= c.eventsHeartbeatMs
      ? `EVENTS_STALL_TIMEOUT_MS (${c.eventsStallTimeoutMs}) must exceed EVENTS_HEARTBEAT_MS (${c.eventsHeartbeatMs})`
      : null,
  (c) =>
    (c.tlsCertFile === null) !== (c.tlsKeyFile === null)
      ? 'TLS_CERT_FILE and TLS_KEY_FILE go together: set both for HTTPS, or neither'
      : null,
  (c) => (c.store === 'postgres' && !c.databaseUrl ? 'STORE=postgres needs DATABASE_URL' : null),
  (c) =>
    c.store === 'file' && c.role !== 'all'
      ? `ROLE=${c.role} needs STORE=postgres: the file store is used by one process that both serves and runs jobs`
      : null,
  (c) =>
    c.operatorToken !== null && !/^[\x21-\x7e]{16,}$/.test(c.operatorToken)
      ? 'OPERATOR_TOKEN must be at least 16 visible ASCII characters (no spaces)'
      : null,
  (c) =>
    c.unsplashAccessKey !== null && !/^[\x21-\x7e]+$/.test(c.unsplashAccessKey)
      ? 'UNSPLASH_ACCESS_KEY has characters an access key cannot have'
      : null,
];

/** `jobLeaseMs` → `JOB_LEASE_MS`. */
export function envName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();
}
