import net from 'node:net';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SEEDED = 4_000;
const CREATED = 40_000;
/**
 * The server's heap may not grow past this while the stalled reader is connected. Measured on
 * the 2-core test machine: 40,000 creates alone peak at about 60 MB of heap used; before the
 * event streams were bounded, one stalled resume held every change for its reader and pushed
 * RSS from 96 MB to 305 MB.
 */
const HEAP_BOUND_BYTES = 120 * 1024 * 1024;

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

  beforeAll(async () => {
    server = await startServerProcess({
      env: { JOB_DELAY_MIN_MS: '3600000', JOB_DELAY_MAX_MS: '3600000', RATE_LIMIT_CREATES: '0', EVENTS_STALL_TIMEOUT_MS: '5000' },
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it(`that resumes from far behind and never reads while ${CREATED.toLocaleString('en')} jobs are created is disconnected, and the heap stays bounded`, async () => {
    await createJobs(server, SEEDED);

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
        peakHeap = Math.max(peakHeap, (await metrics(server)).get('nodejs_heap_size_used_bytes') ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    await createJobs(server, CREATED);
    // The server ends the stream by itself: for its backlog, or for accepting nothing in 5 s.
    await expect.poll(async () => (await metrics(server)).get('simmer_event_streams'), { timeout: 15_000 }).toBe(0);
    sampling = false;
    await sampler;

    const after = await metrics(server);
    const dropped =
      (after.get('simmer_event_streams_dropped_total{reason="backlog"}') ?? 0) +
      (after.get('simmer_event_streams_dropped_total{reason="stalled"}') ?? 0);
    expect(dropped).toBe(1);
    console.info(
      `slow reader: dropped (${after.get('simmer_event_streams_dropped_total{reason="stalled"}') ? 'stalled' : 'backlog'}); peak heap used ${(peakHeap / 2 ** 20).toFixed(1)} MB over ${CREATED} creates, bound ${HEAP_BOUND_BYTES / 2 ** 20} MB`,
    );
    expect(peakHeap).toBeGreaterThan(0);
    expect(peakHeap).toBeLessThan(HEAP_BOUND_BYTES);

    // Its socket sees the end once it reads again; the server kept serving meanwhile.
    socket.resume();
    await closed;
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 120_000);
});
