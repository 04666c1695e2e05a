import { useEffect, useRef } from 'react';
import type { Job } from '@simmer/contracts';
import { formatClock, formatDateTime, shortId } from '../../../lib/format';
import { useJob } from '../api/get-job';
import { showJobDetail, useJobAddress } from '../job-address';
import { explainError } from '../job-errors';
import { STATUS_LABEL } from '../job-status';
import { jobTimeline, OUTCOME_LABEL, type TimelineEntry } from '../job-timeline';
import { useJobRights, type JobRights } from '../runtime/job-rights';
import { JobActions } from './job-actions';
import { PhotoCredit } from './photo-credit';
import './status-tone.css';
import './modal.css';
import './job-detail-dialog.css';

/**
 * A job's detail at its own address (`/?job=<id>`): its timeline from creation through each attempt
 * to where it is now, who may act on it, and the actions for whoever may. A modal <dialog>: focus
 * stays inside, Escape and Close go back to the board. It follows the job live.
 */
export function JobDetailDialog() {
  const id = useJobAddress();
  const ref = useRef<HTMLDialogElement>(null);
  const job = useJob(id);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (id !== null && !dialog.open) dialog.showModal();
    if (id === null && dialog.open) dialog.close();
  }, [id]);

  const close = () => showJobDetail(null);

  return (
    <dialog
      ref={ref}
      className="modal detail"
      aria-labelledby="job-detail-title"
      onClose={close}
      onClick={(event) => event.target === ref.current && close()}
    >
      {id !== null && (
        <div className="detail__content">
          <div className="detail__head">
            <h2 id="job-detail-title" className="detail__title">
              Job <span className="detail__short-id">#{shortId(id)}</span>
            </h2>
            {job.data && <span className={`pill pill--${job.data.status}`}>{STATUS_LABEL[job.data.status]}</span>}
            <button type="button" className="detail__close" onClick={close} aria-label="Close">
              <svg viewBox="0 0 24 24" aria-hidden="true">
                <path d="M6 6l12 12M18 6 6 18" />
              </svg>
            </button>
          </div>
          <p className="detail__id">
            <span className="visually-hidden">Full id: </span>
            <code>{id}</code>
          </p>
          {job.data ? (
            <JobDetail job={job.data} />
          ) : job.data === null ? (
            <p className="detail__gone">There is no such job: it was deleted, removed by retention after it ended, or never existed.</p>
          ) : job.isError ? (
            <div className="detail__gone">
              <p>The job could not be loaded: the server did not answer.</p>
              <button type="button" className="button button--ghost" onClick={() => void job.refetch()}>
                Try again
              </button>
            </div>
          ) : (
            <p className="detail__loading" role="status">
              Loading…
            </p>
          )}
        </div>
      )}
    </dialog>
  );
}

function JobDetail({ job }: { job: Job }) {
  const rights = useJobRights(job.id);
  return (
    <>
      {job.status === 'resolved' && job.result && (
        <figure className="detail__photo">
          <img src={job.result.photo.urls.small} alt={job.result.photo.description ?? `Food photo by ${job.result.photo.author.name}`} />
          <figcaption>
            <PhotoCredit result={job.result} />
          </figcaption>
        </figure>
      )}
      <section aria-labelledby="job-detail-timeline">
        <h3 id="job-detail-timeline" className="detail__heading">
          Timeline
        </h3>
        <ol className="timeline">
          {jobTimeline(job).map((entry, i) => (
            <TimelineItem key={i} entry={entry} />
          ))}
        </ol>
      </section>
      <section aria-labelledby="job-detail-rights">
        <h3 id="job-detail-rights" className="detail__heading">
          Who can act on it
        </h3>
        <p className="detail__rights">{describeRights(rights)}</p>
        <JobActions job={job} variant="dialog" />
      </section>
    </>
  );
}

function describeRights(rights: JobRights | null): string {
  if (rights?.as === 'creator')
    return 'This device created the job and keeps its control token, so you can cancel, run, retry or delete it. So can an operator.';
  if (rights?.as === 'operator')
    return 'You are signed in as operator: you can act on every job, this one too. So can the device that created it.';
  return 'Only the device that created this job, or an operator signed in, can act on it. Everyone else sees it as you do.';
}

function TimelineItem({ entry }: { entry: TimelineEntry }) {
  switch (entry.kind) {
    case 'created':
      return (
        <li className="timeline__item">
          <span className="timeline__what">Created</span>
          <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
        </li>
      );
    case 'earlier-attempts-dropped':
      return (
        <li className="timeline__item timeline__item--note">
          <span className="timeline__what">Earlier attempts are not kept (a job keeps its last 20).</span>
        </li>
      );
    case 'attempt': {
      const reason = entry.error ? explainError(entry.error).reason : null;
      return (
        <li className={`timeline__item timeline__item--attempt timeline__item--${entry.outcome ?? 'running'}`} data-attempt={entry.number}>
          <span className="timeline__what">Attempt {entry.number}</span>
          <span className="timeline__when">
            started <time dateTime={entry.startedAt}>{formatClock(entry.startedAt)}</time>
            {entry.endedAt && (
              <>
                , ended <time dateTime={entry.endedAt}>{formatClock(entry.endedAt)}</time>
              </>
            )}
          </span>
          <span className="timeline__outcome">{entry.outcome ? OUTCOME_LABEL[entry.outcome] : 'running now: fetching a photo'}</span>
          {reason && <span className="timeline__error">{reason}</span>}
        </li>
      );
    }
    case 'retried':
      return (
        <li className="timeline__item timeline__item--retried">
          <span className="timeline__what">Retried</span>
          <span className="timeline__when">sent back to wait, due at once</span>
        </li>
      );
    case 'waiting':
      return (
        <li className="timeline__item timeline__item--now">
          <span className="timeline__what">Waiting</span>
          <span className="timeline__when">
            due <time dateTime={entry.until}>{formatClock(entry.until)}</time>
          </span>
        </li>
      );
    case 'ended':
      return (
        <li className={`timeline__item timeline__item--end timeline__item--${entry.status}`}>
          <span className="timeline__what">{STATUS_LABEL[entry.status]}</span>
          {entry.at && <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>}
          {entry.status === 'failed' && <span className="timeline__error">{explainError(entry.error).reason}</span>}
        </li>
      );
  }
}
