import type { Job } from '@simmer/contracts';
import { JOB_STATUSES, JOB_TRANSITIONS, type JobStatus } from '@simmer/contracts/constants';

/**
 * For each status, the statuses a job can reach from it without a new attempt: the state machine's
 * moves that do not pass through `running` (cancel a pending job, retry a failed or cancelled one),
 * followed as far as they go. A job that runs again records a new attempt, which rule 1 below orders.
 */
const REACHABLE_WITHOUT_AN_ATTEMPT: ReadonlyMap<JobStatus, ReadonlySet<JobStatus>> = new Map(
  JOB_STATUSES.map((from) => {
    const reached = new Set<JobStatus>([from]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [a, b] of JOB_TRANSITIONS) {
        if (a === 'running' || b === 'running' || !reached.has(a) || reached.has(b)) continue;
        reached.add(b);
        grew = true;
      }
    }
    return [from, reached];
  }),
);

/** Waiting, running, ended: the one-way order of a single run. */
const STAGE: Readonly<Record<JobStatus, number>> = { pending: 0, running: 1, resolved: 2, failed: 2, cancelled: 2 };

/**
 * Of two views of the same job, the later one. Views arrive out of order (a list page fetched
 * before an event, an action's answer after the stream's next change, a replay that sends only a
 * job's latest change), and a job's status is not one-way (a retry takes `failed` back to
 * `pending`), so the order comes from the job itself:
 * 1. the view whose newest attempt started later is later (every claim records an attempt);
 * 2. for the same newest attempt, a view where it has ended is later than one where it still runs;
 * 3. otherwise the incoming view is later when the job can get from the current status to it
 *    without running again: a cancel, a retry, a retry then a cancel (a view older than an attempt
 *    already lost at rule 1); or when it is a later stage (waiting, running, ended), as views of a
 *    job recorded before attempts were (no attempts at all) can only be ordered. Nothing follows
 *    `resolved`.
 */
export function furtherAlong(current: Job, incoming: Job): Job {
  const currentLast = current.attempts.at(-1);
  const incomingLast = incoming.attempts.at(-1);
  const currentStart = currentLast ? Date.parse(currentLast.startedAt) : -Infinity;
  const incomingStart = incomingLast ? Date.parse(incomingLast.startedAt) : -Infinity;
  if (currentStart !== incomingStart) return incomingStart > currentStart ? incoming : current;
  const currentRuns = currentLast?.endedAt === null;
  const incomingRuns = incomingLast?.endedAt === null;
  if (currentRuns !== incomingRuns) return currentRuns ? incoming : current;
  const reachable = REACHABLE_WITHOUT_AN_ATTEMPT.get(current.status)?.has(incoming.status) ?? false;
  return reachable || STAGE[incoming.status] > STAGE[current.status] ? incoming : current;
}
