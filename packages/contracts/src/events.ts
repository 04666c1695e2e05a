import type { Job } from './job.js';

/** The `data:` of each `GET /events` frame; the event names are in constants.ts. */
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
