import { describe, expect, it } from 'vitest';
import { applyJobChanges, newerView, removeJobs, type JobsPages } from './job-cache';
import { job } from '../job-fixtures';

function pages(...groups: [number[], string | null][]): JobsPages {
  return {
    pages: groups.map(([ns, nextCursor]) => ({ jobs: ns.map((n) => job(n)), nextCursor })),
    pageParams: groups.map((_, i) => (i === 0 ? null : `c${i}`)),
  };
}

const ids = (data: JobsPages | undefined) => data!.pages.map((p) => p.jobs.map((j) => Number(j.id.slice(-12))));

describe('applyJobChanges', () => {
  it('replaces a listed job in place', () => {
    const data = pages([[5, 4, 3], 'c'], [[2, 1], null]);
    const next = applyJobChanges(data, [job(4, 'running', 2)], null)!;
    expect(next.pages[0]!.jobs[1]!.status).toBe('running');
    expect(next.pages[1]).toBe(data.pages[1]);
  });

  it('puts a new job on top, newest first', () => {
    const next = applyJobChanges(pages([[5, 4], null]), [job(7), job(6)], null);
    expect(ids(next)).toEqual([[7, 6, 5, 4]]);
  });

  it('inserts a job at its place inside the loaded range', () => {
    const next = applyJobChanges(pages([[9, 7], 'c'], [[5, 3], 'd']), [job(4, 'resolved')], 'resolved');
    expect(ids(next)).toEqual([
      [9, 7],
      [5, 4, 3],
    ]);
  });

  it('leaves a job older than everything loaded for the page that will bring it', () => {
    const data = pages([[9, 7], 'c']);
    expect(applyJobChanges(data, [job(2)], null)).toBe(data);
    expect(ids(applyJobChanges(pages([[9, 7], null]), [job(2)], null))).toEqual([[9, 7, 2]]);
  });

  it('drops a job from a filtered list when it no longer matches', () => {
    const next = applyJobChanges(pages([[5, 4, 3], null]), [job(4, 'resolved', 2)], 'pending');
    expect(ids(next)).toEqual([[5, 3]]);
  });

  it('keeps the view of the later change, whatever order views arrive in', () => {
    const data = applyJobChanges(pages([[5], null]), [job(5, 'resolved', 9)], null)!;
    // A stale answer (an older change) arriving late changes nothing.
    expect(applyJobChanges(data, [job(5, 'running', 8)], null)).toBe(data);
    // Of several views of one job in one batch, the latest wins, not the last to arrive.
    const batch = applyJobChanges(pages([[5], null]), [job(5, 'resolved', 9), job(5, 'running', 8)], null)!;
    expect(batch.pages[0]!.jobs[0]!.status).toBe('resolved');
  });

  it('moves a card backwards when the server did (a claim given back: running → pending)', () => {
    const running = applyJobChanges(pages([[5], null]), [job(5, 'running', 7)], null)!;
    const back = applyJobChanges(running, [job(5, 'pending', 8)], null)!;
    expect(back.pages[0]!.jobs[0]!.status).toBe('pending');
    // In the pending list the job leaves and comes back, at its place.
    const pendingList = applyJobChanges(pages([[6, 5, 4], null]), [job(5, 'running', 7)], 'pending')!;
    expect(ids(pendingList)).toEqual([[6, 4]]);
    expect(ids(applyJobChanges(pendingList, [job(5, 'pending', 8)], 'pending'))).toEqual([[6, 5, 4]]);
  });

  it('merges a burst of new jobs into the pages they belong on in one pass', () => {
    const next = applyJobChanges(pages([[20, 10], 'c'], [[8, 4], null]), [job(9), job(30), job(11), job(25), job(5), job(2)], null);
    expect(ids(next)).toEqual([
      [30, 25, 20, 11, 10],
      [9, 8, 5, 4, 2],
    ]);
  });

  it('returns the same object when nothing changed, so nothing re-renders', () => {
    const data = pages([[5, 4], null]);
    expect(applyJobChanges(data, [data.pages[0]!.jobs[0]!], null)).toBe(data);
    expect(applyJobChanges(data, [job(6, 'failed')], 'resolved')).toBe(data);
    expect(applyJobChanges(undefined, [job(1)], null)).toBeUndefined();
  });
});

describe('views without a sequence number (a server older than the field)', () => {
  it('are ordered by their attempts and the state machine', () => {
    const unnumbered = (status: Parameters<typeof job>[1]) => ({ ...job(1, status), seq: undefined as unknown as number });
    expect(newerView(unnumbered('pending'), unnumbered('running')).status).toBe('running');
    expect(newerView(unnumbered('resolved'), unnumbered('running')).status).toBe('resolved');
    expect(newerView(unnumbered('running'), unnumbered('failed')).status).toBe('failed');
  });
});

describe('removeJobs', () => {
  it('drops removed jobs from every page and keeps untouched pages as they were', () => {
    const data = pages([[5, 4, 3], 'c'], [[2, 1], null]);
    const next = removeJobs(data, new Set([job(4).id, job(1).id]))!;
    expect(ids(next)).toEqual([[5, 3], [2]]);
    expect(removeJobs(next, new Set([job(9).id]))).toBe(next);
  });
});
