import { onlineManager, type QueryClient } from '@tanstack/react-query';
import type { CreatedJob } from '@simmer/contracts';
import { ApiError } from '../../../lib/api-client';
import { announce } from '../../../lib/announcer';
import { Outbox } from '../../../lib/outbox';
import { sendCreateJob } from '../api/create-job';
import { LiveUpdates } from '../live/live-updates';
import { KnownJobs } from './known-jobs';
import { MyJobs } from './my-jobs';
import { OperatorSession } from './operator-session';

/** Everything the jobs feature keeps while the page runs. Made once per page load (and per test), never a module singleton. */
export interface JobsRuntime {
  live: LiveUpdates;
  outbox: Outbox<CreatedJob>;
  knownJobs: KnownJobs;
  myJobs: MyJobs;
  operator: OperatorSession;
}

export function createJobsRuntime(
  queryClient: QueryClient,
  { storage = window.localStorage, sessionStorage = window.sessionStorage }: { storage?: Storage; sessionStorage?: Storage } = {},
): JobsRuntime {
  const knownJobs = new KnownJobs();
  const myJobs = new MyJobs(storage);
  const live = new LiveUpdates(queryClient, knownJobs, myJobs);
  const outbox = new Outbox<CreatedJob>({
    storage,
    backoff: { baseMs: 1_000, maxMs: 10_000 },
    send: sendCreateJob,
    onSent: (_entry, created) => {
      // The token stays with "my jobs" on this device; the cached job, like every other answer, has none.
      const { controlToken, ...job } = created;
      myJobs.add(job.id, controlToken);
      live.applyJobs([job]);
    },
    onRejected: (_entry, error) => {
      announce(`The server refused a new job: ${error instanceof ApiError ? error.message : 'unknown error'}.`);
    },
    isOnline: () => onlineManager.isOnline(),
    subscribeOnline: (listener) => onlineManager.subscribe(listener),
  });
  return { live, outbox, knownJobs, myJobs, operator: new OperatorSession(sessionStorage) };
}
