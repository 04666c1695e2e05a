import { describe, expect, it } from 'vitest';
import { applyJobChanges, removeJobs, type JobsPages } from './job-cache';
import { furtherAlong } from '../job-progress';
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
    const next = applyJobChanges(data, [job(4, 'running')], null)!;
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
    const next = applyJobChanges(pages([[5, 4, 3], null]), [job(4, 'resolved')], 'pending');
    expect(ids(next)).toEqual([[5, 3]]);
  });

  it('never moves a job backwards when a stale view arrives late', () => {
    const data = applyJobChanges(pages([[5], null]), [job(5, 'resolved')], null)!;
    expect(applyJobChanges(data, [job(5, 'running')], null)).toBe(data);
    expect(furtherAlong(job(1, 'resolved'), job(1, 'pending')).status).toBe('resolved');
  });

  it('returns the same object when nothing changed, so nothing re-renders', () => {
    const data = pages([[5, 4], null]);
    expect(applyJobChanges(data, [data.pages[0]!.jobs[0]!], null)).toBe(data);
    expect(applyJobChanges(data, [job(6, 'failed')], 'resolved')).toBe(data);
    expect(applyJobChanges(undefined, [job(1)], null)).toBeUndefined();
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
