/**
 * The one retry-delay formula, used by the server (upstream calls, the database) and the page
 * (reconnects, the outbox, polling). Plain values only, like constants.ts: the page imports it.
 */

/** Exponential backoff bounds for retrying a call that failed. */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay. */
  baseMs: number;
  /** No delay ever exceeds this. */
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry), with "full jitter": uniformly
 * random in [0, min(maxMs, baseMs · 2^attempt)). Jitter spreads the retries of many clients or
 * processes that failed together, so an outage ending does not bring them back in one instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.floor(random() * ceiling);
}

/** An interval of about `ms`, moved by up to ±`spread` of itself so that pollers drift apart. */
export function jitteredInterval(ms: number, spread = 0.2, random: () => number = Math.random): number {
  return Math.max(0, Math.round(ms * (1 - spread + 2 * spread * random())));
}
