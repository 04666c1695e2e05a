import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const JOBS = 3_000;

async function dataDirBytes(dir: string): Promise<number> {
  let total = 0;
  // A file can go between readdir and stat (a snapshot renamed into place, an old journal removed).
  for (const name of await readdir(dir)) total += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
  return total;
}

describe('compaction (file store)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      env: { JOB_DELAY_MIN_MS: '0', JOB_DELAY_MAX_MS: '0', JOB_RETENTION_MS: '3000', RATE_LIMIT_CREATES: '0', JOB_CONCURRENCY: '64' },
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it(`gives the space of ${JOBS.toLocaleString('en')} expired jobs back: the data directory falls below half its peak within a minute`, async () => {
    let peak = 0;
    const sampler = setInterval(() => void dataDirBytes(server.dataDir).then((bytes) => (peak = Math.max(peak, bytes))), 100);
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next++ < JOBS) expect((await fetch(`${server.url}/jobs`, { method: 'POST' })).status).toBe(202);
      }),
    );
    const total = async () => {
      const counts = ((await (await fetch(`${server.url}/stats`)).json()) as { counts: Record<string, number> }).counts;
      return Object.values(counts).reduce((sum, n) => sum + n, 0);
    };
    // Every job resolves, then is removed: the directory peaks meanwhile.
    await expect.poll(total, { timeout: 60_000, interval: 100 }).toBe(0);
    clearInterval(sampler);
    expect(peak).toBeGreaterThan(1024 * 1024);
    const removedAt = performance.now();
    await expect.poll(() => dataDirBytes(server.dataDir), { timeout: 60_000, interval: 250 }).toBeLessThan(peak / 2);
    console.info(
      `compaction: peak ${(peak / 1024).toFixed(0)} KiB, now ${((await dataDirBytes(server.dataDir)) / 1024).toFixed(0)} KiB, ` +
        `${Math.round(performance.now() - removedAt)} ms after the last removal`,
    );
  });
});
