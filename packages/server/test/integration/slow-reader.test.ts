import net from 'node:net';
import type { Stats } from '@simmer/contracts';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Resolved jobs (about 900 bytes a frame): a replay of them is far more than the kernel's socket buffers hold. */
const SEEDED = 10_000;
const CREATED = 40_000;
/**
 * The bound on the server's heap: its old generation is capped at this (`--max-old-space-size`),
 * so V8 collects fully as it nears the cap, and a server whose live heap passed it dies of it
 * (the test then fails: creates, the stream count and /healthz stop answering). Sampled peaks of
 * heap used are no bound on their own: they count garbage not yet collected, and inside a full
 * `npm test` they were 93, 123 and 162 MB in three runs of the same code, 94–104 MB alone; the
 * test logs its peak. Live, the server holds its store (10,000 resolved and 40,000 pending jobs)
 * in well under the cap. Before the event streams were bounded, the stalled replay held every
 * later change for its reader and was never dropped (the issue measured RSS going from 96 MB to
 * 305 MB).
 */
const OLD_SPACE_MB = 160;

async function createJobs(server: ServerProcess, count: number, concurrency = 64): Promise<void> {
  let made = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (made < count) {
        made += 1;
        const response = await fetch(`${server.url}/jobs`, { method: 'POST' });
        if (response.status !== 202) throw new Error(`POST /jobs: ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
      }
    }),
  );
}

/** Polls a condition in another process (hooks cannot use expect.poll). */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check());) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function metrics(server: ServerProcess): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

describe('a slow reader on /events', () => {
  let server: ServerProcess;
  let seeder: ServerProcess | undefined;

  beforeAll(async () => {
    // A store of resolved jobs, made by a server whose jobs run at once; then the server under test on it.
    seeder = await startServerProcess({ env: { JOB_DELAY_MIN_MS: '0', JOB_DELAY_MAX_MS: '0', RATE_LIMIT_CREATES: '0' } });
    await createJobs(seeder, SEEDED);
    await until(async () => ((await (await fetch(`${seeder!.url}/stats`)).json()) as Stats).counts.resolved === SEEDED, 60_000);
    seeder.kill('SIGTERM');
    await seeder.waitForExit();
    server = await startServerProcess({
      dataDir: seeder.dataDir,
      nodeArgs: [`--max-old-space-size=${OLD_SPACE_MB}`],
      env: {
        JOB_DELAY_MIN_MS: '3600000',
        JOB_DELAY_MAX_MS: '3600000',
        RATE_LIMIT_CREATES: '0',
        EVENTS_STALL_TIMEOUT_MS: '5000',
        EVENTS_HEARTBEAT_MS: '1000', // below the stall timeout, as the configuration requires
        EVENTS_REPLAY_LIMIT: String(2 * SEEDED),
      },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await seeder?.stop();
  });

  it(`that resumes from far behind and never reads while ${CREATED.toLocaleString('en')} jobs are created is disconnected, and the heap stays bounded`, async () => {
    // A raw socket from another address asks for everything since 1, then reads nothing.
    const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.2' });
    socket.on('error', () => {});
    socket.pause();
    socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nLast-Event-ID: 1\r\n\r\n`);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await expect.poll(async () => (await metrics(server)).get('simmer_event_streams')).toBe(1);

    let peakHeap = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakHeap = Math.max(
          peakHeap,
          (await metrics(server).catch(() => new Map<string, number>())).get('nodejs_heap_size_used_bytes') ?? 0,
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      await createJobs(server, CREATED);
      // The server ends the stream by itself: it accepted nothing for 5 s (its replay never fit the socket).
      await expect.poll(async () => (await metrics(server)).get('simmer_event_streams'), { timeout: 15_000 }).toBe(0);
    } finally {
      sampling = false;
      await sampler;
    }

    const after = await metrics(server);
    expect(after.get('simmer_event_streams_dropped_total{reason="stalled"}')).toBe(1);
    console.info(
      `slow reader: dropped for stalling; peak heap used ${(peakHeap / 2 ** 20).toFixed(1)} MB over ${CREATED} creates, old generation capped at ${OLD_SPACE_MB} MB`,
    );
    // The server lived through it under its cap (it would have died of a heap past it).
    expect(server.child.exitCode).toBeNull();

    // Its socket sees the end once it reads again; the server kept serving meanwhile.
    socket.resume();
    await closed;
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 120_000);
});
