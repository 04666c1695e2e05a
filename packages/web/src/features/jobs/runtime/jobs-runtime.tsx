import { createContext, useContext, useEffect, useSyncExternalStore, type ReactNode } from 'react';
import { OUTBOX_STORAGE_KEY, type OutboxSnapshot } from '../../../lib/outbox';
import type { LiveSnapshot } from '../live/live-updates';
import type { JobsRuntime } from './create-jobs-runtime';
import { MY_JOBS_STORAGE_KEY } from './my-jobs';

const JobsRuntimeContext = createContext<JobsRuntime | null>(null);

/** Hands the runtime to the components below, and runs it (live updates, outbox) while mounted. */
export function JobsRuntimeProvider({ runtime, children }: { runtime: JobsRuntime; children: ReactNode }) {
  return (
    <JobsRuntimeContext.Provider value={runtime}>
      <RuntimeLifecycle runtime={runtime} />
      {children}
    </JobsRuntimeContext.Provider>
  );
}

/** A child before the page's components, so the runtime starts before their effects run. */
function RuntimeLifecycle({ runtime }: { runtime: JobsRuntime }) {
  useEffect(() => {
    runtime.live.start();
    runtime.outbox.start();
    // Another tab changed the shared outbox (sent or queued a job), or marked a job as this browser's.
    const onStorage = (event: StorageEvent) => {
      if (event.key === OUTBOX_STORAGE_KEY) runtime.outbox.reload();
      if (event.key === MY_JOBS_STORAGE_KEY) runtime.myJobs.reload();
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
