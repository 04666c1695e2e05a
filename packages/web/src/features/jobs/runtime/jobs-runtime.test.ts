import { QueryClient } from '@tanstack/react-query';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job, JobStatus } from '@simmer/contracts';
import type { JobsPages } from '../api/job-cache';
import { jobKeys } from '../api/job-keys';
import { createJobsRuntime, type JobsRuntime } from './create-jobs-runtime';
import { KnownJobs } from './known-jobs';
import { MyJobs } from './my-jobs';
import { rightsFor } from './job-rights';
import { OperatorSession } from './operator-session';
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
    const runtime = createJobsRuntime(queryClient, { storage, sessionStorage: memoryStorage() });
    running.push(runtime);
    return runtime;
  };
  afterEach(() => {
    for (const runtime of running.splice(0)) runtime.live.stop();
  });

  it('gives every runtime its own known jobs and its own jobs, so nothing leaks between page loads or tests', () => {
    const first = start(new QueryClient());
    first.knownJobs.remember(job(1, 'resolved', 2));
    first.myJobs.add(job(1).id, 'token-of-job-1-000000');
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
    start(new QueryClient(), storage).myJobs.add(job(7).id, 'token-of-job-7-000000');
    const later = start(new QueryClient(), storage);
    expect(later.myJobs.has(job(7).id)).toBe(true);
    expect(later.myJobs.tokenOf(job(7).id)).toBe('token-of-job-7-000000');
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

  it('lets a view learned while a snapshot was on its way win over it', () => {
    const known = new KnownJobs();
    known.remember(job(1, 'pending', 1));
    const mark = known.mark();
    // The cancel's event lands while a list page read before it is on its way.
    known.remember(job(1, 'cancelled', 2));
    expect(known.rememberSnapshot(job(1, 'pending', 1), mark).status).toBe('cancelled');
    // A snapshot requested after it, showing the job retried, is taken.
    expect(known.rememberSnapshot(job(1, 'pending', 3), known.mark()).status).toBe('pending');
    // A snapshot of a later change wins whenever it was requested.
    expect(known.rememberSnapshot(job(1, 'resolved', 4), mark).status).toBe('resolved');
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
    mine.add(job(1).id, 'token-of-job-1-000000');
    expect(mine.tokenOf(job(1).id)).toBe('token-of-job-1-000000');
  });

  it('ignores what it cannot read back', () => {
    expect(new MyJobs({ getItem: () => '{not json', setItem: () => undefined }).has(job(1).id)).toBe(false);
    const odd = new MyJobs({ getItem: () => '[1, {"id": "x", "token": 5}, {"id": "y", "token": "tok"}]', setItem: () => undefined });
    expect([odd.has('x'), odd.tokenOf('x'), odd.tokenOf('y')]).toEqual([true, null, 'tok']);
  });

  it('keeps the jobs of the first version (ids only) as yours, without the right to act', () => {
    const storage = memoryStorage();
    storage.setItem('simmer.my-jobs.v1', JSON.stringify([job(1).id]));
    const mine = new MyJobs(storage);
    expect([mine.has(job(1).id), mine.tokenOf(job(1).id)]).toEqual([true, null]);
    mine.add(job(2).id, 'token-of-job-2-000000');
    expect(new MyJobs(storage).tokenOf(job(2).id)).toBe('token-of-job-2-000000');
    expect(new MyJobs(storage).has(job(1).id)).toBe(true);
  });

  it("sees another tab's jobs and tokens after a reload, and tells its subscribers", () => {
    const storage = memoryStorage();
    const here = new MyJobs(storage);
    expect(here.has(job(3).id)).toBe(false);
    new MyJobs(storage).add(job(3).id, 'token-of-job-3-000000');
    let told = 0;
    here.subscribe(() => (told += 1));
    const before = here.getVersion();
    here.reload();
    expect([here.tokenOf(job(3).id), told, here.getVersion() > before]).toEqual(['token-of-job-3-000000', 1, true]);
  });

  it('keeps a token a later answer brings, and never forgets one for an answer without', () => {
    const mine = new MyJobs(memoryStorage());
    mine.add(job(1).id, null);
    mine.add(job(1).id, 'token-of-job-1-000000');
    mine.add(job(1).id, null);
    expect(mine.tokenOf(job(1).id)).toBe('token-of-job-1-000000');
  });
});

describe('rightsFor', () => {
  const mine = { tokenOf: (id: string) => (id === job(1).id ? 'token-of-job-1-000000' : null) };

  it("acts with the device's own token on its jobs, with the operator's on the rest, and not at all for a visitor", () => {
    expect(rightsFor(job(1).id, mine, 'operator-secret')).toEqual({ as: 'creator', token: 'token-of-job-1-000000' });
    expect(rightsFor(job(2).id, mine, 'operator-secret')).toEqual({ as: 'operator', token: 'operator-secret' });
    expect(rightsFor(job(2).id, mine, null)).toBeNull();
  });
});

describe('OperatorSession', () => {
  it("keeps the token in the tab's session storage until sign-out", () => {
    const storage = memoryStorage();
    const session = new OperatorSession(storage);
    let told = 0;
    session.subscribe(() => (told += 1));
    session.signIn('  operator-secret ');
    expect([session.getToken(), new OperatorSession(storage).getToken(), told]).toEqual(['operator-secret', 'operator-secret', 1]);
    session.signOut();
    expect([session.getToken(), new OperatorSession(storage).getToken(), told]).toEqual([null, null, 2]);
    expect(() => session.signIn('   ')).toThrow(/empty/);
  });

  it('still signs in when session storage is refused', () => {
    const refusing = {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      setItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      removeItem: () => undefined,
    };
    const session = new OperatorSession(refusing);
    session.signIn('operator-secret');
    expect(session.getToken()).toBe('operator-secret');
  });
});
