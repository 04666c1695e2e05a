import { randomUUID } from 'node:crypto';
import { connectSse, type SseEvent, type SseStream } from '@simmer/testkit/sse-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { compose, docker, freePort, IMAGE, statusOf, waitUntil } from './docker.js';

interface Job {
  id: string;
  status: string;
}

/** Settings every Compose test passes: this build's image, loopback only, quick jobs. */
const COMMON_ENV = {
  SIMMER_IMAGE: IMAGE,
  SIMMER_BIND: '127.0.0.1',
  JOB_DELAY_MIN_MS: '0',
  JOB_DELAY_MAX_MS: '2000',
  JOB_DELAY_STEP_MS: '500',
  RATE_LIMIT_CREATES: '0',
};

async function waitReady(base: string): Promise<void> {
  await waitUntil(`${base}/readyz answers 200`, async () => ((await statusOf(`${base}/readyz`)) === 200 ? true : undefined), 120_000, 300);
}

type Counts = Record<'pending' | 'running' | 'resolved', number> & Record<string, number>;

async function counts(base: string): Promise<Counts> {
  const stats = (await (await fetch(`${base}/stats`)).json()) as { counts: Counts };
  return stats.counts;
}

async function jobStatus(base: string, id: string): Promise<string | undefined> {
  const response = await fetch(`${base}/jobs/${id}`);
  return response.status === 200 ? ((await response.json()) as Job).status : undefined;
}

describe('compose.yaml (embedded)', () => {
  const project = `simmer-e-${randomUUID().slice(0, 8)}`;
  let env: Record<string, string>;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    env = { ...COMMON_ENV, SIMMER_PORT: String(port) };
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await compose(project, 'compose.yaml', ['down', '--volumes', '--timeout', '10'], env).catch(() => undefined);
  });

  it('serves on SIMMER_PORT; a job made there survives down and up again (the named volume)', async () => {
    await compose(project, 'compose.yaml', ['up', '--detach'], env);
    await waitReady(base);
    const created = await fetch(`${base}/jobs`, { method: 'POST' });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as Job;
    await waitUntil('the job resolved', async () => ((await jobStatus(base, id)) === 'resolved' ? true : undefined), 30_000, 300);

    await compose(project, 'compose.yaml', ['down', '--timeout', '10'], env);
    expect(await statusOf(`${base}/readyz`)).toBeUndefined();
    await compose(project, 'compose.yaml', ['up', '--detach'], env);
    await waitReady(base);
    expect(await jobStatus(base, id)).toBe('resolved');
  });
});

describe('compose.postgres.yaml (PostgreSQL, two APIs, two workers, nginx)', () => {
  const project = `simmer-p-${randomUUID().slice(0, 8)}`;
  const JOBS = 300;
  let env: Record<string, string>;
  let base: string;
  const container = (service: string) => `${project}_${service}_1`;

  beforeAll(async () => {
    const port = await freePort();
    env = {
      ...COMMON_ENV,
      SIMMER_PORT: String(port),
      POSTGRES_PASSWORD: randomUUID(),
      // A killed worker's jobs are taken again once their lease ends: a short one keeps the test short.
      JOB_LEASE_MS: '3000',
    };
    base = `http://127.0.0.1:${port}`;
    // All four Simmer containers start together once PostgreSQL is healthy, and each migrates.
    await compose(project, 'compose.postgres.yaml', ['up', '--detach'], env);
    await waitReady(base);
  });

  afterAll(async () => {
    await compose(project, 'compose.postgres.yaml', ['down', '--volumes', '--timeout', '10'], env).catch(() => undefined);
  });

  it('migrated once though four containers started together', async () => {
    const logs = await Promise.all(
      ['api-1', 'api-2', 'worker-1', 'worker-2'].map((service) => docker(['logs', container(service)]).catch(() => '')),
    );
    const applied = logs.join('\n').match(/"msg":"applied database migration"/g) ?? [];
    expect(applied.length).toBe(MIGRATIONS.length); // each migration by one container
    for (const service of ['api-1', 'api-2', 'worker-1', 'worker-2']) {
      expect(await docker(['inspect', '-f', '{{.State.Running}}', container(service)])).toBe('true');
    }
  });

  it('delivers a change on /events through nginx within 1 s', async () => {
    const stream = await connectSse(`${base}/events`);
    try {
      await stream.take(1); // ready
      const sent = Date.now();
      const created = await fetch(`${base}/jobs`, { method: 'POST' });
      const { id } = (await created.json()) as Job;
      const [event] = await stream.take(1);
      expect(event!.event).toBe('job');
      expect(event!.data).toContain(id);
      // The bound for a proxy that does not buffer; a buffering one holds events for seconds.
      expect(event!.receivedAt - sent).toBeLessThan(1_000);
    } finally {
      stream.close();
    }
  });

  it(`resolves ${JOBS} jobs made through nginx exactly once while a worker is killed and an API restarted; /events resumes`, async () => {
    // Every change, followed through nginx and resumed with Last-Event-ID whenever the stream ends.
    const resolvedEvents = new Map<string, number>();
    let following = true;
    let stream: SseStream | null = null;
    let lastEventId: string | undefined;
    let resumes = 0;
    const onEvent = (event: SseEvent) => {
      if (event.id !== null) lastEventId = event.id;
      if (event.event !== 'job') return;
      const job = JSON.parse(event.data) as Job;
      if (job.status === 'resolved') resolvedEvents.set(job.id, (resolvedEvents.get(job.id) ?? 0) + 1);
    };
    const follow = (async () => {
      while (following) {
        try {
          stream = await connectSse(`${base}/events`, { onEvent, ...(lastEventId ? { lastEventId } : {}) });
          await stream.closed;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        if (following) resumes++;
      }
    })();
    await waitUntil('the event stream is open', async () => (lastEventId !== undefined ? true : undefined), 10_000, 50);
    // The jobs of earlier tests settled first, so the counts below are this test's alone.
    const countsBefore = await waitUntil(
      'earlier jobs settled',
      async () => {
        const now = await counts(base);
        return now.pending + now.running === 0 ? now : undefined;
      },
      30_000,
      200,
    );

    // Clients retry a create that did not get its 202 with the same Idempotency-Key, as the page does.
    const ids = new Set<string>();
    let made = 0;
    const create = async (): Promise<string> => {
      const key = randomUUID();
      for (let attempt = 0; ; attempt++) {
        try {
          const response = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'idempotency-key': key } });
          if (response.status === 202) {
            const { id } = (await response.json()) as Job;
            ids.add(id);
            made++;
            return id;
          }
          await response.arrayBuffer();
        } catch {
          // connection cut by a restart: retry
        }
        if (attempt === 100) throw new Error('a create kept failing');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    let next = 0;
    const creating = Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next++ < JOBS) await create();
      }),
    );
    await waitUntil('a third of the jobs made', async () => (made >= JOBS / 3 ? true : undefined), 60_000, 50);
    await docker(['kill', container('worker-1')]);
    await docker(['restart', '--time', '10', container('api-1')], { timeoutMs: 60_000 });
    await creating;
    expect(ids.size).toBe(JOBS);

    // Every job resolves (worker-2 runs them all, and takes worker-1's once their lease ends) ...
    await waitUntil(
      `${JOBS} jobs resolved`,
      async () => {
        const now = await counts(base);
        return now.resolved >= countsBefore.resolved + JOBS && now.pending === 0 && now.running === 0 ? now : undefined;
      },
      120_000,
      500,
    );
    // ... exactly once: no other job was made, and each resolved once, as the event stream saw it.
    expect(await counts(base)).toEqual({ ...countsBefore, resolved: countsBefore.resolved + JOBS });
    await waitUntil(
      'every resolution seen on /events',
      async () => ([...ids].every((id) => resolvedEvents.has(id)) ? true : undefined),
      30_000,
      200,
    );
    expect([...ids].filter((id) => resolvedEvents.get(id) !== 1)).toEqual([]);

    // The stream followed through the API restart: it was cut at least once when nginx's API went
    // away mid-stream, or it was on the other API all along. Either way it now resumes: restart the
    // API it is on by restarting both, one after the other, and see a new change arrive.
    await docker(['restart', '--time', '10', container('api-2')], { timeoutMs: 60_000 });
    await docker(['restart', '--time', '10', container('api-1')], { timeoutMs: 60_000 });
    const resumesBefore = resumes;
    expect(resumesBefore).toBeGreaterThanOrEqual(1);
    await waitReady(base);
    // One API may still be starting: nginx answers 502 while neither takes it, and the client retries.
    const lastId = await create();
    await waitUntil(
      'the job made after the restarts resolved on /events',
      async () => (resolvedEvents.has(lastId) ? true : undefined),
      30_000,
      200,
    );

    following = false;
    (stream as SseStream | null)?.close();
    await follow;
  });
});
