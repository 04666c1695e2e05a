import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { Job } from '@simmer/contracts';
import type { Outbox, OutboxSnapshot } from '../../lib/outbox';
import type { LiveSnapshot, LiveUpdates } from './live/live-updates';

export interface JobsRuntime {
  live: LiveUpdates;
  outbox: Outbox<Job>;
}

const JobsRuntimeContext = createContext<JobsRuntime | null>(null);

export function JobsRuntimeProvider({ runtime, children }: { runtime: JobsRuntime; children: ReactNode }) {
  return <JobsRuntimeContext.Provider value={runtime}>{children}</JobsRuntimeContext.Provider>;
}

export function useJobsRuntime(): JobsRuntime {
  const runtime = useContext(JobsRuntimeContext);
  if (!runtime) throw new Error('useJobsRuntime: no JobsRuntimeProvider above this component');
  return runtime;
}

export function useLiveStatus(): LiveSnapshot {
  const { live } = useJobsRuntime();
  return useSyncExternalStore(live.subscribe, live.getSnapshot);
}

export function useOutbox(): OutboxSnapshot {
  const { outbox } = useJobsRuntime();
  return useSyncExternalStore(outbox.subscribe, outbox.getSnapshot);
}
