import { randomUUID } from 'node:crypto';
import type { Job } from '@simmer/contracts';
import { startFakeUnsplash, type FakeUnsplash } from '@simmer/testkit/fake-unsplash';
import { requestFrom } from '@simmer/testkit/loopback-client';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The real server in Unsplash mode, its quota short (the stand-in's hourly limit is 10 calls, under
 * half of it left): each client (a loopback address of its own) gets at most its share of the
 * photos, 2 % of 10 calls × 30 = 6, and its jobs past that fail at once with photo_share_spent,
 * while another client's job still gets a photo.
 */
describe('the Unsplash photo supply, shared per client (real process)', () => {
  let fake: FakeUnsplash;
  let server: ServerProcess;

  beforeAll(async () => {
    fake = await startFakeUnsplash({ accessKey: `simmer-test-key-${randomUUID()}`, quota: 10 });
    fake.setQuota(4);
    server = await startServerProcess({
      env: {
        UNSPLASH_ACCESS_KEY: fake.accessKey,
        UNSPLASH_API_URL: fake.url,
        UNSPLASH_CLIENT_SHARE_PERCENT: '2',
        JOB_DELAY_MIN_MS: '200',
        JOB_DELAY_MAX_MS: '600',
        JOB_DELAY_STEP_MS: '200',
      },
    });
  });

  afterAll(async () => {
    await server?.stop();
    await fake?.close();
  });

  const create = async (client: string): Promise<Job> => {
    const response = await requestFrom(client, `${server.url}/jobs`, { method: 'POST' });
    expect(response.status).toBe(202);
    return JSON.parse(response.body) as Job;
  };

  /** The jobs once each has settled. */
  const settled = async (jobs: Job[]): Promise<Job[]> => {
    const read = () => Promise.all(jobs.map(async (job) => (await fetch(`${server.url}/jobs/${job.id}`)).json() as Promise<Job>));
    await expect
      .poll(async () => (await read()).every((job) => job.status === 'resolved' || job.status === 'failed'), { timeout: 10_000 })
      .toBe(true);
    return read();
  };

  it("fails a greedy client's jobs past its share with photo_share_spent, and resolves another client's job with a photo", async () => {
    // A first job, so the server has read the quota (short) before the greedy client's jobs run.
    const [first] = await settled([await create('127.0.0.4')]);
    expect(first!.status).toBe('resolved');

    const greedy = await settled(await Promise.all(Array.from({ length: 10 }, () => create('127.0.0.2'))));
    const byStatus = (jobs: Job[], status: string) => jobs.filter((job) => job.status === status);
    expect(byStatus(greedy, 'resolved')).toHaveLength(6);
    const refused = byStatus(greedy, 'failed');
    expect(refused).toHaveLength(4);
    for (const job of refused) {
      expect(job.error).toEqual({
        code: 'photo_share_spent',
        message: 'This client has used its share of Unsplash photos for now; retry the job later.',
      });
      // Failed at once: one attempt, no waiting on upstream.
      expect(job.attempts).toHaveLength(1);
    }

    const [other] = await settled([await create('127.0.0.3')]);
    expect(other).toMatchObject({ status: 'resolved', result: { source: 'unsplash', photo: { id: expect.any(String) } } });

    const metrics = (await requestFrom('127.0.0.1', `${server.url}/metrics`)).body;
    expect(metrics).toMatch(/^simmer_photo_share_refusals_total 4$/m);
    // The client's key shows in no answer about the jobs.
    const listed = (await requestFrom('127.0.0.2', `${server.url}/jobs?limit=100`)).body;
    expect(listed).not.toMatch(/"client/);
  });
});
