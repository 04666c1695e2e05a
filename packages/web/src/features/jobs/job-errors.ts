import type { JobError } from '@simmer/contracts';
import { JOB_ERROR_CODES, type JobErrorCode } from '@simmer/contracts/constants';

/**
 * What the person looking at a failed job can do about it, per error code (the closed list in the
 * contract); the reason itself is the server's fixed sentence for that code (`error.message`).
 */
const HINTS: Readonly<Record<JobErrorCode, string | null>> = {
  unsplash_unauthorized: "Check the server's UNSPLASH_ACCESS_KEY.",
  unsplash_forbidden: "Unsplash refused this application; check its access on Unsplash's dashboard.",
  unsplash_not_found: 'Retry asks for another photo.',
  unsplash_rejected: "The server's log says what Unsplash answered.",
  unsplash_bad_response: 'Usually passing: Retry asks again.',
  retry_limit_exceeded: 'Unsplash was down, slow or out of quota for too long; Retry once it is back.',
  photo_share_spent: 'Photos are scarce this hour and each client gets a share; Retry in a while, as your share refills.',
  internal_error: "The server's log says what went wrong.",
};

export function isJobErrorCode(code: string): code is JobErrorCode {
  return (JOB_ERROR_CODES as readonly string[]).includes(code);
}

/** The server's reason (already in words), plus what can be done about it. */
export function explainError(error: JobError | null): { reason: string; hint: string | null } {
  if (!error) return { reason: 'The job failed without a reason.', hint: null };
  return { reason: error.message || error.code, hint: isJobErrorCode(error.code) ? HINTS[error.code] : null };
}
