import type { Job, JobError } from '@simmer/contracts';
import { ATTEMPTS_KEPT, type AttemptOutcome } from '@simmer/contracts/constants';

/** One line of a job's history, oldest first. */
export type TimelineEntry =
  | { kind: 'created'; at: string }
  /** Before it, older attempts were dropped (a job keeps its last ATTEMPTS_KEPT). */
  | { kind: 'earlier-attempts-dropped' }
  | { kind: 'attempt'; number: number; startedAt: string; endedAt: string | null; outcome: AttemptOutcome | null; error: JobError | null }
  /** An attempt ended the job (failed, cancelled) and a later one ran: someone pressed Retry in between (when is not recorded). */
  | { kind: 'retried' }
  | { kind: 'waiting'; until: string }
  | { kind: 'ended'; status: 'resolved' | 'failed' | 'cancelled'; at: string | null; error: JobError | null };

/** How each attempt ended, in words. */
export const OUTCOME_LABEL: Readonly<Record<AttemptOutcome, string>> = {
  resolved: 'got its photo',
  failed: 'failed',
  retrying: 'failed for now; tried again later',
  cancelled: 'stopped: the job was cancelled',
  'given-back': 'given back by its worker (stopping or busy); taken again later',
  'lease-expired': 'its worker stopped answering; another took the job',
};

/**
 * A job's history from what the API says of it: created, each attempt (start, end, how it ended, its
 * error), a retry wherever a job that had ended ran again, then where it is now (waiting until its
 * due time, or how it ended).
 */
export function jobTimeline(job: Job): TimelineEntry[] {
  const entries: TimelineEntry[] = [{ kind: 'created', at: job.createdAt }];
  if (job.attempts.length >= ATTEMPTS_KEPT) entries.push({ kind: 'earlier-attempts-dropped' });
  job.attempts.forEach((attempt, i) => {
    if (i > 0 && endedTheJob(job.attempts[i - 1]!.outcome)) entries.push({ kind: 'retried' });
    entries.push({ kind: 'attempt', number: i + 1, ...attempt });
  });
  if (job.status === 'pending' && endedTheJob(job.attempts.at(-1)?.outcome ?? null)) entries.push({ kind: 'retried' });
  if (job.status === 'pending') entries.push({ kind: 'waiting', until: job.runAt });
  else if (job.status !== 'running') entries.push({ kind: 'ended', status: job.status, at: job.resolvedAt, error: job.error });
  return entries;
}

/** Outcomes after which the job stayed ended until a retry (the others go back to waiting by themselves). */
function endedTheJob(outcome: AttemptOutcome | null): boolean {
  return outcome === 'failed' || outcome === 'cancelled';
}
