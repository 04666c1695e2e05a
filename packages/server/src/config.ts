/** The only reader of process.env: every setting, its default and its validation. */

import { isIP } from 'node:net';
import type { StoreKind } from './store/job-store.js';

export type Role = 'all' | 'api' | 'worker';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  store: StoreKind;
  databaseUrl: string | null;
  role: Role;
  unsplashAccessKey: string | null;
  unsplashApiUrl: string;
  /** Timeout of one upstream call to Unsplash. */
  unsplashTimeoutMs: number;
  /** Backoff between retries of a failed Unsplash call: from base, doubling (with full jitter), up to max. */
  unsplashRetryBaseMs: number;
  unsplashRetryMaxMs: number;
  /** How long to hold off once Unsplash says the hourly quota is spent (403/429, or X-Ratelimit-Remaining: 0). */
  unsplashQuotaWaitMs: number;
  jobDelayMinMs: number;
  jobDelayMaxMs: number;
  jobDelayStepMs: number;
  /** At most this many jobs run at once in one process. */
  jobConcurrency: number;
  /** A job whose photo cannot be had for this long (transient errors) fails. */
  jobRetryLimitMs: number;
  /** A running job's claim lasts this long unless renewed; a crashed worker's job is taken again after it. */
  jobLeaseMs: number;
  /** A /events client further behind than this many changes is told to reload (`reset`) instead of replayed. */
  eventsReplayLimit: number;
  /** Comment heartbeats on idle event streams, so proxies and clients can tell a live stream from a dead one. */
  eventsHeartbeatMs: number;
  logLevel: LogLevel;
  /** Directory of the built web page; null serves no page. */
  webRoot: string | null;

  // Limits and bounds (docs/design.md, "Limits and bounds").
  /** Whose X-Forwarded-For is believed, as Fastify's `trustProxy` takes it; false: the socket's address is the client. */
  trustProxy: boolean | number | string[];
  /** POST /jobs per client address per minute; 0: no limit. */
  rateLimitCreates: number;
  /** POST /jobs/{id}/download per client address per minute; 0: no limit. */
  rateLimitDownloads: number;
  /** Jobs pending or running; past it, creates get 503. */
  maxPendingJobs: number;
  /** Open /events streams in this process; past it, 503. */
  eventsMaxStreams: number;
  /** Open /events streams per client address; past it, 429. */
  eventsMaxStreamsPerClient: number;
  /** An /events client that accepts no data for this long is dropped (it resumes with Last-Event-ID). */
  eventsStallTimeoutMs: number;
  /** Settled jobs resolved longer ago than this are removed; 0 keeps them forever. */
  jobRetentionMs: number;
  /** After this an idempotency key no longer returns its job (the job stays). */
  idempotencyKeyTtlMs: number;
  /** Below this much free space on DATA_DIR, creates get 503 (file store). */
  dataDirMinFreeBytes: number;
  /** When set, /metrics needs `Authorization: Bearer <token>`; otherwise it answers loopback clients only. */
  metricsToken: string | null;
  /** Other origins whose pages may make state-changing requests (e.g. https://example.com). */
  allowedOrigins: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Validates the environment, listing every bad variable at once, and returns a frozen Config. */
export function loadConfig(env: Env, defaults: { webRoot?: string | null } = {}): Readonly<Config> {
  const problems: string[] = [];

  const text = (name: string, fallback: string): string => {
    const value = env[name];
    return value === undefined || value === '' ? fallback : value;
  };

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a whole number`);
      return fallback;
    }
    const value = Number(raw.trim());
    if (value < min || value > max) {
      problems.push(`${name}=${raw} is out of range (${min} to ${max})`);
      return fallback;
    }
    return value;
  };

  const oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const raw = text(name, fallback);
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name}=${JSON.stringify(raw)} must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  };

  const url = (name: string, fallback: string | null, protocols: string[]): string | null => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name} must use ${protocols.join(' or ')} (got ${parsed.protocol})`);
      }
    } catch {
      // Never echo a database URL: it may hold a password.
      problems.push(`${name} is not a valid URL`);
    }
    return raw;
  };

  const port = integer('PORT', 3000, 0, 65535);
  const host = text('HOST', '127.0.0.1');
  const dataDir = text('DATA_DIR', './data');
  const store = oneOf<StoreKind>('STORE', 'file', ['file', 'postgres']);
  const databaseUrl = url('DATABASE_URL', null, ['postgres:', 'postgresql:']);
  const role = oneOf<Role>('ROLE', 'all', ['all', 'api', 'worker']);
  const unsplashAccessKey = env.UNSPLASH_ACCESS_KEY?.trim() || null;
  const unsplashApiUrl = (url('UNSPLASH_API_URL', 'https://api.unsplash.com', ['http:', 'https:']) ?? '').replace(/\/+$/, '');
  const unsplashTimeoutMs = integer('UNSPLASH_TIMEOUT_MS', 10_000, 100, 300_000);
  const unsplashRetryBaseMs = integer('UNSPLASH_RETRY_BASE_MS', 1_000, 1, 600_000);
  const unsplashRetryMaxMs = integer('UNSPLASH_RETRY_MAX_MS', 60_000, 1, 3600_000);
  const unsplashQuotaWaitMs = integer('UNSPLASH_QUOTA_WAIT_MS', 60_000, 1, 3600_000);
  const jobDelayMinMs = integer('JOB_DELAY_MIN_MS', 5_000, 0, 7 * 24 * 3600_000);
  const jobDelayMaxMs = integer('JOB_DELAY_MAX_MS', 300_000, 0, 7 * 24 * 3600_000);
  const jobDelayStepMs = integer('JOB_DELAY_STEP_MS', 5_000, 1, 7 * 24 * 3600_000);
  const jobConcurrency = integer('JOB_CONCURRENCY', 32, 1, 10_000);
  const jobRetryLimitMs = integer('JOB_RETRY_LIMIT_MS', 15 * 60_000, 0, 24 * 3600_000);
  const jobLeaseMs = integer('JOB_LEASE_MS', 30_000, 1_000, 3600_000);
  const eventsReplayLimit = integer('EVENTS_REPLAY_LIMIT', 5_000, 1, 1_000_000);
  const eventsHeartbeatMs = integer('EVENTS_HEARTBEAT_MS', 15_000, 100, 3600_000);
  const logLevel = oneOf<LogLevel>('LOG_LEVEL', 'info', LOG_LEVELS);
  const webRoot = env.WEB_ROOT === undefined ? (defaults.webRoot ?? null) : env.WEB_ROOT || null;

  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems);
  const rateLimitCreates = integer('RATE_LIMIT_CREATES', 600, 0, 1_000_000_000);
  const rateLimitDownloads = integer('RATE_LIMIT_DOWNLOADS', 30, 0, 1_000_000_000);
  const maxPendingJobs = integer('MAX_PENDING_JOBS', 1_000_000, 1, 1_000_000_000);
  const eventsMaxStreams = integer('EVENTS_MAX_STREAMS', 10_000, 1, 1_000_000);
  const eventsMaxStreamsPerClient = integer('EVENTS_MAX_STREAMS_PER_CLIENT', 20, 1, 1_000_000);
  const eventsStallTimeoutMs = integer('EVENTS_STALL_TIMEOUT_MS', 30_000, 1_000, 3600_000);
  const jobRetentionMs = integer('JOB_RETENTION_MS', 30 * DAY_MS, 0, 100 * 365 * DAY_MS);
  const idempotencyKeyTtlMs = integer('IDEMPOTENCY_KEY_TTL_MS', DAY_MS, 1_000, 100 * 365 * DAY_MS);
  const dataDirMinFreeBytes = integer('DATA_DIR_MIN_FREE_BYTES', 128 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER);
  const metricsToken = env.METRICS_TOKEN?.trim() || null;
  const allowedOrigins = parseOrigins(env.ALLOWED_ORIGINS, problems);

  if (jobDelayMinMs > jobDelayMaxMs) {
    problems.push(`JOB_DELAY_MIN_MS (${jobDelayMinMs}) must not exceed JOB_DELAY_MAX_MS (${jobDelayMaxMs})`);
  }
  if (unsplashRetryBaseMs > unsplashRetryMaxMs) {
    problems.push(`UNSPLASH_RETRY_BASE_MS (${unsplashRetryBaseMs}) must not exceed UNSPLASH_RETRY_MAX_MS (${unsplashRetryMaxMs})`);
  }
  if (eventsStallTimeoutMs <= eventsHeartbeatMs) {
    // Heartbeats are what a quiet stream sends: a stall timeout shorter would drop healthy clients.
    problems.push(`EVENTS_STALL_TIMEOUT_MS (${eventsStallTimeoutMs}) must exceed EVENTS_HEARTBEAT_MS (${eventsHeartbeatMs})`);
  }
  if (store === 'postgres' && !databaseUrl) problems.push('STORE=postgres needs DATABASE_URL');
  if (store === 'file' && role !== 'all') {
    problems.push(`ROLE=${role} needs STORE=postgres: the file store is used by one process that both serves and runs jobs`);
  }
  if (unsplashAccessKey !== null && !/^[\x21-\x7e]+$/.test(unsplashAccessKey)) {
    problems.push('UNSPLASH_ACCESS_KEY has characters an access key cannot have');
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    port,
    host,
    dataDir,
    store,
    databaseUrl,
    role,
    unsplashAccessKey,
    unsplashApiUrl,
    unsplashTimeoutMs,
    unsplashRetryBaseMs,
    unsplashRetryMaxMs,
    unsplashQuotaWaitMs,
    jobDelayMinMs,
    jobDelayMaxMs,
    jobDelayStepMs,
    jobConcurrency,
    jobRetryLimitMs,
    jobLeaseMs,
    eventsReplayLimit,
    eventsHeartbeatMs,
    logLevel,
    webRoot,
    trustProxy,
    rateLimitCreates,
    rateLimitDownloads,
    maxPendingJobs,
    eventsMaxStreams,
    eventsMaxStreamsPerClient,
    eventsStallTimeoutMs,
    jobRetentionMs,
    idempotencyKeyTtlMs,
    dataDirMinFreeBytes,
    metricsToken,
    allowedOrigins,
  });
}

const DAY_MS = 24 * 3600_000;

/** `true`/`false`, a hop count, or comma-separated addresses and CIDR ranges (Fastify's `trustProxy`). */
function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | number | string[] {
  const value = raw?.trim() ?? '';
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isAddressOrRange(entry));
  if (bad.length > 0) {
    problems.push(
      `TRUST_PROXY has ${bad.map((entry) => JSON.stringify(entry)).join(', ')}: use true, a hop count, or addresses and CIDR ranges`,
    );
    return false;
  }
  return entries;
}

function isAddressOrRange(entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

/** Comma-separated origins (scheme://host[:port]), as browsers send them in `Origin`. */
function parseOrigins(raw: string | undefined, problems: string[]): string[] {
  const entries = (raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const origins: string[] = [];
  for (const entry of entries) {
    let origin: string | null = null;
    try {
      const url = new URL(entry);
      if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin === entry.replace(/\/$/, '')) origin = url.origin;
    } catch {
      // reported below
    }
    if (origin === null) problems.push(`ALLOWED_ORIGINS has ${JSON.stringify(entry)}: an origin is scheme://host[:port], nothing more`);
    else origins.push(origin);
  }
  return origins;
}
