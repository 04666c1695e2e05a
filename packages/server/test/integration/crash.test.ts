import { randomUUID } from 'node:crypto';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROUNDS = 10;
const CLIENTS = 24;

interface Stats {
  counts: { pending: number; running: number; resolved: number; failed: number };
  lastSeq: number;
}

async function stats(server: ServerProcess): Promise<Stats> {
  return (await (await fetch(`${server.url}/stats`)).json()) as Stats;
}

/** Creates jobs from many clients until `stop` aborts; returns the keys sent and the jobs acknowledged. */
async function createUnderLoad(server: ServerProcess, stop: AbortSignal) {
  const acknowledged = new Map<string, string>();
  const unacknowledged: string[] = [];
  const client = async () => {
    while (!stop.aborted) {
      const key = randomUUID();
      try {
        const response = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { 'idempotency-key': key } });
        if (response.status !== 202) throw new Error(`status ${response.status}`);
        acknowledged.set(key, ((await response.json()) as { id: string }).id);
      } catch {
        // The process died under this request: we cannot know whether the job exists.
        unacknowledged.push(key);
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return { acknowledged, unacknowledged };
}

describe('crash safety (SIGKILL under load)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      // Thousands of creates from one address: the per-client limit would refuse most of them.
      env: { JOB_DELAY_MIN_MS: '500', JOB_DELAY_MAX_MS: '4000', JOB_DELAY_STEP_MS: '500', RATE_LIMIT_CREATES: '0' },
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it(`keeps every acknowledged job across ${ROUNDS} kills, creates none twice, and resolves them all`, async () => {
    const acknowledged = new Map<string, string>();
    const unacknowledged: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const stop = new AbortController();
      const load = createUnderLoad(server, stop.signal);
      // Kill at a random moment while requests are in flight.
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 600));
      server.kill('SIGKILL');
      stop.abort();
      const result = await load;
      expect((await server.waitForExit()).signal).toBe('SIGKILL');
      for (const [key, id] of result.acknowledged) acknowledged.set(key, id);
      unacknowledged.push(...result.unacknowledged);

      await server.restart();
      const ids = [...result.acknowledged.values()];
      for (let i = 0; i < ids.length; i += 50) {
        const statuses = await Promise.all(
          ids.slice(i, i + 50).map(async (id) => [id, (await fetch(`${server.url}/jobs/${id}`)).status] as const),
        );
        for (const [id, status] of statuses) expect(status, `acknowledged job ${id} (round ${round}) after restart`).toBe(200);
      }
    }
    expect(acknowledged.size).toBeGreaterThan(ROUNDS * 10);
    console.info(`crash test: ${acknowledged.size} jobs acknowledged, ${unacknowledged.length} requests cut off, ${ROUNDS} kills`);

    // A client that never heard back retries with its key: it gets the job if it was made, a new one if not; never two.
    for (const key of unacknowledged) {
      const response = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { 'idempotency-key': key } });
      expect(response.status).toBe(202);
    }
    for (const [key, id] of acknowledged) {
      const response = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { 'idempotency-key': key } });
      expect(response.headers.get('idempotent-replayed')).toBe('true');
      expect(((await response.json()) as { id: string }).id).toBe(id);
    }
    const keys = acknowledged.size + unacknowledged.length;
    const total = (counts: Stats['counts']) => counts.pending + counts.running + counts.resolved + counts.failed;
    expect(total((await stats(server)).counts)).toBe(keys);

    // Every pending job then runs, including those whose runAt passed while the server was down.
    await expect
      .poll(async () => (await stats(server)).counts, { timeout: 60_000, interval: 250 })
      .toEqual({ pending: 0, running: 0, resolved: keys, failed: 0 });
  });
});
