import type { JobStatus } from '@simmer/contracts/constants';
import type { Filter } from './status-filter';
import { NewJobButton } from './new-job-button';
import './empty-state.css';

export function EmptyState({ filter, onShowAll }: { filter: Filter; onShowAll: () => void }) {
  if (filter) {
    return (
      <section className="empty" aria-labelledby="empty-title">
        <h2 id="empty-title" className="empty__title">
          No {filter} jobs
        </h2>
        <p className="empty__text">{FILTERED_HINT[filter]}</p>
        <button type="button" className="button button--ghost" onClick={onShowAll}>
          Show all jobs
        </button>
      </section>
    );
  }
  return (
    <section className="empty" aria-labelledby="empty-title">
      <svg className="empty__art" viewBox="0 0 120 90" aria-hidden="true">
        <path className="empty__steam" d="M46 30c-5-7 5-10 0-18M60 30c-5-7 5-10 0-18M74 30c-5-7 5-10 0-18" />
        <ellipse className="empty__rim" cx="60" cy="44" rx="46" ry="8" />
        <path className="empty__bowl" d="M14 44h92c0 22-20 36-46 36S14 66 14 44Z" />
      </svg>
      <h2 id="empty-title" className="empty__title">
        Nothing is simmering yet
      </h2>
      <p className="empty__text">
        Press <strong>New job</strong>. Each job waits a little while (a few seconds to five minutes), then serves a food photo right here,
        live.
      </p>
      <NewJobButton />
    </section>
  );
}

const FILTERED_HINT = {
  pending: 'Every job has started. New jobs wait here until they are due.',
  running: 'Nothing is fetching a photo right now.',
  resolved: 'No photos yet. They appear here as jobs finish.',
  failed: 'Nothing has failed. Jobs that cannot get a photo show up here with the reason.',
  cancelled: 'Nothing has been cancelled. A job cancelled from its card, by the device that made it or an operator, shows up here.',
} as const satisfies Record<JobStatus, string>;
