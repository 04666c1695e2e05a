import { useEffect, useRef, useState } from 'react';
import type { Job } from '@simmer/contracts';
import { ApiError } from '../../../lib/api-client';
import { announce } from '../../../lib/announcer';
import { shortId } from '../../../lib/format';
import { useCancelJob } from '../api/cancel-job';
import { useDeleteJob } from '../api/delete-job';
import { useRetryJob } from '../api/retry-job';
import { useRunJobNow } from '../api/run-job-now';
import { ACTION_LABEL, actionsFor, describeRefusal, type CardAction } from '../job-actions';
import { useJobRights, type JobRights } from '../runtime/job-rights';
import { useJobsRuntime } from '../runtime/jobs-runtime';
import './job-actions.css';

const DONE: Readonly<Record<CardAction, string>> = {
  cancel: 'cancelled',
  run: 'due now',
  retry: 'sent to be tried again',
  delete: 'deleted',
};

/**
 * Cancel, Run now, Retry and Delete, for whoever may act on the job: the device that created it
 * (its control token) or a signed-in operator. A visitor sees nothing here. A refusal is explained
 * beside the buttons and nothing is sent again by itself; Delete asks first.
 */
export function JobActions({ job, variant }: { job: Job; variant: 'card' | 'dialog' }) {
  const rights = useJobRights(job.id);
  // A visitor's card costs no mutation hooks: most cards on a public board are someone else's.
  return rights ? <ActionButtons job={job} variant={variant} rights={rights} /> : null;
}

function ActionButtons({ job, variant, rights }: { job: Job; variant: 'card' | 'dialog'; rights: JobRights }) {
  const { live } = useJobsRuntime();
  const mutations = { cancel: useCancelJob(), run: useRunJobNow(), retry: useRetryJob(), delete: useDeleteJob() };
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const keepRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (confirming) keepRef.current?.focus();
  }, [confirming]);

  const busy = Object.values(mutations).some((mutation) => mutation.isPending);
  const name = `#${shortId(job.id)}`;

  async function act(action: CardAction) {
    setConfirming(false);
    setNotice(null);
    const input = { id: job.id, token: rights.token };
    try {
      // mutateAsync, not mutate's callbacks: a deleted job's card unmounts before they would run.
      if (action === 'delete') await mutations.delete.mutateAsync(input);
      else await mutations[action].mutateAsync(input);
      announce(`Job ${name} ${DONE[action]}.`);
    } catch (error) {
      const text = describeRefusal(action, error, rights);
      setNotice(text);
      announce(text);
      // The job is gone: its card (and a detail showing it) follow.
      if (error instanceof ApiError && error.status === 404) live.applyRemovals([job.id]);
    }
  }

  const actions = actionsFor(job.status);
  return (
    <div className={`job-actions job-actions--${variant}`} data-acting-as={rights.as}>
      {notice && (
        <div className="job-actions__notice">
          <p className="job-actions__notice-text">{notice}</p>
          <button type="button" className="job-actions__dismiss" onClick={() => setNotice(null)} aria-label="Dismiss">
            <svg viewBox="0 0 24 24" aria-hidden="true">
              <path d="M6 6l12 12M18 6 6 18" />
            </svg>
          </button>
        </div>
      )}
      {confirming ? (
        <div className="job-actions__row" role="group" aria-label={`Delete job ${name}?`}>
          <span className="job-actions__question" aria-hidden="true">
            {variant === 'card' ? 'Delete?' : `Delete job ${name}?`}
          </span>
          <button type="button" className="action action--danger" onClick={() => void act('delete')}>
            Yes, delete
          </button>
          <button type="button" ref={keepRef} className="action" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </div>
      ) : (
        <div className="job-actions__row" role="group" aria-label={`Actions on job ${name}`} aria-busy={busy}>
          {actions.map((action) => {
            // On a card, Delete is its bin alone (named for assistive technology and on hover): three buttons fit a 250 px card.
            const iconOnly = variant === 'card' && action === 'delete';
            return (
              <button
                key={action}
                type="button"
                className={`action action--${action}${iconOnly ? ' action--icon' : ''}`}
                disabled={busy}
                aria-label={iconOnly ? ACTION_LABEL[action] : undefined}
                title={iconOnly ? ACTION_LABEL[action] : undefined}
                onClick={() => (action === 'delete' ? setConfirming(true) : void act(action))}
              >
                <ActionIcon action={action} />
                {!iconOnly && ACTION_LABEL[action]}
              </button>
            );
          })}
        </div>
      )}
    </div>
  );
}

function ActionIcon({ action }: { action: CardAction }) {
  const path = {
    cancel: 'M6 6l12 12M18 6 6 18',
    run: 'M8 5v14l11-7z',
    retry: 'M4 12a8 8 0 1 0 2.4-5.7M4 4v5h5',
    delete: 'M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13',
  }[action];
  return (
    <svg viewBox="0 0 24 24" className="action__icon" aria-hidden="true">
      <path d={path} />
    </svg>
  );
}
