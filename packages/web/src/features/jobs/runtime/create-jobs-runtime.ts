import { onlineManager, type QueryClient } from '@tanstack/react-query';
import type { Job } from '@simmer/contracts';
import { ApiError } from '../../../lib/api-client';
import { announce } from '../../../lib/announcer';
import { Outbox } from '../../../lib/outbox';
import { sendCreateJob } from '../api/create-job';
import { LiveUpdates } from '../live/live-updates';
import { KnownJobs } from './known-jobs';
import { MyJobs } from './my-jobs';

/** Everything the jobs feature keeps while the page runs. Made once per page load (and per test), never a module singleton. */
export interface JobsRuntime {
  live: LiveUpdates;
  outbox: Outbox<Job>;
  knownJobs: KnownJobs;
  myJobs: MyJobs;
}

export function createJobsRuntime(queryClient: QueryClient, { storage = window.localStorage }: { storage?: Storage } = {}): JobsRuntime {
  const knownJobs = new KnownJobs();
  const myJobs = new MyJobs(storage);
  const live = new LiveUpdates(queryClient, knownJobs, myJobs);
  const outbox = new Outbox<Job>({
    storage,
    backoff: { baseMs: 1_000, maxMs: 10_000 },
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
  return { live, outbox, knownJobs, myJobs };
}
