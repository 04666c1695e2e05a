import { describe, expect, it } from 'vitest';
import type { Attempt, Job } from '@simmer/contracts';
import { ATTEMPTS_KEPT } from '@simmer/contracts/constants';
import { jobTimeline } from './job-timeline';
import { job } from './job-fixtures';

const failure = { code: 'retry_limit_exceeded', message: 'No photo could be had in time.' } as const;
const attempt = (startedAt: string, endedAt: string | null, outcome: Attempt['outcome'], error: Attempt['error'] = null): Attempt => ({
  startedAt,
  endedAt,
  outcome,
  error,
});

describe('jobTimeline', () => {
  it('shows a pending job created and waiting until it is due', () => {
    expect(jobTimeline(job(1))).toEqual([
      { kind: 'created', at: '2026-01-01T00:00:00.000Z' },
      { kind: 'waiting', until: '2026-01-01T00:01:00.000Z' },
    ]);
  });

  it('shows every attempt, a running one open, then how the job ended', () => {
    const failed: Job = {
      ...job(1, 'failed'),
      resolvedAt: '2026-01-01T00:01:09.000Z',
      error: failure,
      attempts: [
        attempt('2026-01-01T00:01:00.000Z', '2026-01-01T00:01:02.000Z', 'given-back'),
        attempt('2026-01-01T00:01:03.000Z', '2026-01-01T00:01:09.000Z', 'failed', failure),
      ],
    };
    expect(jobTimeline(failed).map((entry) => entry.kind)).toEqual(['created', 'attempt', 'attempt', 'ended']);
    expect(jobTimeline(failed).at(-1)).toEqual({ kind: 'ended', status: 'failed', at: '2026-01-01T00:01:09.000Z', error: failure });
    expect(jobTimeline(failed)[2]).toMatchObject({ number: 2, outcome: 'failed', error: failure });

    const running: Job = { ...job(1, 'running'), attempts: [attempt('2026-01-01T00:01:00.000Z', null, null)] };
    expect(jobTimeline(running).at(-1)).toMatchObject({ kind: 'attempt', endedAt: null, outcome: null });
  });

  it('shows a retry between a failed attempt and the next, and on a failed job waiting again', () => {
    const first = attempt('2026-01-01T00:01:00.000Z', '2026-01-01T00:01:02.000Z', 'failed', failure);
    const rerun: Job = {
      ...job(1, 'resolved'),
      attempts: [first, attempt('2026-01-01T00:02:00.000Z', '2026-01-01T00:02:01.000Z', 'resolved')],
    };
    expect(jobTimeline(rerun).map((entry) => entry.kind)).toEqual(['created', 'attempt', 'retried', 'attempt', 'ended']);
    const waitingAgain: Job = { ...job(1, 'pending'), attempts: [first] };
    expect(jobTimeline(waitingAgain).map((entry) => entry.kind)).toEqual(['created', 'attempt', 'retried', 'waiting']);
    // A claim given back waits again by itself: no retry.
    const givenBack: Job = {
      ...job(1, 'pending'),
      attempts: [attempt('2026-01-01T00:01:00.000Z', '2026-01-01T00:01:01.000Z', 'given-back')],
    };
    expect(jobTimeline(givenBack).map((entry) => entry.kind)).toEqual(['created', 'attempt', 'waiting']);
  });

  it('says when older attempts were dropped', () => {
    const many: Job = {
      ...job(1, 'cancelled'),
      attempts: Array.from({ length: ATTEMPTS_KEPT }, () => attempt('2026-01-01T00:01:00.000Z', '2026-01-01T00:01:01.000Z', 'retrying')),
    };
    expect(jobTimeline(many)[1]).toEqual({ kind: 'earlier-attempts-dropped' });
    expect(jobTimeline(many).at(-1)).toMatchObject({ kind: 'ended', status: 'cancelled' });
  });
});
