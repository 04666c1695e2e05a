import { setTimeout as sleep } from 'node:timers/promises';

/** Exponential backoff bounds for retrying a call that failed (upstream, database, disk). */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay. */
  baseMs: number;
  /** No delay ever exceeds this. */
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry), with "full jitter":
 * uniformly random between 0 and min(maxMs, baseMs · 2^attempt). Jitter keeps many
 * processes that failed together from retrying together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Waits `ms`, or rejects with the signal's reason as soon as `signal` aborts. Never keeps the process alive. */
export async function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (ms <= 0) return;
  await sleep(ms, undefined, { signal, ref: false });
}
