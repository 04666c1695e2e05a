import type { CreatedJob } from '@simmer/contracts';
import { ApiError, apiRequest, isBusy, isTransient } from '../../../lib/api-client';
import type { OutboxEntry, SendOutcome } from '../../../lib/outbox';

const CREATE_TIMEOUT_MS = 15_000;

/**
 * `POST /jobs` with an idempotency key: sending the same key again returns the same job, with the
 * same control token (the right to act on it), so a resend whose first answer was lost can act too.
 */
export async function createJob(idempotencyKey: string, signal?: AbortSignal): Promise<CreatedJob> {
  const { data } = await apiRequest<CreatedJob>('/jobs', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
    body: '{}',
    signal: signal ?? AbortSignal.timeout(CREATE_TIMEOUT_MS),
  });
  return data;
}

/**
 * The outbox's sender. Retries what may succeed later: no answer, 5xx, 408, 429 and 409 (the same
 * key still being processed), after the server's Retry-After when it gave one. Any other 4xx means
 * the request itself is wrong and is dropped.
 */
export async function sendCreateJob(entry: OutboxEntry): Promise<SendOutcome<CreatedJob>> {
  try {
    return { kind: 'sent', value: await createJob(entry.key) };
  } catch (error) {
    const retry =
      isTransient(error) ||
      (error instanceof ApiError && error.status === 409) ||
      (error instanceof DOMException && error.name === 'TimeoutError');
    if (isBusy(error)) return { kind: 'retry', error, retryAfterMs: error.retryAfterMs };
    return retry ? { kind: 'retry', error } : { kind: 'rejected', error };
  }
}
