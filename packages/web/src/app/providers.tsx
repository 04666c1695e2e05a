import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { isTransient } from '../lib/api-client';
import { backoffDelay } from '@simmer/contracts/backoff';
import type { JobsRuntime } from '../features/jobs/runtime/create-jobs-runtime';
import { JobsRuntimeProvider } from '../features/jobs/runtime/jobs-runtime';
import './providers.css';

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Retry only what can succeed later, with full jitter so a recovering server is not stampeded.
        retry: (failures, error) => isTransient(error) && failures < 4,
        retryDelay: (attempt) => 500 + backoffDelay(attempt, { baseMs: 1_000, maxMs: 15_000 }),
      },
    },
  });
}

export function Providers({ queryClient, runtime, children }: { queryClient: QueryClient; runtime: JobsRuntime; children: ReactNode }) {
  return (
    <ErrorBoundary>
      <QueryClientProvider client={queryClient}>
        <JobsRuntimeProvider runtime={runtime}>{children}</JobsRuntimeProvider>
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
