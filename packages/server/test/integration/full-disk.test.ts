import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir } from '@simmer/testkit/temp-dir';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const CAN_MOUNT = process.platform === 'linux' && process.getuid?.() === 0;
const MiB = 1024 * 1024;
const MIN_FREE = 4 * MiB;
const ENV = {
  DATA_DIR_MIN_FREE_BYTES: String(MIN_FREE),
  JOB_DELAY_MIN_MS: '500',
  JOB_DELAY_MAX_MS: '1500',
  JOB_DELAY_STEP_MS: '500',
  RATE_LIMIT_CREATES: '0',
};

interface Stats {
  counts: { pending: number; running: number; resolved: number; failed: number };
}

async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/** Posts from a few clients until `refusals` 503s have come back; every 503 must carry Retry-After and a problem body. */
async function createUntilRefused(url: string, refusals: number): Promise<{ acknowledged: string[]; refused: number }> {
  const acknowledged: string[] = [];
  let refused = 0;
  const client = async () => {
    for (let i = 0; i < 20_000 && refused < refusals; i++) {
      const response = await fetch(`${url}/jobs`, { method: 'POST', headers: { 'idempotency-key': randomUUID() } });
      if (response.status === 202) {
        acknowledged.push(((await response.json()) as { id: string }).id);
        continue;
      }
      expect(response.status).toBe(503);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      await response.arrayBuffer();
      refused++;
    }
  };
  await Promise.all(Array.from({ length: 6 }, client));
  return { acknowledged, refused };
}

/** Starts the server by hand: on a full disk it listens but /readyz says 503, which startServerProcess waits past. */
function startDegraded(dataDir: string): { url: Promise<string>; stop(): Promise<void> } {
  const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, ...ENV };
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:[^"]+)"/.exec(output);
      if (match) resolve(match[1]!);
    });
    void exited.then(() => reject(new Error(`exited before listening:\n${output}`)));
  });
  url.catch(() => {});
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe.skipIf(!CAN_MOUNT)('a full disk (DATA_DIR on a small tmpfs)', () => {
  let mountPoint: string;
  let dataDir: string;
  let filler: string;
  let server: ServerProcess;

  /** Fills the filesystem until `room` bytes are free. */
  const fillTo = async (room: number) => writeFile(filler, Buffer.alloc(Math.max(0, (await freeBytes(mountPoint)) - room)));

  beforeAll(async () => {
    mountPoint = await makeTempDir('simmer-tmpfs-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', mountPoint]);
    dataDir = `${mountPoint}/data`;
    filler = `${mountPoint}/filler`;
    await mkdir(dataDir);
  });

  afterAll(async () => {
    await server?.stop();
    execFileSync('umount', ['-l', mountPoint]);
    await removeTempDir(mountPoint);
  });

  it('refuses creates with 503 before ENOSPC, never dies, says why, serves reads and settles; creates come back when space does; a restart on the full disk starts degraded and loses nothing', async () => {
    server = await startServerProcess({ dataDir, env: ENV });
    // About a megabyte above the minimum: a few thousand jobs' worth.
    await fillTo(MIN_FREE + MiB);
    const first = await createUntilRefused(server.url, 50);
    expect(first.acknowledged.length).toBeGreaterThan(100);
    expect(server.child.exitCode).toBeNull();
    expect(await freeBytes(mountPoint)).toBeGreaterThan(MIN_FREE / 2);

    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toMatch(/DATA_DIR_MIN_FREE_BYTES/);
    expect((await fetch(`${server.url}/jobs?limit=5`)).status).toBe(200);
    expect((await fetch(`${server.url}/jobs/${first.acknowledged[0]}`)).status).toBe(200);
    expect((await fetch(`${server.url}/events`, { signal: AbortSignal.timeout(2_000) })).status).toBe(200);
    // Jobs already accepted run and settle from the reserve.
    await expect
      .poll(async () => ((await (await fetch(`${server.url}/stats`)).json()) as Stats).counts, { timeout: 60_000, interval: 250 })
      .toMatchObject({ pending: 0, running: 0 });

    await rm(filler);
    await expect.poll(async () => (await fetch(`${server.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    const after = await fetch(`${server.url}/jobs`, { method: 'POST' });
    expect(after.status).toBe(202);
    const acknowledged = [...first.acknowledged, ((await after.json()) as { id: string }).id];

    // Full again, then killed: the restart on a full disk must start (degraded), not crash-loop.
    await fillTo(MIN_FREE / 2);
    server.kill('SIGKILL');
    await server.waitForExit();
    const degraded = startDegraded(dataDir);
    try {
      const url = await degraded.url;
      await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 10_000 }).toBe(503);
      expect((await fetch(`${url}/jobs`, { method: 'POST' })).status).toBe(503);
      for (const id of acknowledged) expect((await fetch(`${url}/jobs/${id}`)).status, id).toBe(200);
      await rm(filler);
      await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
      await expect
        .poll(async () => ((await (await fetch(`${url}/stats`)).json()) as Stats).counts, { timeout: 60_000, interval: 250 })
        .toEqual({ pending: 0, running: 0, resolved: acknowledged.length, failed: 0, cancelled: 0 });
    } finally {
      await degraded.stop();
    }
  });
});
