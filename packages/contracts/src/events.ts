import type { Job } from './job.js';

/**
 * `GET /events` (text/event-stream). Every change is `id: <seq>`, `event: job`, `data: <Job>`;
 * a job removed by retention is `id: <seq>`, `event: removed`, `data: {"id": ...}`.
 * `event: reset` means the requested `Last-Event-ID` cannot be replayed: reload the list.
 * `event: ready` is sent once a stream has replayed everything after its resume point.
 */
export const EVENT_JOB = 'job';
export const EVENT_REMOVED = 'removed';
export const EVENT_RESET = 'reset';
export const EVENT_READY = 'ready';

export interface JobEvent {
  seq: number;
  job: Job;
}

export interface RemovedEvent {
  id: string;
}

export interface ResetEvent {
  lastSeq: number;
  reason: string;
}
