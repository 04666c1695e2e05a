export interface BackoffPolicy {
  /** Upper bound of the first retry's window. */
  baseMs: number;
  /** The window never grows past this. */
  capMs: number;
}

/**
 * "Full jitter": a delay drawn uniformly from [0, min(cap, base · 2^attempt)].
 * Spreads many clients' retries over the whole window, so an outage ending does not
 * bring every client back in the same instant.
 */
export function fullJitterDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.floor(random() * exp);
}

/** An interval of about `ms`, moved by up to ±`spread` of itself so that pollers drift apart. */
export function jitteredInterval(ms: number, spread = 0.2, random: () => number = Math.random): number {
  return Math.max(0, Math.round(ms * (1 - spread + 2 * spread * random())));
}
