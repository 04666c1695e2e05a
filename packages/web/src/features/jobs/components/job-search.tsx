import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../../../lib/api-client';
import { shortId } from '../../../lib/format';
import { useFindJobs } from '../api/find-jobs';
import { jobHref, showJobDetail } from '../job-address';
import { toJobQuery } from '../job-query';
import { STATUS_LABEL } from '../job-status';
import './job-search.css';

/**
 * "Find a job": a full id, or the short id a card shows (`#a1b2c3`). The server looks it up
 * (`GET /jobs?q=`), so it finds a job whose card is not loaded, on any page and under any filter;
 * one match opens its detail, several (short ids can repeat) are listed to choose from.
 */
export function JobSearch() {
  const [text, setText] = useState('');
  const [query, setQuery] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const found = useFindJobs(query);

  // One match: open it, once per search.
  const { data, isSuccess, dataUpdatedAt } = found;
  useEffect(() => {
    if (isSuccess && data.length === 1) showJobDetail(data[0]!.id);
  }, [isSuccess, data, dataUpdatedAt]);

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const next = toJobQuery(text);
    if (next === null) {
      setQuery(null);
      setProblem(text.trim() === '' ? null : 'Type a job’s id, or the six characters after # on its card.');
      return;
    }
    setProblem(null);
    setQuery(next);
    // The same search again asks the server again.
    if (next === query) void found.refetch();
  }

  let status: string | null = problem;
  if (!status && query !== null) {
    if (found.isFetching) status = 'Looking…';
    else if (found.isError)
      status =
        found.error instanceof ApiError
          ? `The server refused the search: ${found.error.message}`
          : 'The server could not be reached; try again.';
    else if (data?.length === 0) status = `No job ${query.length > 6 ? query : `#${query}`}: it may have been deleted or removed.`;
    else if (data && data.length > 1) status = `${data.length} jobs end in ${query}:`;
  }

  return (
    <div className="job-search">
      <form role="search" className="job-search__form" onSubmit={onSubmit}>
        <svg viewBox="0 0 24 24" className="job-search__icon" aria-hidden="true">
          <circle cx="11" cy="11" r="6" />
          <path d="m20 20-4.5-4.5" />
        </svg>
        <input
          type="search"
          className="job-search__input"
          aria-label="Find a job"
          placeholder="Find a job: #a1b2c3"
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            if (event.target.value === '') {
              setQuery(null);
              setProblem(null);
            }
          }}
          spellCheck={false}
          autoComplete="off"
        />
        <button type="submit" className="job-search__submit">
          Find
        </button>
      </form>
      <div className="job-search__status" role="status">
        {status}
        {!problem && !found.isFetching && data && data.length > 1 && (
          <ul className="job-search__matches">
            {data.map((job) => (
              <li key={job.id}>
                <a
                  href={jobHref(job.id)}
                  onClick={(event) => {
                    event.preventDefault();
                    showJobDetail(job.id);
                  }}
                >
                  #{shortId(job.id)} · {STATUS_LABEL[job.status]} · <span className="job-search__id">{job.id}</span>
                </a>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
