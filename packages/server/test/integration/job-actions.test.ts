import type { CreatedJob, Job } from '@simmer/contracts';
import { startFakeUnsplash, type FakeUnsplash } from '@simmer/testkit/fake-unsplash';
import { startPostgres, type ThrowawayPostgres } from '@simmer/testkit/postgres';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROUNDS = 3;
const JOBS_PER_ROUND = 150;
const CLIENTS = 8;
/** Each round's kill waits for this many acknowledged actions, then a random moment more. */
const KILL_AFTER_ACKS = 30;

async function createJobs(server: ServerProcess, count: number): Promise<CreatedJob[]> {
  const jobs: CreatedJob[] = [];
  for (let i = 0; i < count; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, count - i) }, async () => {
        const response = await fetch(`${server.url}/jobs`, { method: 'POST' });
        expect(response.status).toBe(202);
        return (await response.json()) as CreatedJob;
      }),
    );
    jobs.push(...batch);
  }
  return jobs;
}

describe('actions survive a crash (file store, SIGKILL)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      // Jobs wait an hour: only the actions change them. Many requests from one address: no per-client limits.
      env: { JOB_DELAY_MIN_MS: '3600000', JOB_DELAY_MAX_MS: '3600000', RATE_LIMIT_CREATES: '0', RATE_LIMIT_ACTIONS: '0' },
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it(`keeps every cancel and delete acknowledged just before ${ROUNDS} kills`, { timeout: 300_000 }, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const jobs = await createJobs(server, JOBS_PER_ROUND);
      const cancelled = new Set<string>();
      const deleted = new Set<string>();
      const unexpected: string[] = [];
      let next = 0;
      let acked = 0;
      let enough: () => void = () => {};
      const enoughAcked = new Promise<void>((resolve) => (enough = resolve));
      const stop = new AbortController();
      const client = async (): Promise<void> => {
        while (!stop.signal.aborted && next < jobs.length) {
          const job = jobs[next++]!;
          const remove = next % 3 === 0;
          try {
            const response = await fetch(remove ? `${server.url}/jobs/${job.id}` : `${server.url}/jobs/${job.id}/cancel`, {
              method: remove ? 'DELETE' : 'POST',
              headers: { authorization: `Bearer ${job.controlToken}` },
            });
            if (response.status === (remove ? 204 : 200)) (remove ? deleted : cancelled).add(job.id);
            else unexpected.push(`${response.status} ${await response.text()}`);
            if (++acked >= KILL_AFTER_ACKS) enough();
          } catch {
            return; // the process died under this request: its outcome is unknown
          }
        }
      };
      const load = Promise.all(Array.from({ length: CLIENTS }, client));
      await Promise.race([enoughAcked, load]);
      // Not a synchronisation: a random moment further into the load, while actions are in flight.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
      server.kill('SIGKILL');
      stop.abort();
      await load;
      expect(unexpected, `answers in round ${round}`).toEqual([]);
      expect(cancelled.size + deleted.size).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
      expect((await server.waitForExit()).signal).toBe('SIGKILL');

      await server.restart();
      for (const id of cancelled) {
        const response = await fetch(`${server.url}/jobs/${id}`);
        expect(response.status, `cancelled job ${id} after restart`).toBe(200);
        expect(((await response.json()) as Job).status, `cancelled job ${id} after restart`).toBe('cancelled');
      }
      for (const id of deleted) expect((await fetch(`${server.url}/jobs/${id}`)).status, `deleted job ${id} after restart`).toBe(404);
      // A control token still works after the restart: the key it is derived from is kept with the data.
      const untouched = jobs.find((job) => !cancelled.has(job.id) && !deleted.has(job.id));
      if (untouched) {
        const response = await fetch(`${server.url}/jobs/${untouched.id}/run`, {
          method: 'POST',
          headers: { authorization: `Bearer ${untouched.controlToken}` },
        });
        expect([200, 404, 409]).toContain(response.status); // 404/409: the cut-off action may have landed
      }
    }
  });
});

describe('a cancel reaches the worker running the job (PostgreSQL, separate processes)', () => {
  let postgres: ThrowawayPostgres;
  let unsplash: FakeUnsplash;
  let api: ServerProcess;
  let worker: ServerProcess;

  beforeAll(async () => {
    postgres = await startPostgres();
    const databaseUrl = await postgres.createDatabase('job_actions');
    unsplash = await startFakeUnsplash({ seed: 20 });
    const env = {
      STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      UNSPLASH_ACCESS_KEY: unsplash.accessKey,
      UNSPLASH_API_URL: unsplash.url,
      JOB_DELAY_MIN_MS: '500',
      JOB_DELAY_MAX_MS: '500',
      JOB_DELAY_STEP_MS: '500',
      // A lease renewed only every 20 s, and a stalled call that would wait a minute: neither is
      // how the worker learns of the cancel within the second the test allows.
      JOB_LEASE_MS: '60000',
      UNSPLASH_TIMEOUT_MS: '60000',
      LOG_LEVEL: 'info',
    };
    [api, worker] = await Promise.all([
      startServerProcess({ env: { ...env, ROLE: 'api' } }),
      startServerProcess({ env: { ...env, ROLE: 'worker' } }),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([api?.stop(), worker?.stop()]);
    await unsplash?.close();
    await postgres?.stop();
  });

  it('aborts the photo call on worker A within about a second of a cancel through API process B, and writes no outcome', async () => {
    unsplash.setFaults({ rate: 1, kinds: ['stall'] });
    const created = (await (await fetch(`${api.url}/jobs`, { method: 'POST' })).json()) as CreatedJob;
    await expect
      .poll(async () => ((await (await fetch(`${api.url}/jobs/${created.id}`)).json()) as Job).status, { timeout: 30_000, interval: 100 })
      .toBe('running');
    await expect.poll(() => unsplash.calls.filter((call) => call.outcome === 'stall').length, { timeout: 10_000 }).toBe(1);
    const stalled = unsplash.calls.find((call) => call.outcome === 'stall')!;
    expect(stalled.abandoned).toBe(false);

    const cancelledAt = performance.now();
    const cancel = await fetch(`${api.url}/jobs/${created.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.controlToken}` },
    });
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as Job).status).toBe('cancelled');
    await expect.poll(() => stalled.abandoned, { timeout: 1_500, interval: 20 }).toBe(true);
    const stoppedWithinMs = performance.now() - cancelledAt;
    expect(worker.logs.some((line) => line.includes(created.id) && line.includes('cancelled or deleted while it ran'))).toBe(true);
    console.info(
      `cancel through the API process: the worker's photo call closed ${Math.round(stoppedWithinMs)} ms after the cancel was sent`,
    );

    // Photos flow again; the cancelled job stays as it is, with its one attempt ended by the cancel.
    unsplash.setFaults({ rate: 0, kinds: [] });
    const next = (await (await fetch(`${api.url}/jobs`, { method: 'POST' })).json()) as CreatedJob;
    await expect
      .poll(async () => ((await (await fetch(`${api.url}/jobs/${next.id}`)).json()) as Job).status, { timeout: 30_000, interval: 100 })
      .toBe('resolved');
    const job = (await (await fetch(`${api.url}/jobs/${created.id}`)).json()) as Job;
    expect(job).toMatchObject({ status: 'cancelled', result: null, error: null });
    expect(job.attempts).toEqual([expect.objectContaining({ outcome: 'cancelled', error: null })]);
  });
});
