import { ATTEMPTS_KEPT, type AttemptOutcome, type JobError } from '@simmer/contracts';

/** An attempt (one claim of a job) that has ended. Times are epoch milliseconds. */
export interface EndedAttempt {
  startedAt: number;
  endedAt: number;
  outcome: AttemptOutcome;
  /** The error a `failed` attempt ended with; null otherwise. */
  error: JobError | null;
}

/** The attempts of a job that never ran: one shared frozen array, so a pending job costs no memory for it. */
export const NO_ATTEMPTS: readonly EndedAttempt[] = Object.freeze([]);

/** `ended` with one more attempt, keeping the newest ATTEMPTS_KEPT (a new array: jobs are never mutated). */
export function withEndedAttempt(ended: readonly EndedAttempt[], attempt: EndedAttempt): readonly EndedAttempt[] {
  const kept = ended.length >= ATTEMPTS_KEPT ? ended.slice(ended.length - ATTEMPTS_KEPT + 1) : ended;
  return [...kept, attempt];
}
