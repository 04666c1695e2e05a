import type { Clock } from '../clock.js';
import type { CreateOutcome, JobStore } from '../store/job-store.js';
import { pickDelayMs, type DelaySettings } from './delay.js';
import { newJobId } from './job-id.js';

export interface CreateJobDeps {
  store: JobStore;
  clock: Clock;
  delay: DelaySettings;
  /** IDEMPOTENCY_KEY_TTL_MS: a key older than this no longer returns its job. */
  keyTtlMs: number;
  random?: () => number;
}

/**
 * Creates a pending job due after a random delay, recording `client` (the creating client's key,
 * jobs/client-keys.ts) with it; with a key used within the last `keyTtlMs`, returns that key's job
 * instead, as it was created (its client included).
 */
export function createJob(deps: CreateJobDeps, idempotencyKey: string | null, client: string | null): Promise<CreateOutcome> {
  const now = deps.clock.now();
  return deps.store.createJob({
    id: newJobId(now),
    createdAt: now,
    runAt: now + pickDelayMs(deps.delay, deps.random),
    idempotencyKey,
    client,
    keysExpireBefore: now - deps.keyTtlMs,
  });
}
