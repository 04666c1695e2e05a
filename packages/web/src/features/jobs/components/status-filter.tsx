import type { JobCounts } from '@simmer/contracts';
import { JOB_STATUSES, type JobStatus } from '@simmer/contracts/constants';
import { countAll, STATUS_LABEL } from '../job-status';
import './status-tone.css';
import './status-filter.css';

export type Filter = JobStatus | null;

const OPTIONS: readonly { value: Filter; label: string }[] = [
  { value: null, label: 'All' },
  ...JOB_STATUSES.map((status) => ({ value: status, label: STATUS_LABEL[status] })),
];

/** The filter by status, which also shows the count of each (from /stats). */
export function StatusFilter({
  value,
  counts,
  onChange,
}: {
  value: Filter;
  counts: JobCounts | undefined;
  onChange: (filter: Filter) => void;
}) {
  const total = counts ? countAll(counts) : undefined;
  return (
    <div className="filter" role="group" aria-label="Show jobs by status">
      {OPTIONS.map((option) => {
        const count = option.value === null ? total : counts?.[option.value];
        return (
          <button
            key={option.label}
            type="button"
            className={`filter__option filter__option--${option.value ?? 'all'}`}
            aria-pressed={value === option.value}
            onClick={() => onChange(option.value)}
          >
            <span className="filter__dot" aria-hidden="true" />
            {option.label}
            <span className="filter__count">{count === undefined ? '–' : count.toLocaleString()}</span>
          </button>
        );
      })}
    </div>
  );
}
