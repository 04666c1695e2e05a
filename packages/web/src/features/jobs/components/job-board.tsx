import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Job } from '@simmer/contracts';
import { announce } from '../../../lib/announcer';
import { useStats } from '../api/get-stats';
import { useJobsList } from '../api/list-jobs';
import { countAll, isJobStatus } from '../job-status';
import { useJobsRuntime, useLiveStatus, useOutbox } from '../runtime/jobs-runtime';
import { ConnectionIndicator } from './connection-indicator';
import { DemoNotice } from './demo-notice';
import { EmptyState } from './empty-state';
import { JobDetailDialog } from './job-detail-dialog';
import { JobGrid, type GridItem } from './job-grid';
import { JobSearch } from './job-search';
import { NewJobButton } from './new-job-button';
import { NewJobsControl } from './new-jobs-control';
import { OperatorSignIn } from './operator-sign-in';
import { PhotoDialog } from './photo-dialog';
import { StatusFilter, type Filter } from './status-filter';
import { useNewJobsHold } from './use-new-jobs-hold';
import './job-board.css';

/** The page: header (with the operator sign-in), notices, the status filter with counts, the search, the live grid of jobs, and a job's detail. */
export function JobBoard() {
  const [filter, setFilter] = useFilterInUrl();
  const live = useLiveStatus();
  const outbox = useOutbox();
  const stats = useStats(live.polling);
  const list = useJobsList(filter, live.baselineReady);
  const [openJob, setOpenJob] = useState<Job | null>(null);

  const items = useMemo<GridItem[]>(() => {
    const out: GridItem[] = [];
    if (filter === null || filter === 'pending') {
      // Newest press first, like the jobs below.
      for (const entry of [...outbox.entries].reverse()) out.push({ kind: 'queued', entry });
    }
    const seen = new Set<string>();
    for (const page of list.data?.pages ?? []) {
      for (const job of page.jobs) {
        if (seen.has(job.id)) continue;
        seen.add(job.id);
        out.push({ kind: 'job', job });
      }
    }
    return out;
  }, [filter, outbox.entries, list.data]);

  // Others' new jobs wait behind "N new jobs" while the reader is scrolled down; their own show at once.
  const { myJobs } = useJobsRuntime();
  const isMine = useCallback((id: string) => myJobs.has(id), [myJobs]);
  const hold = useNewJobsHold(items, isMine, outbox.pressedKey);
  const { showNew } = hold;
  const showHeld = useCallback(() => {
    showNew();
    // The control goes away with the jobs it held: keep keyboard focus on the board, at its top.
    document.getElementById('jobs')?.focus({ preventScroll: true });
  }, [showNew]);

  const counts = stats.data?.counts;
  const total = counts ? (filter ? counts[filter] : countAll(counts)) + outbox.entries.length : -1;

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = list;
  const loadMore = useCallback(() => {
    void fetchNextPage();
  }, [fetchNextPage]);

  // A list that failed to load while the server was away loads again as soon as the stream is back.
  const { isError, refetch } = list;
  useEffect(() => {
    if (live.stream.status === 'live' && isError) void refetch();
  }, [live.stream.status, isError, refetch]);

  // Summaries for screen readers: what a filter change shows, not every card.
  const announced = useRef<Filter | undefined>(undefined);
  useEffect(() => {
    if (list.isSuccess && counts && announced.current !== filter) {
      const first = announced.current === undefined;
      announced.current = filter;
      if (first) return;
      const n = filter ? counts[filter] : countAll(counts);
      announce(`Showing ${n.toLocaleString()} ${filter ?? ''} job${n === 1 ? '' : 's'}.`.replace('  ', ' '));
    }
  }, [filter, list.isSuccess, counts]);

  const loading = items.length === 0 && (list.isPending || !live.baselineReady) && !list.isError;
  const failedToLoad = items.length === 0 && list.isError;

  return (
    <>
      <a className="skip-link" href="#jobs">
        Skip to jobs
      </a>
      <header className="masthead">
        <div className="masthead__inner">
          <div className="brand">
            <svg className="brand__mark" viewBox="0 0 64 64" aria-hidden="true">
              <rect width="64" height="64" rx="16" className="brand__tile" />
              <path d="M14 34h36v6a12 12 0 0 1-12 12H26a12 12 0 0 1-12-12z" className="brand__pot" />
              <rect x="10" y="30" width="44" height="6" rx="3" className="brand__lid" />
              <path d="M24 24c-3-4 3-6 0-11M32 24c-3-4 3-6 0-11M40 24c-3-4 3-6 0-11" className="brand__steam" />
            </svg>
            <div>
              <h1 className="brand__name">Simmer</h1>
              <p className="brand__tagline">Delayed jobs, each served with a food photo.</p>
            </div>
          </div>
          <div className="masthead__actions">
            <ConnectionIndicator />
            <NewJobButton />
            <OperatorSignIn />
          </div>
        </div>
      </header>
      <main id="jobs" className="page" tabIndex={-1}>
        {stats.data?.imageSource === 'demo' && <DemoNotice />}
        <div className="toolbar">
          <h2 className="toolbar__title">Jobs</h2>
          <StatusFilter value={filter} counts={counts} onChange={setFilter} />
          <JobSearch />
        </div>
        {loading && <SkeletonGrid />}
        {failedToLoad && (
          <section className="empty empty--error" aria-labelledby="error-title">
            <h2 id="error-title" className="empty__title">
              Can't reach the kitchen
            </h2>
            <p className="empty__text">
              The server did not answer. Jobs show up here as soon as it does; new jobs you create meanwhile wait on this device.
            </p>
            <button type="button" className="button button--ghost" onClick={() => void refetch()}>
              Try again
            </button>
          </section>
        )}
        {!loading && !failedToLoad && items.length === 0 && list.isSuccess && (
          <EmptyState filter={filter} onShowAll={() => setFilter(null)} />
        )}
        {items.length > 0 && (
          <JobGrid
            items={hold.shown}
            sendingKey={outbox.sendingKey}
            online={live.online}
            hasMore={hasNextPage}
            loadingMore={isFetchingNextPage}
            onLoadMore={loadMore}
            onOpen={setOpenJob}
            total={total}
          />
        )}
        {hold.held > 0 && <NewJobsControl count={hold.held} onShow={showHeld} />}
        {isFetchingNextPage && (
          <p className="loading-more" role="status">
            Loading older jobs…
          </p>
        )}
      </main>
      <PhotoDialog job={openJob} onClose={() => setOpenJob(null)} />
      <JobDetailDialog />
    </>
  );
}

function SkeletonGrid() {
  return (
    <div className="skeleton" aria-hidden="true">
      {Array.from({ length: 6 }, (_, i) => (
        <div key={i} className="skeleton__card" />
      ))}
    </div>
  );
}

function readFilter(): Filter {
  const value = new URLSearchParams(window.location.search).get('status');
  return isJobStatus(value) ? value : null;
}

/** The filter lives in the address (`?status=failed`), so a reload or a shared link keeps it. */
function useFilterInUrl(): [Filter, (filter: Filter) => void] {
  const [filter, setFilterState] = useState<Filter>(readFilter);
  useEffect(() => {
    const onPop = () => setFilterState(readFilter());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const setFilter = useCallback((next: Filter) => {
    const url = new URL(window.location.href);
    if (next) url.searchParams.set('status', next);
    else url.searchParams.delete('status');
    window.history.replaceState(null, '', url);
    setFilterState(next);
  }, []);
  return [filter, setFilter];
}
