import { randomUUID } from 'node:crypto';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROUNDS = 10;
const CLIENTS = 24;
/**
 * Each round's kill waits for a random number of acknowledgments in this range, then a random
 * extra moment: it lands at a random point of load that is under way however slow the machine
 * is, rather than after a fixed time that a loaded machine may spend before the first answer.
 */
const KILL_AFTER_ACKS = { min: 20, max: 200 };
const KILL_EXTRA_DELAY_MAX_MS = 250;

interface Stats {
  counts: { pending: number; running: number; resolved: number; failed: number };
  lastSeq: number;
}

async function stats(server: ServerProcess): Promise<Stats> {
  return (await (await fetch(`${server.url}/stats`)).json()) as Stats;
}

/**
 * Creates jobs from many clients until `stop` aborts, calling `onAcknowledged` with the count so
 * far after each acknowledgment; returns the keys sent, the jobs acknowledged, how many creates
 * were refused with 503, and any other answer (a bug).
 */
async function createUnderLoad(server: ServerProcess, stop: AbortSignal, onAcknowledged: (count: number) => void) {
  const acknowledged = new Map<string, string>();
  const unacknowledged: string[] = [];
  const unexpected: string[] = [];
  let refused = 0;
  const client = async () => {
    while (!stop.aborted) {
      const key = randomUUID();
      let status: number;
      let body: string;
      try {
        const response = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { 'idempotency-key': key } });
        status = response.status;
        body = await response.text();
      } catch {
        // The process died under this request: we cannot know whether the job exists.
        unacknowledged.push(key);
        return;
      }
      if (status === 202) {
        acknowledged.set(key, (JSON.parse(body) as { id: string }).id);
        onAcknowledged(acknowledged.size);
      } else if (status === 503) {
        // A loaded machine may shed load (503 + Retry-After); the key is retried at the end like a cut-off one.
        refused++;
        unacknowledged.push(key);
      } else {
        unexpected.push(`${status} ${body}`);
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return { acknowledged, unacknowledged, refused, unexpected };
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

  // Eleven starts of the server: on a busy 2-core host each may take twenty seconds, so more than the usual bound.
  it(`keeps every acknowledged job across ${ROUNDS} kills, creates none twice, and resolves them all`, { timeout: 600_000 }, async () => {
    const acknowledged = new Map<string, string>();
    const unacknowledged: string[] = [];
    let refused = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const stop = new AbortController();
      const killAfter = KILL_AFTER_ACKS.min + Math.floor(Math.random() * (KILL_AFTER_ACKS.max - KILL_AFTER_ACKS.min + 1));
      let loadUnderWay: () => void = () => {};
      const enoughAcknowledged = new Promise<void>((resolve) => (loadUnderWay = resolve));
      const load = createUnderLoad(server, stop.signal, (count) => {
        if (count >= killAfter) loadUnderWay();
      });
      // The load ends by itself only if every client failed; the checks below then say so.
      await Promise.race([enoughAcknowledged, load]);
      // Not a synchronisation: a random moment further into the load, while requests are in flight.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * KILL_EXTRA_DELAY_MAX_MS));
      server.kill('SIGKILL');
      stop.abort();
      const result = await load;
      expect(result.unexpected, `answers to creates in round ${round}`).toEqual([]);
      refused += result.refused;
      expect(result.acknowledged.size, `acknowledgments before the kill of round ${round}`).toBeGreaterThanOrEqual(killAfter);
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
    // The kills cut requests off mid-flight, so the retries below test the unknown outcome too.
    expect(unacknowledged.length).toBeGreaterThan(0);
    console.info(
      `crash test: ${acknowledged.size} jobs acknowledged, ${unacknowledged.length} requests cut off or refused (${refused} refused with 503), ${ROUNDS} kills`,
    );

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
      .poll(async () => (await stats(server)).counts, { timeout: 120_000, interval: 250 })
      .toEqual({ pending: 0, running: 0, resolved: keys, failed: 0, cancelled: 0 });
  });
});
