import { describe, expect, it } from 'vitest';
import type { Attempt, Job } from '@simmer/contracts';
import { furtherAlong } from './job-progress';
import { job } from './job-fixtures';

const at = (second: number) => `2026-01-01T00:01:${String(second).padStart(2, '0')}.000Z`;
const attempt = (start: number, end: number | null, outcome: Attempt['outcome'] = end === null ? null : 'resolved'): Attempt => ({
  startedAt: at(start),
  endedAt: end === null ? null : at(end),
  outcome,
  error: null,
});
const view = (status: Job['status'], ...attempts: Attempt[]): Job => ({ ...job(1, status), attempts });

describe('furtherAlong', () => {
  it('follows the state machine forward and never moves a settled job back to an earlier view', () => {
    const pending = view('pending');
    const running = view('running', attempt(1, null));
    const resolved = view('resolved', attempt(1, 4));
    expect(furtherAlong(pending, running)).toBe(running);
    expect(furtherAlong(running, resolved)).toBe(resolved);
    expect(furtherAlong(resolved, running)).toBe(resolved);
    expect(furtherAlong(resolved, pending)).toBe(resolved);
    expect(furtherAlong(running, pending)).toBe(running);
  });

  it('takes a retry (failed or cancelled back to pending) and the attempt after it', () => {
    const failed = view('failed', attempt(1, 3, 'failed'));
    const retried = view('pending', attempt(1, 3, 'failed'));
    expect(furtherAlong(failed, retried)).toBe(retried);
    const cancelled = view('cancelled');
    expect(furtherAlong(cancelled, view('pending'))).toEqual(view('pending'));
    const rerun = view('resolved', attempt(1, 3, 'failed'), attempt(9, 12));
    expect(furtherAlong(rerun, retried)).toBe(rerun);
    expect(furtherAlong(rerun, failed)).toBe(rerun);
  });

  it('takes a cancel after a retry whose pending view it never saw (a replay sends the latest change only)', () => {
    const failed = view('failed', attempt(1, 3, 'failed'));
    const cancelled = view('cancelled', attempt(1, 3, 'failed'));
    expect(furtherAlong(failed, cancelled)).toBe(cancelled);
    expect(furtherAlong(cancelled, failed)).toBe(cancelled);
  });

  it('takes a settled view over a pending one whose running view it never saw', () => {
    const resolved = view('resolved', attempt(1, 4));
    expect(furtherAlong(view('pending'), resolved)).toBe(resolved);
  });

  it('takes a cancel from pending or running, and keeps it over the running view of the same attempt', () => {
    const running = view('running', attempt(1, null));
    const cancelled = view('cancelled', attempt(1, 2, 'cancelled'));
    expect(furtherAlong(running, cancelled)).toBe(cancelled);
    expect(furtherAlong(cancelled, running)).toBe(cancelled);
    expect(furtherAlong(view('pending'), view('cancelled'))).toEqual(view('cancelled'));
  });

  it('orders a claim given back and taken again by its attempts', () => {
    const givenBack = view('pending', attempt(1, 2, 'given-back'));
    const again = view('running', attempt(1, 2, 'given-back'), attempt(5, null));
    expect(furtherAlong(view('running', attempt(1, null)), givenBack)).toBe(givenBack);
    expect(furtherAlong(givenBack, again)).toBe(again);
    expect(furtherAlong(again, givenBack)).toBe(again);
  });

  it('orders views without any attempts (a job recorded before attempts were) by the stages of one run', () => {
    const pending = view('pending');
    const running = view('running');
    const resolved = view('resolved');
    expect(furtherAlong(pending, running)).toBe(running);
    expect(furtherAlong(running, resolved)).toBe(resolved);
    expect(furtherAlong(pending, resolved)).toBe(resolved);
    expect(furtherAlong(resolved, running)).toBe(resolved);
    expect(furtherAlong(running, pending)).toBe(running);
    expect(furtherAlong(view('failed'), pending)).toBe(pending);
  });

  it('lets the incoming view win between two views of the same status', () => {
    const a = view('pending');
    const b = { ...view('pending'), runAt: at(30) };
    expect(furtherAlong(a, b)).toBe(b);
  });
});
