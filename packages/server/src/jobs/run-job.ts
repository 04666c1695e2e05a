import type { JobError, JobErrorCode, Photo } from '@simmer/contracts';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { PermanentImageError, type ImageSource } from '../images/image-source.js';
import type { Outcome, StoredJob } from '../store/job-store.js';

export interface RunJobDeps {
  imageSource: ImageSource;
  clock: Clock;
  logger: Logger;
  /** A job whose photo cannot be had within this time fails. */
  retryLimitMs: number;
}

/**
 * Takes a photo for a claimed job and says how the job ends. A failure is data, not an
 * exception: the outcome is always returned, unless `stop` aborted (shutdown, or the claim was
 * lost), in which case undefined means "leave the job to whoever holds it next".
 */
export async function runJob(job: StoredJob, deps: RunJobDeps, stop: AbortSignal): Promise<Outcome | undefined> {
  let photo: Photo;
  const attempt = withDeadline(stop, deps.retryLimitMs, deps.clock);
  try {
    photo = await deps.imageSource.takePhoto(attempt.signal, job.client);
  } catch (error) {
    if (stop.aborted) return undefined;
    const outcome: Outcome = { status: 'failed', resolvedAt: deps.clock.now(), error: describeFailure(error, attempt.timedOut()) };
    // The whole story (upstream text, socket errors) is for the operator, not the API.
    deps.logger.warn({ err: error, code: outcome.error.code }, 'job failed');
    return outcome;
  } finally {
    attempt.done();
  }
  return { status: 'resolved', resolvedAt: deps.clock.now(), result: { photo, source: deps.imageSource.name } };
}

/**
 * A signal that aborts with `stop` or after `ms`. One controller and one timer per job, not
 * `AbortSignal.any` and `AbortSignal.timeout`: on Node 20 those register weak references and
 * finalizers, and at thousands of jobs a second they were 7 % of a worker's busy time.
 */
function withDeadline(stop: AbortSignal, ms: number, clock: Clock): { signal: AbortSignal; timedOut: () => boolean; done: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const onStop = (): void => controller.abort(stop.reason);
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  const timer = clock.setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('The job ran out of time to take a photo.', 'TimeoutError'));
  }, ms);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done: () => {
      timer.cancel();
      stop.removeEventListener('abort', onStop);
    },
  };
}

/**
 * What a failed job says, per error code: fixed sentences, so no upstream body, socket error,
 * address or setting reaches the API (everyone can read every job). The error itself goes to the log.
 */
const PUBLIC_MESSAGES: Record<JobErrorCode, string> = {
  unsplash_unauthorized: "Unsplash refused the server's access key (401).",
  unsplash_forbidden: 'Unsplash refused to give a photo (403).',
  unsplash_not_found: 'Unsplash found no photo to give (404).',
  unsplash_rejected: 'Unsplash rejected the request for a photo.',
  unsplash_bad_response: 'Unsplash answered with something that is not a usable photo.',
  retry_limit_exceeded: 'No photo could be had in time: Unsplash kept failing, so the job gave up.',
  photo_share_spent: 'This client has used its share of Unsplash photos for now; retry the job later.',
  internal_error: 'Something went wrong on the server while taking the photo.',
};

function describeFailure(error: unknown, timedOut: boolean): JobError {
  const code: JobErrorCode =
    error instanceof PermanentImageError && error.code in PUBLIC_MESSAGES
      ? (error.code as JobErrorCode)
      : timedOut
        ? 'retry_limit_exceeded'
        : 'internal_error';
  return { code, message: PUBLIC_MESSAGES[code] };
}
