import { QueryClient } from '@tanstack/react-query';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job, JobStatus } from '@simmer/contracts';
import type { JobsPages } from '../api/job-cache';
import { jobKeys } from '../api/job-keys';
import { createJobsRuntime, type JobsRuntime } from './create-jobs-runtime';
import { KnownJobs } from './known-jobs';
import { MyJobs } from './my-jobs';
import { job } from '../job-fixtures';

/** The slice of the Storage API the runtime uses, in memory. */
function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    key: (index) => [...items.keys()][index] ?? null,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
    clear: () => items.clear(),
  };
}

const page = (...jobs: Job[]): JobsPages => ({ pages: [{ jobs, nextCursor: null }], pageParams: [null] });

describe('the jobs runtime', () => {
  const running: JobsRuntime[] = [];
  const start = (queryClient: QueryClient, storage = memoryStorage()) => {
    const runtime = createJobsRuntime(queryClient, { storage });
    running.push(runtime);
    return runtime;
  };
  afterEach(() => {
    for (const runtime of running.splice(0)) runtime.live.stop();
  });

  it('gives every runtime its own known jobs and its own jobs, so nothing leaks between page loads or tests', () => {
    const first = start(new QueryClient());
    first.knownJobs.remember(job(1, 'resolved', 2));
    first.myJobs.add(job(1).id);
    first.knownJobs.forget(job(5).id);

    const second = start(new QueryClient());
    expect(second.knownJobs.get(job(1).id)).toBeUndefined();
    expect(second.myJobs.has(job(1).id)).toBe(false);
    expect(second.knownJobs.isRemoved(job(5).id)).toBe(false);
    expect(second.knownJobs.remember(job(1, 'pending')).status).toBe('pending');
    expect(first.knownJobs.get(job(1).id)?.status).toBe('resolved');
  });

  it('keeps "my jobs" in the storage it is given, across runtimes over that storage', () => {
    const storage = memoryStorage();
    start(new QueryClient(), storage).myJobs.add(job(7).id);
    expect(start(new QueryClient(), storage).myJobs.has(job(7).id)).toBe(true);
  });

  it('writes applied jobs into the cached lists that match them, through its own known jobs', () => {
    const queryClient = new QueryClient();
    queryClient.setQueryData<JobsPages>(jobKeys.list(null), page(job(2)));
    queryClient.setQueryData<JobsPages>(jobKeys.list('pending'), page(job(2)));
    const runtime = start(queryClient);

    runtime.live.applyJobs([job(3, 'resolved'), job(2, 'running', 2)]);

    const ids = (status: JobStatus | null) =>
      queryClient.getQueryData<JobsPages>(jobKeys.list(status))?.pages[0]?.jobs.map((j) => j.status);
    expect(ids(null)).toEqual(['resolved', 'running']);
    expect(ids('pending')).toEqual([]);
    // Lists nobody asked for stay out of the cache.
    expect(queryClient.getQueryCache().findAll({ queryKey: jobKeys.lists() })).toHaveLength(2);
    expect(runtime.knownJobs.get(job(3).id)?.status).toBe('resolved');
  });
});

describe('KnownJobs', () => {
  it('keeps the view of the latest change of a job, whatever order views arrive in', () => {
    const known = new KnownJobs();
    known.remember(job(1, 'resolved', 3));
    expect(known.remember(job(1, 'running', 2)).status).toBe('resolved');
    expect(known.get(job(1).id)?.status).toBe('resolved');
  });

  it('follows the server backwards: a claim given back makes a running job pending again', () => {
    const known = new KnownJobs();
    known.remember(job(1, 'running', 2));
    expect(known.remember(job(1, 'pending', 3)).status).toBe('pending');
  });

  it('forgets the least recently advanced job past its limit', () => {
    const known = new KnownJobs(2);
    known.remember(job(1));
    known.remember(job(2));
    known.remember(job(1, 'running', 2));
    known.remember(job(3));
    expect(known.get(job(2).id)).toBeUndefined();
    expect(known.get(job(1).id)?.status).toBe('running');
    expect(known.get(job(3).id)).toBeDefined();
  });
});

describe('MyJobs', () => {
  it('still marks jobs in memory when storage refuses to save them', () => {
    const mine = new MyJobs({
      getItem: () => null,
      setItem: () => {
        throw new DOMException('full', 'QuotaExceededError');
      },
    });
    mine.add(job(1).id);
    expect(mine.has(job(1).id)).toBe(true);
  });

  it('ignores what it cannot read back', () => {
    expect(new MyJobs({ getItem: () => '{not json', setItem: () => undefined }).has(job(1).id)).toBe(false);
    expect(new MyJobs({ getItem: () => '[1, "x"]', setItem: () => undefined }).has('x')).toBe(true);
  });
});
