import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir } from '@simmer/testkit/temp-dir';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const CAN_UNSHARE = process.platform === 'linux' && process.getuid?.() === 0;

interface NamespacedRun {
  /** Resolves with the URL once the server logs that it listens; rejects if it exits first. */
  listening: Promise<string>;
  exited: Promise<{ code: number | null; output: string }>;
  kill(): void;
}

/**
 * Starts the server in its own PID namespace (as a second container would be): its pids mean
 * nothing to ours. `--kill-child`: killing `unshare` alone left the server running, adopted by init.
 */
function startInPidNamespace(dataDir: string): NamespacedRun {
  const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', RATE_LIMIT_CREATES: '0' };
  const child = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', process.execPath, MAIN], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let onListening: (url: string) => void = () => {};
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.on('exit', (code) => resolve({ code, output })));
  const listening = new Promise<string>((resolve, reject) => {
    onListening = resolve;
    void exited.then(({ code }) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
  });
  listening.catch(() => {}); // a refused start is awaited through `exited`
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    const match = /"url":"(http:[^"]+)"/.exec(output);
    if (match) onListening(match[1]!);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return { listening, exited, kill: () => child.kill('SIGKILL') };
}

/** Creates jobs from a few clients until `stop` aborts; returns the ids acknowledged. */
async function createUnderLoad(url: string, stop: AbortSignal): Promise<string[]> {
  const ids: string[] = [];
  const client = async () => {
    while (!stop.aborted) {
      const response = await fetch(`${url}/jobs`, { method: 'POST', headers: { 'idempotency-key': randomUUID() } });
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  return ids;
}

describe('one process per DATA_DIR (an operating-system lock)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it.skipIf(!CAN_UNSHARE)(
    'refuses a second server in another PID namespace while the first is under load, naming the holder; takes over once the holder is dead',
    async () => {
      const dataDir = await makeTempDir('simmer-lock-');
      cleanups.push(() => removeTempDir(dataDir));
      const first = await startServerProcess({
        dataDir,
        env: { JOB_DELAY_MIN_MS: '3600000', JOB_DELAY_MAX_MS: '3600000', RATE_LIMIT_CREATES: '0' },
      });
      cleanups.push(() => first.stop());

      const stop = new AbortController();
      const load = createUnderLoad(first.url, stop.signal);
      const second = startInPidNamespace(dataDir);
      const refused = await second.exited;
      stop.abort();
      const acknowledged = await load;

      expect(refused.code).not.toBe(0);
      expect(refused.output).toContain(`DATA_DIR ${dataDir} is in use by process ${first.pid} on host ${hostname()}`);
      expect(acknowledged.length).toBeGreaterThan(0);
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
      await expectAllThere(first.url, acknowledged);

      // The holder dies without a word: the lock goes with it, and the namespaced server takes the directory over.
      first.kill('SIGKILL');
      await first.waitForExit();
      const takeover = startInPidNamespace(dataDir);
      cleanups.push(async () => {
        takeover.kill();
        await takeover.exited;
      });
      const url = await takeover.listening;
      await expectAllThere(url, acknowledged);
    },
  );

  it('lets exactly one of two servers started at the same instant have the directory', async () => {
    for (let round = 0; round < 2; round++) {
      const dataDir = await makeTempDir('simmer-lock-race-');
      cleanups.push(() => removeTempDir(dataDir));
      const starts = await Promise.allSettled([0, 1].map(() => startServerProcess({ dataDir })));
      const winners = starts.filter((start): start is PromiseFulfilledResult<ServerProcess> => start.status === 'fulfilled');
      for (const winner of winners) cleanups.push(() => winner.value.stop());
      expect(winners).toHaveLength(1);
      const loser = starts.find((start) => start.status === 'rejected');
      expect(String(loser?.reason)).toMatch(/is in use by process \d+ on host/);
    }
  });
});

async function expectAllThere(url: string, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 50) {
    const statuses = await Promise.all(ids.slice(i, i + 50).map(async (id) => (await fetch(`${url}/jobs/${id}`)).status));
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  }
}
