import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { startFakeUnsplash, type FakeUnsplash } from '@simmer/testkit/fake-unsplash';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLIENTS = 16;

interface Counts {
  pending: number;
  running: number;
  resolved: number;
  failed: number;
}

async function counts(server: ServerProcess): Promise<Counts> {
  return ((await (await fetch(`${server.url}/stats`)).json()) as { counts: Counts }).counts;
}

/**
 * POST /jobs on a connection of its own: a client's idle keep-alive connections would hold the
 * server's HTTP close open until they time out, which is not what this test is about.
 */
function createJob(server: ServerProcess): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/jobs`, { method: 'POST', agent: false, headers: { 'idempotency-key': randomUUID() } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every parsed log line of every run so far. */
function logEntries(server: ServerProcess): Record<string, unknown>[] {
  return server.logs.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe('graceful stop (SIGTERM under load)', () => {
  let unsplash: FakeUnsplash;
  let server: ServerProcess;

  beforeAll(async () => {
    unsplash = await startFakeUnsplash({ seed: 11 });
    server = await startServerProcess({
      env: {
        UNSPLASH_ACCESS_KEY: unsplash.accessKey,
        UNSPLASH_API_URL: unsplash.url,
        // Photos come slowly (stalled calls give up after 300 ms and are retried), so many jobs are
        // running, waiting for one, when the signal comes; they get it within the stop's grace.
        UNSPLASH_TIMEOUT_MS: '300',
        UNSPLASH_RETRY_BASE_MS: '20',
        UNSPLASH_RETRY_MAX_MS: '100',
        JOB_DELAY_MIN_MS: '0',
        JOB_DELAY_MAX_MS: '500',
        JOB_DELAY_STEP_MS: '100',
        RATE_LIMIT_CREATES: '0',
        LOG_LEVEL: 'debug',
      },
      maxLogLines: 500_000,
    });
  });

  afterAll(async () => {
    await server?.stop();
    await unsplash?.close();
  });

  it('writes the outcome of every job running at SIGTERM before closing the store, and settles each job once across the restart', async () => {
    unsplash.setFaults({ rate: 0.7, kinds: ['stall'] });
    const acknowledged = new Set<string>();
    let creating = true;
    const client = async () => {
      while (creating) {
        try {
          const res = await createJob(server);
          if (res.status !== 202) return; // shutting down: a real client backs off
          acknowledged.add((JSON.parse(res.body) as { id: string }).id);
        } catch {
          return; // the server stopped listening under this request
        }
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, client));

    await expect.poll(async () => (await counts(server)).running, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(20);
    // The jobs running just before the signal (any that end before it are settled in this run too).
    const runningAtSignal = ((await (await fetch(`${server.url}/jobs?status=running&limit=1000`)).json()) as { id: string }[]).map(
      (job) => job.id,
    );
    expect(runningAtSignal.length).toBeGreaterThan(0);
    server.kill('SIGTERM');
    const exit = await server.waitForExit();
    creating = false;
    await load;
    expect(exit).toEqual({ code: 0, signal: null });

    const firstRun = logEntries(server);
    expect(firstRun.some((entry) => entry.msg === 'shut down cleanly')).toBe(true);
    const settledBeforeStop = new Set(firstRun.filter((entry) => entry.msg === 'job settled').map((entry) => entry.jobId as string));
    for (const id of runningAtSignal)
      expect(settledBeforeStop.has(id), `job ${id}, running at SIGTERM, settled before the exit`).toBe(true);

    unsplash.setFaults({ rate: 0, kinds: [] });
    await server.restart();
    await expect
      .poll(() => counts(server), { timeout: 60_000, interval: 250 })
      .toEqual({ pending: 0, running: 0, resolved: acknowledged.size, failed: 0, cancelled: 0 });

    // A job's count moves when its outcome is committed; its log line follows on the child's stdout.
    await expect
      .poll(() => {
        const settled = new Set(
          logEntries(server)
            .filter((entry) => entry.msg === 'job settled')
            .map((entry) => entry.jobId),
        );
        return [...acknowledged].every((id) => settled.has(id));
      })
      .toBe(true);
    const all = logEntries(server);
    const closedStore = all.filter((entry) => /store is closed|StoreClosedError/.test(JSON.stringify(entry)));
    expect(closedStore).toEqual([]);
    // Exactly once: every acknowledged job's outcome was written by one run only.
    const settles = new Map<string, number>();
    for (const entry of all)
      if (entry.msg === 'job settled') settles.set(entry.jobId as string, (settles.get(entry.jobId as string) ?? 0) + 1);
    for (const id of acknowledged) expect(settles.get(id), `job ${id}`).toBe(1);
    expect(all.filter((entry) => entry.msg === 'claim lost before the outcome was written; the job will run again elsewhere')).toEqual([]);
  });
});
