import { isActionAllowed, type JobStatus } from '@simmer/contracts/constants';
import { ApiError, NetworkError } from '../../lib/api-client';
import type { JobRights } from './runtime/job-rights';

/** What a card offers: the contract's actions (`POST /jobs/{id}/<action>`) and delete (`DELETE /jobs/{id}`). */
export type CardAction = 'cancel' | 'run' | 'retry' | 'delete';

/** The buttons' names (their accessible names too). */
export const ACTION_LABEL: Readonly<Record<CardAction, string>> = {
  cancel: 'Cancel',
  run: 'Run now',
  retry: 'Retry',
  delete: 'Delete',
};

const ORDER: readonly CardAction[] = ['cancel', 'run', 'retry', 'delete'];

/**
 * The actions a job in `status` offers, in the contract's terms (JOB_ACTION_FROM): cancel on a
 * pending or running job, run now on a pending one, retry on a failed or cancelled one, delete on any.
 * Cancel on a job already cancelled is allowed by the server but changes nothing, so it is not offered.
 */
export function actionsFor(status: JobStatus): CardAction[] {
  return ORDER.filter(
    (action) => action === 'delete' || (isActionAllowed(action, status) && !(action === 'cancel' && status === 'cancelled')),
  );
}

const VERB: Readonly<Record<CardAction, string>> = {
  cancel: 'cancel',
  run: 'run',
  retry: 'retry',
  delete: 'delete',
};

/**
 * Why an action did not happen, in words for the card. Nothing is sent again by itself: the person
 * decides, with this in front of them.
 */
export function describeRefusal(action: CardAction, error: unknown, rights: JobRights): string {
  const verb = VERB[action];
  if (error instanceof NetworkError) return `Could not ${verb}: the server did not answer. Nothing changed; try again.`;
  if (!(error instanceof ApiError)) return `Could not ${verb}: something went wrong on this page.`;
  switch (error.status) {
    case 401:
    case 403:
      return rights.as === 'operator'
        ? `Refused: the server does not accept this operator token. Sign out and sign in again with the right one.`
        : `Refused: the server does not accept this device's token for the job.`;
    case 404:
      return 'This job no longer exists: it was deleted or removed by retention.';
    case 409:
      return `Could not ${verb}: ${error.problem?.detail ?? 'the job has moved on to a status this does not apply to.'}`;
    case 429: {
      const wait = error.retryAfterMs === null ? null : Math.max(1, Math.ceil(error.retryAfterMs / 1_000));
      return `Too many actions from this address: try again ${wait === null ? 'shortly' : `in ${wait} s`}.`;
    }
    default:
      return error.status >= 500
        ? `Could not ${verb}: the server is having trouble (${error.status}). Nothing changed; try again.`
        : `Could not ${verb}: ${error.message}`;
  }
}
