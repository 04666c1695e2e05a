import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every Prometheus metric Simmer exports, on one registry per process (tests build many apps in one process). */
export interface Metrics {
  registry: Registry;
  /** Set from the store at scrape time. */
  jobsByStatus: Gauge<'status'>;
  createLatency: Histogram;
  /** How late a job started behind its runAt. */
  runLateness: Histogram;
  jobsSettled: Counter<'status'>;
  /** Calls to the Unsplash API by outcome: ok, rate_limited, server_error, client_error, network_error, timeout, bad_response, aborted. */
  unsplashCalls: Counter<'endpoint' | 'outcome'>;
  /** The last X-Ratelimit-Remaining seen; -1 before the first call. */
  unsplashQuotaRemaining: Gauge;
  eventStreams: Gauge;
  /**
   * Requests refused to protect the service, by reason: rate_limited_creates, rate_limited_downloads,
   * pending_cap, event_loop_delay, heap, overloaded (any other pressure), cross_site, streams_per_process, streams_per_client,
   * metrics_forbidden, tracking_budget. Abuse shows here first.
   */
  requestsRefused: Counter<'reason'>;
  /** /events streams this process ended because the client did not keep up: backlog (bytes unsent) or stalled (nothing accepted). */
  eventStreamsDropped: Counter<'reason'>;
  /** Download-tracking calls answered from the per-client cache instead of calling Unsplash again. */
  downloadsFromCache: Counter;
  /** Jobs refused a photo because their client had taken its share of a short Unsplash supply (images/unsplash/photo-shares.ts). */
  photoShareRefusals: Counter;
  /** Requests whose X-Forwarded-For held something other than an IP address where a client was looked for (limits/forwarded-for.ts). */
  forwardedForIgnored: Counter;
  /** Connections closed by a connection limit (limits/connections.ts): total, per_client, idle (no byte sent), accept_failed (no descriptor left). */
  connectionsRefused: Counter<'reason'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const quota = new Gauge({
    name: 'simmer_unsplash_quota_remaining',
    help: 'X-Ratelimit-Remaining from the latest Unsplash answer (-1: none yet)',
    registers,
  });
  quota.set(-1);
  return {
    registry,
    jobsByStatus: new Gauge({ name: 'simmer_jobs', help: 'Jobs by status', labelNames: ['status'], registers }),
    createLatency: new Histogram({
      name: 'simmer_job_create_seconds',
      help: 'Time to create a job durably (POST /jobs, including fsync or commit)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    runLateness: new Histogram({
      name: 'simmer_job_run_lateness_seconds',
      help: 'How long after its runAt a job started running',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    jobsSettled: new Counter({
      name: 'simmer_jobs_settled_total',
      help: 'Jobs settled by this process',
      labelNames: ['status'],
      registers,
    }),
    unsplashCalls: new Counter({
      name: 'simmer_unsplash_calls_total',
      help: 'Calls to the Unsplash API',
      labelNames: ['endpoint', 'outcome'],
      registers,
    }),
    unsplashQuotaRemaining: quota,
    eventStreams: new Gauge({ name: 'simmer_event_streams', help: 'Open /events streams', registers }),
    requestsRefused: new Counter({
      name: 'simmer_requests_refused_total',
      help: 'Requests refused by a limit (rate, pending cap, overload, stream caps, origin, metrics access)',
      labelNames: ['reason'],
      registers,
    }),
    eventStreamsDropped: new Counter({
      name: 'simmer_event_streams_dropped_total',
      help: '/events streams ended because the client fell behind (backlog) or accepted nothing (stalled)',
      labelNames: ['reason'],
      registers,
    }),
    downloadsFromCache: new Counter({
      name: 'simmer_downloads_from_cache_total',
      help: 'Downloads answered from the per-client tracking cache, without a call to Unsplash',
      registers,
    }),
    photoShareRefusals: new Counter({
      name: 'simmer_photo_share_refusals_total',
      help: "Jobs failed with photo_share_spent: their client had taken its share of Unsplash's photos while the supply was short",
      registers,
    }),
    connectionsRefused: new Counter({
      name: 'simmer_connections_refused_total',
      help: 'Connections closed by a connection limit: total, per_client, idle (sent nothing in time), accept_failed (no file descriptor left)',
      labelNames: ['reason'],
      registers,
    }),
    forwardedForIgnored: new Counter({
      name: 'simmer_forwarded_for_ignored_total',
      help: 'X-Forwarded-For entries from trusted proxies that were not IP addresses; the hop that passed one on counted as the client',
      registers,
    }),
  };
}
