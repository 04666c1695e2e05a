import { QueryClient, QueryClientProvider, onlineManager } from '@tanstack/react-query';
import { Component, useEffect, type ErrorInfo, type ReactNode } from 'react';
import type { Job } from '@simmer/contracts';
import { ApiError, isTransient } from '../lib/api-client';
import { announce } from '../lib/announcer';
import { fullJitterDelay } from '../lib/backoff';
import { Outbox, OUTBOX_STORAGE_KEY } from '../lib/outbox';
import { sendCreateJob } from '../features/jobs/api/create-job';
import { myJobs } from '../features/jobs/api/my-jobs';
import { LiveUpdates } from '../features/jobs/live/live-updates';
import { JobsRuntimeProvider, type JobsRuntime } from '../features/jobs/jobs-runtime';

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Retry only what can succeed later, with full jitter so a recovering server is not stampeded.
        retry: (failures, error) => isTransient(error) && failures < 4,
        retryDelay: (attempt) => 500 + fullJitterDelay(attempt, { baseMs: 1_000, capMs: 15_000 }),
      },
    },
  });
}

export function createJobsRuntime(queryClient: QueryClient): JobsRuntime {
  const live = new LiveUpdates(queryClient);
  const outbox = new Outbox<Job>({
    storage: window.localStorage,
    backoff: { baseMs: 1_000, capMs: 10_000 },
    send: sendCreateJob,
    onSent: (_entry, job) => {
      myJobs.add(job.id);
      live.applyJobs([job]);
    },
    onRejected: (_entry, error) => {
      announce(`The server refused a new job: ${error instanceof ApiError ? error.message : 'unknown error'}.`);
    },
    isOnline: () => onlineManager.isOnline(),
    subscribeOnline: (listener) => onlineManager.subscribe(listener),
  });
  return { live, outbox };
}

function RuntimeLifecycle({ runtime }: { runtime: JobsRuntime }) {
  useEffect(() => {
    runtime.live.start();
    runtime.outbox.start();
    // Another tab changed the shared outbox (sent or queued a job).
    const onStorage = (event: StorageEvent) => {
      if (event.key === OUTBOX_STORAGE_KEY) runtime.outbox.reload();
    };
    window.addEventListener('storage', onStorage);
    return () => {
      window.removeEventListener('storage', onStorage);
      runtime.outbox.stop();
      runtime.live.stop();
    };
  }, [runtime]);
  return null;
}

export function Providers({ queryClient, runtime, children }: { queryClient: QueryClient; runtime: JobsRuntime; children: ReactNode }) {
  return (
    <ErrorBoundary>
      <QueryClientProvider client={queryClient}>
        <JobsRuntimeProvider runtime={runtime}>
          <RuntimeLifecycle runtime={runtime} />
          {children}
        </JobsRuntimeProvider>
      </QueryClientProvider>
    </ErrorBoundary>
  );
}

class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('Simmer page crashed', error, info.componentStack);
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <main className="page crashed">
        <h1>Something went wrong on this page</h1>
        <p>Your jobs are safe on the server, and unsent ones are kept on this device. Reload to continue.</p>
        <button type="button" className="button button--primary" onClick={() => window.location.reload()}>
          Reload
        </button>
      </main>
    );
  }
}
