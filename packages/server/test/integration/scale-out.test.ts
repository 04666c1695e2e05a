import { randomUUID } from 'node:crypto';
import { EVENT_JOB, EVENT_RESET, type Job } from '@simmer/contracts';
import { startFakeUnsplash, type FakeUnsplash } from '@simmer/testkit/fake-unsplash';
import { startPostgres, type ThrowawayPostgres } from '@simmer/testkit/postgres';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { connectSse, type SseStream } from '@simmer/testkit/sse-client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const JOBS = 2_000;
const API_PROCESSES = 2;
const WORKER_PROCESSES = 3;
const PHOTOS_PER_CALL = 30;
const JOB_CONCURRENCY = 32;

/**
 * What one `/events` client saw, following the stream as a browser's EventSource would: when the
 * stream drops it reconnects with Last-Event-ID.
 */
class EventFollower {
  /** Per job: the last status seen, and every distinct change number at which it was resolved. */
  readonly last = new Map<string, Job>();
  readonly resolvedAt = new Map<string, Set<string>>();
  resets = 0;
  reconnects = 0;
  private stream: SseStream | null = null;
  private lastEventId: string | undefined;
  private stopped = false;
  private readonly ended: Promise<void>;

  constructor(private readonly url: string) {
    this.ended = this.follow();
  }

  /** Resolves once the first connection is open, so nothing created after it is missed. */
  async connected(): Promise<void> {
    await expect.poll(() => this.stream !== null, { timeout: 10_000 }).toBe(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stream?.close();
    await this.ended;
  }

  private async follow(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const stream = await connectSse(`${this.url}/events`, {
          ...(this.lastEventId === undefined ? {} : { lastEventId: this.lastEventId }),
          onEvent: (event) => {
            if (event.id) this.lastEventId = event.id;
            if (event.event === EVENT_RESET) this.resets += 1;
            if (event.event !== EVENT_JOB) return;
            const job = JSON.parse(event.data) as Job;
            this.last.set(job.id, job);
            if (job.status === 'resolved') {
              const seen = this.resolvedAt.get(job.id) ?? new Set<string>();
              seen.add(event.id ?? '');
              this.resolvedAt.set(job.id, seen);
            }
          },
        });
        this.stream = stream;
        attempt = 0;
        await stream.closed;
      } catch {
        // The API process answered 503 or was unreachable: back off and resume, as EventSource does.
      }
      if (this.stopped) return;
      this.reconnects += 1;
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}

/** POST /jobs with an idempotency key, retried (same key) through 503s and dropped connections. */
async function createJob(apiUrl: string, key: string): Promise<Job> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${apiUrl}/jobs`, {
        method: 'POST',
        headers: { 'idempotency-key': key },
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 202 || res.status === 200) return (await res.json()) as Job;
      if (res.status < 500) throw new Error(`POST /jobs answered ${res.status}: ${await res.text()}`);
    } catch (error) {
      if (attempt >= 40 || (error instanceof Error && error.message.startsWith('POST /jobs answered'))) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** attempt)));
  }
}

/** Creates `keys` through the API processes in turn, a few at a time. */
async function createAll(apis: ServerProcess[], keys: string[], inFlight = 16): Promise<Job[]> {
  const jobs: Job[] = new Array(keys.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < keys.length) {
        const i = next++;
        jobs[i] = await createJob(apis[i % apis.length]!.url, keys[i]!);
      }
    }),
  );
  return jobs;
}

describe('scale-out on PostgreSQL', () => {
  let postgres: ThrowawayPostgres;
  let unsplash: FakeUnsplash;
  let db: pg.Client;
  let databaseUrl: string;
  const apis: ServerProcess[] = [];
  const workers: ServerProcess[] = [];
  const followers: EventFollower[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    databaseUrl = await postgres.createDatabase('scale_out');
    unsplash = await startFakeUnsplash({ seed: 7 });
    db = new pg.Client({ connectionString: databaseUrl });
    db.on('error', () => undefined); // the restart below cuts this connection too; the test reconnects
    await db.connect();

    const env = {
      STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      UNSPLASH_ACCESS_KEY: unsplash.accessKey,
      UNSPLASH_API_URL: unsplash.url,
      JOB_DELAY_MIN_MS: '500',
      JOB_DELAY_MAX_MS: '5000',
      JOB_DELAY_STEP_MS: '500',
      JOB_CONCURRENCY: String(JOB_CONCURRENCY),
      // Short leases so the killed worker's jobs are taken again within the test's time.
      JOB_LEASE_MS: '2000',
      // Stalled calls to the stand-in give up quickly once it answers again.
      UNSPLASH_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'info',
      // Thousands of creates from one address: the per-client limit would refuse most of them.
      RATE_LIMIT_CREATES: '0',
    };
    // All at once: five processes migrating one empty database at the same moment.
    const started = await Promise.allSettled([
      ...Array.from({ length: API_PROCESSES }, () => startServerProcess({ env: { ...env, ROLE: 'api' } })),
      ...Array.from({ length: WORKER_PROCESSES }, () => startServerProcess({ env: { ...env, ROLE: 'worker' } })),
    ]);
    started.forEach((result, i) => {
      if (result.status === 'fulfilled') (i < API_PROCESSES ? apis : workers).push(result.value);
    });
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  });

  afterAll(async () => {
    await Promise.allSettled(followers.map((f) => f.stop()));
    await Promise.allSettled([...apis, ...workers].map((p) => p.stop()));
    await db?.end().catch(() => undefined);
    await unsplash?.close();
    await postgres?.stop();
  });

  /** A query that survives the database restart: reconnects once when the connection was cut. */
  async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await db.query<R>(text, values)).rows;
    } catch {
      await db.end().catch(() => undefined);
      db = new pg.Client({ connectionString: databaseUrl });
      db.on('error', () => undefined);
      await db.connect();
      return (await db.query<R>(text, values)).rows;
    }
  }

  it('resolves every job exactly once through a worker crash and a database restart, and every API streams every change', async () => {
    for (const api of apis) followers.push(new EventFollower(api.url));
    await Promise.all(followers.map((f) => f.connected()));

    const keys = Array.from({ length: JOBS }, () => randomUUID());
    const firstHalf = await createAll(apis, keys.slice(0, JOBS / 2));
    // Creating goes on while a worker dies and the database restarts.
    const secondHalf = createAll(apis, keys.slice(JOBS / 2));
    secondHalf.catch(() => undefined); // awaited below; this only keeps an early failure from being reported as unhandled

    // Kill a worker while it holds claims: the stand-in stops answering for a moment, so once a
    // worker's photo pool is empty its claimed jobs wait, until every slot is taken by a stuck job.
    // The victim's claims must be taken again when their leases end.
    const victim = workers[0]!;
    const victimClaims = async () =>
      (await query<{ id: string }>(`SELECT id FROM jobs WHERE status = 'running' AND claimed_by LIKE $1`, [`%:${victim.pid}`])).map(
        (r) => r.id,
      );
    unsplash.setFaults({ rate: 1, kinds: ['stall'] });
    await expect.poll(async () => (await victimClaims()).length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(JOB_CONCURRENCY);
    victim.kill('SIGKILL');
    await victim.waitForExit();
    const orphaned = await victimClaims();
    unsplash.setFaults({ rate: 0, kinds: [] });
    expect(orphaned.length).toBeGreaterThan(0);

    // Restart PostgreSQL while jobs are being created, claimed and settled.
    await expect
      .poll(async () => Number((await query<{ n: string }>('SELECT count(*) AS n FROM jobs'))[0]!.n), { timeout: 30_000, interval: 50 })
      .toBeGreaterThan(JOBS * 0.6);
    await postgres.restart({ mode: 'immediate' });
    const jobs = [...firstHalf, ...(await secondHalf)];

    // Every job resolves.
    await expect
      .poll(async () => Number((await query<{ n: string }>(`SELECT count(*) AS n FROM jobs WHERE status = 'resolved'`))[0]!.n), {
        timeout: 90_000,
        interval: 250,
      })
      .toBe(JOBS);

    // Exactly one job per idempotency key: retried creates created nothing twice.
    const rows = await query<{ id: string; idempotency_key: string; photo_id: string; attempts: number }>(
      `SELECT id, idempotency_key, result->'photo'->>'id' AS photo_id, attempts FROM jobs`,
    );
    expect(rows).toHaveLength(JOBS);
    expect(new Set(rows.map((r) => r.idempotency_key))).toEqual(new Set(keys));
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(jobs.map((j) => j.id)));

    // One photo per job: every result holds a photo no other job got. Jobs whose claim was lost (the
    // killed worker's, and any whose lease ran out while the database was down) ran again elsewhere.
    expect(new Set(rows.map((r) => r.photo_id)).size).toBe(JOBS);
    const rerun = new Set(rows.filter((r) => r.attempts > 1).map((r) => r.id));
    for (const id of orphaned) expect(rerun.has(id)).toBe(true);
    // Beyond those, only claims whose lease ran out while the database was down ran again: at most
    // what a live worker holds at once (its running jobs, as many queued ahead, as many outcomes
    // waiting for their write).
    console.info(`scale-out: ${rerun.size} jobs ran again (${orphaned.length} of the killed worker's)`);
    expect(rerun.size).toBeLessThanOrEqual(orphaned.length + (WORKER_PROCESSES - 1) * 3 * JOB_CONCURRENCY);
    const served = unsplash.calls.filter((c) => c.outcome === 200 && c.path.startsWith('/photos/random')).length * PHOTOS_PER_CALL;
    expect(served).toBeGreaterThanOrEqual(JOBS);

    // Each API process's stream saw every job reach its final state, resolved at one change only.
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const follower of followers) {
      await expect.poll(() => [...follower.last.values()].filter((j) => j.status === 'resolved').length, { timeout: 20_000 }).toBe(JOBS);
      expect(follower.resets).toBe(0);
      for (const [id, job] of follower.last) {
        expect(job.result?.photo.id).toBe(byId.get(id)?.photo_id);
        expect(follower.resolvedAt.get(id)?.size).toBe(1);
      }
    }
  });
});
