import type { JobError, Photo } from '@simmer/contracts';
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
  const deadline = AbortSignal.timeout(deps.retryLimitMs);
  let photo: Photo;
  try {
    photo = await deps.imageSource.takePhoto(AbortSignal.any([stop, deadline]));
  } catch (error) {
    if (stop.aborted) return undefined;
    const outcome: Outcome = { status: 'failed', resolvedAt: deps.clock.now(), error: describeFailure(error, deadline, deps.retryLimitMs) };
    deps.logger.warn({ err: error, code: outcome.error.code }, 'job failed');
    return outcome;
  }
  return { status: 'resolved', resolvedAt: deps.clock.now(), result: { photo, source: deps.imageSource.name } };
}

function describeFailure(error: unknown, deadline: AbortSignal, retryLimitMs: number): JobError {
  if (error instanceof PermanentImageError) return { code: error.code, message: error.message };
  if (deadline.aborted) {
    const last =
      error instanceof Error && error.name !== 'TimeoutError' && error.name !== 'AbortError'
        ? ` The last attempt failed with: ${error.message}`
        : '';
    return {
      code: 'retry_limit_exceeded',
      message: `No photo could be fetched within ${Math.round(retryLimitMs / 1000)} s of retrying.${last}`,
    };
  }
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error) };
}
