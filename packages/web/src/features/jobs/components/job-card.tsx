import { memo, useCallback, useEffect, useState, type ReactNode } from 'react';
import type { Job, JobError } from '@simmer/contracts';
import { backoffDelay } from '@simmer/contracts/backoff';
import { describeDuration, formatAgo, formatClock, formatCountdown, shortId } from '../../../lib/format';
import { useNow } from '../../../lib/use-now';
import type { OutboxEntry } from '../../../lib/outbox';
import { jobHref, showJobDetail } from '../job-address';
import { explainError } from '../job-errors';
import { STATUS_LABEL } from '../job-status';
import { useOutbox } from '../runtime/jobs-runtime';
import { BlurhashCanvas } from './blurhash-canvas';
import { JobActions } from './job-actions';
import { PhotoCredit } from './photo-credit';
import './status-tone.css';
import './job-card.css';
import './job-card-pending.css';
import './job-card-running.css';
import './job-card-resolved.css';
import './job-card-failed.css';
import './job-card-cancelled.css';
import './job-card-queued.css';

export interface JobCardProps {
  job: Job;
  mine: boolean;
  /** Rendered width, so the browser picks the right `srcset` candidate. */
  width: number;
  position: number;
  setSize: number;
  onOpen: (job: Job) => void;
}

export const JobCard = memo(function JobCard({ job, mine, width, position, setSize, onOpen }: JobCardProps) {
  const titleId = `job-${job.id}`;
  const color = job.result?.photo.color ?? undefined;
  return (
    <article
      className={`card card--${job.status}`}
      aria-labelledby={titleId}
      aria-posinset={position}
      aria-setsize={setSize}
      data-job-id={job.id}
      data-status={job.status}
    >
      <div className="card__media" style={color ? { backgroundColor: color } : undefined}>
        {job.status === 'pending' && <PendingMedia job={job} />}
        {job.status === 'running' && <RunningMedia />}
        {job.status === 'resolved' && job.result && <ResolvedMedia job={job} width={width} onOpen={onOpen} />}
        {job.status === 'failed' && <FailedMedia error={job.error} />}
        {job.status === 'cancelled' && <CancelledMedia job={job} />}
      </div>
      <div className="card__body">
        <p className="card__title">
          {job.status !== 'resolved' && <span className={`pill pill--${job.status}`}>{STATUS_LABEL[job.status]}</span>}
          {job.status === 'resolved' && job.result ? (
            <DetailLink job={job} id={titleId} className="card__caption">
              <span className="visually-hidden">Resolved job #{shortId(job.id)}: </span>
              {caption(job)}
            </DetailLink>
          ) : (
            <DetailLink job={job} id={titleId} className="card__name">
              <span className="visually-hidden">{STATUS_LABEL[job.status]} job </span>
              <span aria-hidden="true">#</span>
              {shortId(job.id)}
            </DetailLink>
          )}
          {mine && <span className="tag">yours</span>}
        </p>
        <CardMeta job={job} />
      </div>
      <JobActions job={job} variant="card" />
    </article>
  );
});

/** The card's name is the way to its detail (timeline, attempts, who may act): a real link, to `/?job=<id>`. */
function DetailLink({ job, id, className, children }: { job: Job; id: string; className: string; children: ReactNode }) {
  return (
    <a
      id={id}
      className={`${className} card__link`}
      href={jobHref(job.id)}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        showJobDetail(job.id);
      }}
    >
      {children}
    </a>
  );
}

/** The photo's description; the "(demo image)" some demo descriptions end with is already on the badge. */
function caption(job: Job): string {
  const description = job.result?.photo.description ?? 'A food photo';
  return job.result?.source === 'demo' ? description.replace(/\s*\(demo image\)\s*$/i, '') : description;
}

function CardMeta({ job }: { job: Job }) {
  if (job.status === 'resolved' && job.result) return <PhotoCredit result={job.result} className="card__meta" compact />;
  if (job.status === 'failed')
    return <p className="card__meta">{job.resolvedAt ? `Gave up at ${formatClock(job.resolvedAt)}` : 'Gave up'}</p>;
  if (job.status === 'cancelled')
    return <p className="card__meta">{job.resolvedAt ? `Cancelled at ${formatClock(job.resolvedAt)}` : 'Cancelled'}</p>;
  if (job.status === 'running') return <p className="card__meta">Due at {formatClock(job.runAt)}</p>;
  return <CreatedAgo job={job} />;
}

function CreatedAgo({ job }: { job: Job }) {
  const now = useNow();
  return (
    <p className="card__meta">
      Created {formatAgo(job.createdAt, now)} · due {formatClock(job.runAt)}
    </p>
  );
}

function PendingMedia({ job }: { job: Job }) {
  const now = useNow();
  const start = Date.parse(job.createdAt);
  const end = Date.parse(job.runAt);
  const left = Math.max(0, end - now);
  const fraction = end > start ? Math.min(1, Math.max(0, (now - start) / (end - start))) : 1;
  const percent = Math.round(fraction * 100);
  return (
    <div className="card__pane pending">
      <Bubbles />
      {left > 0 ? (
        <>
          <span className="pending__label">Served in</span>
          <span className="pending__countdown" aria-label={describeDuration(left)}>
            {formatCountdown(left)}
          </span>
        </>
      ) : (
        <>
          <span className="pending__label">Due now</span>
          <span className="pending__countdown pending__countdown--soon">any moment</span>
        </>
      )}
      <div
        className="progress"
        role="progressbar"
        aria-label={`Job #${shortId(job.id)} waiting`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={left > 0 ? `${describeDuration(left)} left` : 'due now'}
      >
        <div className="progress__bar" style={{ transform: `scaleX(${fraction})` }} />
      </div>
    </div>
  );
}

function Bubbles() {
  return (
    <div className="bubbles" aria-hidden="true">
      <span />
      <span />
      <span />
      <span />
      <span />
    </div>
  );
}

function RunningMedia() {
  return (
    <div className="card__pane running">
      <svg className="running__pot" viewBox="0 0 64 64" aria-hidden="true">
        <path className="steam" d="M24 22c-3-4 3-6 0-11M32 22c-3-4 3-6 0-11M40 22c-3-4 3-6 0-11" />
        <rect x="10" y="28" width="44" height="6" rx="3" className="pot-lid" />
        <path d="M14 32h36v6a12 12 0 0 1-12 12H26a12 12 0 0 1-12-12z" className="pot-body" />
      </svg>
      <span className="running__label">Plating your photo…</span>
    </div>
  );
}

function ResolvedMedia({ job, width, onOpen }: { job: Job; width: number; onOpen: (job: Job) => void }) {
  const photo = job.result!.photo;
  const [loaded, setLoaded] = useState(false);
  const attempt = useImageRetry(loaded);
  const imageRef = useCallback((img: HTMLImageElement | null) => {
    // Cached images (a card scrolled back into view) are complete before React attaches onLoad.
    if (img?.complete && img.naturalWidth > 0) setLoaded(true);
  }, []);
  const alt = photo.description ?? `Food photo by ${photo.author.name}`;
  return (
    <button type="button" className="photo-button" onClick={() => onOpen(job)} aria-label={`View larger: ${alt}`}>
      {photo.blurHash && <BlurhashCanvas hash={photo.blurHash} className="photo__blur" />}
      <img
        key={attempt.count}
        ref={imageRef}
        className={loaded ? 'photo__img is-loaded' : 'photo__img'}
        src={photo.urls.small}
        srcSet={`${photo.urls.thumb} 200w, ${photo.urls.small} 400w, ${photo.urls.regular} 1080w`}
        sizes={`${Math.max(200, Math.round(width))}px`}
        alt=""
        loading="lazy"
        decoding="async"
        onLoad={() => setLoaded(true)}
        onError={attempt.failed}
      />
      {job.result!.source === 'demo' && <span className="badge">demo image</span>}
    </button>
  );
}

/**
 * An <img> that failed (connection reset, offline) never tries again by itself. Remount it after a
 * backoff with full jitter, and at once when the browser comes back online; the blur-hash stays meanwhile.
 */
function useImageRetry(loaded: boolean): { count: number; failed: () => void } {
  const [count, setCount] = useState(0);
  const [waiting, setWaiting] = useState(false);
  useEffect(() => {
    if (!waiting || loaded) return;
    const retry = () => {
      setWaiting(false);
      setCount((n) => n + 1);
    };
    const timer = setTimeout(retry, 500 + backoffDelay(count, { baseMs: 1_000, maxMs: 20_000 }));
    window.addEventListener('online', retry);
    return () => {
      clearTimeout(timer);
      window.removeEventListener('online', retry);
    };
  }, [waiting, loaded, count]);
  return { count, failed: useCallback(() => setWaiting(true), []) };
}

function FailedMedia({ error }: { error: JobError | null }) {
  const { reason, hint } = explainError(error);
  return (
    <div className="card__pane failed">
      <svg viewBox="0 0 24 24" className="failed__icon" aria-hidden="true">
        <path d="M12 3 2 21h20L12 3Zm0 6v5m0 3v.5" />
      </svg>
      <p className="failed__title">No photo this time</p>
      <p className="failed__reason" title={reason}>
        {reason}
      </p>
      {hint && <p className="failed__hint">{hint}</p>}
    </div>
  );
}

function CancelledMedia({ job }: { job: Job }) {
  const stoppedRunning = job.attempts.at(-1)?.outcome === 'cancelled';
  return (
    <div className="card__pane cancelled">
      <svg viewBox="0 0 24 24" className="cancelled__icon" aria-hidden="true">
        <circle cx="12" cy="12" r="9" />
        <path d="M5.6 18.4 18.4 5.6" />
      </svg>
      <p className="cancelled__title">Cancelled</p>
      <p className="cancelled__detail">{stoppedRunning ? 'Stopped while it was fetching its photo.' : 'Stopped before it ran.'}</p>
    </div>
  );
}

export function QueuedCard({
  entry,
  sending,
  online,
  position,
  setSize,
}: {
  entry: OutboxEntry;
  sending: boolean;
  online: boolean;
  position: number;
  setSize: number;
}) {
  // Every queued press waits while the server asks us to (429/503 with Retry-After).
  const { busyUntil } = useOutbox();
  const busy = online && !sending && busyUntil !== null;
  const label = sending ? 'Sending' : busy ? 'Waiting' : 'Queued';
  const detail = !online
    ? 'Offline: saved on this device, it will be sent when you are back online.'
    : sending
      ? 'Handing it to the kitchen…'
      : busy
        ? `The server is busy; it tries again at ${formatClock(busyUntil)}. Your press is kept.`
        : entry.attempts > 0
          ? `Could not reach the server (${entry.attempts} ${entry.attempts === 1 ? 'try' : 'tries'}); trying again shortly.`
          : 'Waiting to be sent.';
  return (
    <article
      className="card card--queued"
      aria-label={`${label} job`}
      aria-posinset={position}
      aria-setsize={setSize}
      data-outbox-key={entry.key}
      data-busy={busy ? 'true' : undefined}
    >
      <div className="card__media">
        <div className="card__pane queued">
          <svg viewBox="0 0 24 24" className="queued__icon" aria-hidden="true">
            <path d="M4 13h4l2 3h4l2-3h4M6 5h12l2 8v6H4v-6l2-8Z" />
          </svg>
          <p className="queued__detail">{detail}</p>
        </div>
      </div>
      <div className="card__body">
        <p className="card__title">
          <span className="pill pill--queued">{label}</span>
          <span className="card__name">new job</span>
          <span className="tag">yours</span>
        </p>
        <p className="card__meta">Pressed at {formatClock(entry.createdAt)}</p>
      </div>
    </article>
  );
}
