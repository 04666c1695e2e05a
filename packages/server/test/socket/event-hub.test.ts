import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { EVENT_JOB, EVENT_READY } from '@simmer/contracts';
import { connectSse, type SseEvent } from '@simmer/testkit/sse-client';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_BACKLOG_LIMIT_BYTES, EventHub, FAN_OUT_SLICE, type EventHubOptions } from '../../src/http/events/event-hub.js';
import { createMetrics } from '../../src/metrics.js';
import type { FileStore } from '../../src/store/file/file-store.js';
import type { JobStore } from '../../src/store/job-store.js';
import { silentLogger as logger, useTempFileStores } from '../temp-file-store.js';

const newJob = () => ({ id: uuidv7(), createdAt: Date.now(), runAt: Date.now() + 3_600_000, idempotencyKey: null });

/** A client that sends its request and then never reads: the kernel's buffers fill, then the server's. */
function stalledClient(server: http.Server, lastEventId?: number): { closed: Promise<void>; socket: net.Socket } {
  const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.pause();
  const resume = lastEventId === undefined ? '' : `Last-Event-ID: ${lastEventId}\r\n`;
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${resume}\r\n`);
  socket.on('error', () => {});
  return { socket, closed: new Promise<void>((resolve) => socket.once('close', () => resolve())) };
}

/** A hub with the server's own settings, but for those a test sets. */
const makeHub = (options: Pick<EventHubOptions, 'store'> & Partial<EventHubOptions>) =>
  new EventHub({
    logger,
    metrics: createMetrics(),
    heartbeatMs: 15_000,
    replayLimit: 5_000,
    maxBufferedBytes: EVENT_BACKLOG_LIMIT_BYTES,
    stallTimeoutMs: 30_000,
    ...options,
  });

/**
 * The hub behind a bare node:http server, as the /events route mounts it: the head flushed, the
 * body the hub's. `GET /held` answers only when `release` is called (a request to pipeline behind).
 */
async function serveHub(
  hub: EventHub,
  onStream: (socket: net.Socket) => void = () => {},
): Promise<{ url: string; server: http.Server; release: () => void }> {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const server = http.createServer((req, res) => {
    if (req.url === '/held') {
      void held.then(() => res.end('held answer'));
      return;
    }
    const after = req.headers['last-event-id'];
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.flushHeaders();
    onStream(res.socket!);
    void hub.subscribe(res, typeof after === 'string' ? Number(after) : null);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, release };
}

/** A raw connection that sends `request` as given and collects everything the server sends back. */
function rawExchange(server: http.Server, request: string): { received: () => string; socket: net.Socket } {
  const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => {});
  socket.write(request);
  return { received: () => text, socket };
}

/**
 * The writes made to a server-side socket from now on, each as the one system call it becomes:
 * whatever is written while the socket is corked goes out together when it is uncorked.
 */
function recordWrites(socket: net.Socket): string[][] {
  const writes: string[][] = [];
  let corked: string[] | null = null;
  let depth = 0;
  const cork = socket.cork.bind(socket);
  const uncork = socket.uncork.bind(socket);
  const write = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  socket.cork = () => {
    depth += 1;
    corked ??= [];
    cork();
  };
  socket.uncork = () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0 && corked) {
      if (corked.length > 0) writes.push(corked);
      corked = null;
    }
    uncork();
  };
  socket.write = (chunk: Buffer, ...rest: unknown[]) => {
    const text = chunk.toString('latin1');
    if (corked) corked.push(text);
    else writes.push([text]);
    return write(chunk, ...rest);
  };
  return writes;
}

/** The chunks of a body in the chunked transfer coding, each one write of the server; throws on a malformed chunk. */
function chunksOf(body: string): string[] {
  const chunks: string[] = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd === -1) break; // a chunk still on its way
    const size = Number.parseInt(body.slice(at, lineEnd), 16);
    if (!/^[0-9a-f]+$/.test(body.slice(at, lineEnd))) throw new Error(`not a chunk size: ${JSON.stringify(body.slice(at, lineEnd))}`);
    if (body.length < lineEnd + 2 + size + 2) break;
    chunks.push(body.slice(lineEnd + 2, lineEnd + 2 + size));
    if (body.slice(lineEnd + 2 + size, lineEnd + 4 + size) !== '\r\n') throw new Error('a chunk not ended by CRLF');
    at = lineEnd + 4 + size;
  }
  return chunks;
}

/** The body of a response in the chunked transfer coding, decoded. */
const decodeChunked = (body: string): string => chunksOf(body).join('');

describe('EventHub', () => {
  const dir = useTempFileStores('simmer-event-hub-');
  let store: FileStore;
  let hub: EventHub | undefined;
  let server: http.Server | undefined;

  beforeEach(async () => {
    store = await dir.open();
  });

  afterEach(async () => {
    hub?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('reads the changes again after a failed read, without waiting for another commit', async () => {
    // The real store, with its first read of changes failing as a lost database connection would.
    let failures = 1;
    const flaky: JobStore = Object.create(store, {
      changesSince: {
        value: (after: number, limit: number) =>
          failures-- > 0 ? Promise.reject(new Error('connection lost')) : store.changesSince(after, limit),
      },
    });
    hub = makeHub({ store: flaky });
    hub.start();
    let url: string;
    ({ server, url } = await serveHub(hub));
    const stream = await connectSse(url);
    expect((await stream.take(1))[0]!.event).toBe(EVENT_READY);

    const { job } = await store.createJob(newJob());
    const [event] = await stream.take(1, 5_000);
    expect(failures).toBe(-1);
    expect(event!.event).toBe(EVENT_JOB);
    expect(event!.id).toBe(String(job.updatedSeq));
    stream.close();
  });

  it('reads nothing per commit while no stream is open, and a stream opened later starts level with the store', async () => {
    // The real store, counting what the hub asks of it.
    let following = 0;
    let reads = 0;
    const counted: JobStore = Object.create(store, {
      onCommit: {
        value: (listener: (lastSeq: number) => void) => {
          following += 1;
          const unsubscribe = store.onCommit(listener);
          return () => {
            following -= 1;
            unsubscribe();
          };
        },
      },
      changesSince: {
        value: (after: number, limit: number) => {
          reads += 1;
          return store.changesSince(after, limit);
        },
      },
    });
    hub = makeHub({ store: counted });
    hub.start();
    let url: string;
    ({ server, url } = await serveHub(hub));
    for (let i = 0; i < 20; i++) await store.createJob(newJob());
    expect({ following, reads }).toEqual({ following: 0, reads: 0 });

    // A new stream starts from the store's head, not from where the hub last looked.
    const first = await connectSse(url);
    const [ready] = await first.take(1);
    expect(ready!.event).toBe(EVENT_READY);
    expect(JSON.parse(ready!.data)).toEqual({ lastSeq: await store.lastSeq() });
    const { job: watched } = await store.createJob(newJob());
    const [live] = await first.take(1, 5_000);
    expect(live!.id).toBe(String(watched.updatedSeq));
    first.close();
    await expect.poll(() => following).toBe(0);

    // Unwatched again: nothing read; a resume from the last event still gets exactly what it missed.
    const readsBefore = reads;
    const unwatched = [];
    for (let i = 0; i < 5; i++) unwatched.push((await store.createJob(newJob())).job);
    expect(reads).toBe(readsBefore);
    const resumed = await connectSse(url, { lastEventId: live!.id! });
    const replay = await resumed.take(unwatched.length + 1, 5_000);
    expect(replay.map((event) => event.event)).toEqual([...unwatched.map(() => EVENT_JOB), EVENT_READY]);
    expect(replay.slice(0, -1).map((event) => event.id)).toEqual(unwatched.map((job) => String(job.updatedSeq)));
    resumed.close();
  });

  it('drops a client that stops reading, and the client resumes with exactly what it missed', async () => {
    hub = makeHub({ store, maxBufferedBytes: 256 * 1024, replayLimit: 100_000, heartbeatMs: 200 });
    // (A heartbeat is a write too, so a stalled client's backlog is judged at least that often.)
    hub.start();
    let url: string;
    ({ server, url } = await serveHub(hub));

    const { socket: stalled, closed: stalledClosed } = stalledClient(server);
    await expect.poll(() => hub!.size).toBe(1);

    const reader = await connectSse(url);
    const received: SseEvent[] = [];
    void (async () => {
      for await (const event of reader) if (event.event === EVENT_JOB) received.push(event);
    })();

    // How much the kernel buffers for a socket that does not read varies (send buffers grow to
    // 4 MB here), so changes go on, about 300 bytes each, until the hub has dropped the stalled
    // client; the cap is far above any socket buffer, the limit (256 KB) far below.
    let count = 0;
    while (hub.size > 1 && count < 100_000) {
      await Promise.all(Array.from({ length: 1_000 }, () => store.createJob(newJob())));
      count += 1_000;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await expect.poll(() => hub!.size, { timeout: 10_000 }).toBe(1);
    expect(count).toBeLessThan(100_000);
    stalled.resume();
    await stalledClosed;

    // The reading client kept up and got everything; a resume from the middle gets the rest, in order.
    await expect.poll(() => received.length, { timeout: 20_000 }).toBe(count);
    const half = count / 2;
    const resumed = await connectSse(url, { lastEventId: received[half - 1]!.id! });
    const replay = (await resumed.take(half + 1, 20_000)).filter((event) => event.event === EVENT_JOB);
    expect(replay.map((event) => event.id)).toEqual(received.slice(half).map((event) => event.id));
    resumed.close();
    reader.close();
  }, 60_000);

  it('drops a client that resumes from far behind and reads nothing, without queuing changes for it meanwhile', async () => {
    // A replay far larger than the kernel's socket buffers (about 15 MB against a few), and a short stall timeout.
    for (let i = 0; i < 60; i++) await Promise.all(Array.from({ length: 1_000 }, () => store.createJob(newJob())));
    const metrics = createMetrics();
    // Heartbeats every 100 ms keep the reading client's socket busy through a long pause of the
    // event loop (reading 60,000 changes for the replay is one), so only the stalled one times out.
    hub = makeHub({ store, metrics, replayLimit: 100_000, stallTimeoutMs: 500, heartbeatMs: 100, maxBufferedBytes: 256 * 1024 });
    hub.start();
    let url: string;
    ({ server, url } = await serveHub(hub));

    const stalled = stalledClient(server, 0);
    await expect.poll(() => hub!.size).toBe(1);
    // Live changes go on meanwhile; none of them is held for the client still replaying.
    const reader = await connectSse(url);
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 1_000 }, () => store.createJob(newJob())));
    await expect.poll(() => hub!.size, { timeout: 10_000 }).toBe(1);
    const dropped = await metrics.eventStreamsDropped.get();
    // Dropped for accepting nothing, never for a backlog: the hub kept nothing unsent for it.
    expect(dropped.values).toEqual([expect.objectContaining({ labels: { reason: 'stalled' }, value: 1 })]);
    stalled.socket.resume();
    await stalled.closed;
    reader.close();
  }, 60_000);

  it('gives a change read during a round to the streams still ahead in that round, and to the rest in the next, once each and in order', async () => {
    // The real store, showing the hub its changes only up to `visibleThrough`, and telling it of
    // commits only when the test says: change B becomes visible at the first yield of A's round.
    let visibleThrough = await store.lastSeq();
    const listeners: ((lastSeq: number) => void)[] = [];
    let releaseAt = Infinity;
    const staged: JobStore = Object.create(store, {
      onCommit: {
        value: (listener: (lastSeq: number) => void) => {
          listeners.push(listener);
          return () => listeners.splice(listeners.indexOf(listener), 1);
        },
      },
      changesSince: {
        value: async (after: number, limit: number) => {
          const read = await store.changesSince(after, limit);
          const visible = read.reset ? read : { ...read, changes: read.changes.filter((change) => change.seq <= visibleThrough) };
          if (!read.reset && visible.changes.some((change) => change.seq === releaseAt)) {
            releaseAt = Infinity;
            // Queued before the round's first slice queues its own resume: runs at its first yield.
            setImmediate(() => {
              visibleThrough = Infinity;
              for (const listener of [...listeners]) listener(visibleThrough);
            });
          }
          return visible;
        },
      },
    });
    hub = makeHub({ store: staged });
    hub.start();
    const writes: string[][][] = [];
    ({ server } = await serveHub(hub, (socket) => writes.push(recordWrites(socket))));
    const streams = Array.from({ length: 4 * FAN_OUT_SLICE }, () =>
      rawExchange(server!, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n'),
    );
    await expect.poll(() => streams.every((stream) => stream.received().includes(EVENT_READY)), { timeout: 10_000 }).toBe(true);

    // Both committed while the hub sees neither; then A is shown, and B joins A's round.
    const { job: a } = await store.createJob(newJob());
    const { job: b } = await store.createJob(newJob());
    visibleThrough = a.updatedSeq;
    releaseAt = a.updatedSeq;
    for (const listener of [...listeners]) listener(visibleThrough);

    const framesOf = (chunk: string) => [...chunk.matchAll(/^id: (\d+)\nevent: job$/gm)].map((match) => Number(match[1]));
    const bodyOf = (stream: (typeof streams)[number]) => stream.received().split('\r\n\r\n').slice(1).join('\r\n\r\n');
    await expect
      .poll(() => streams.every((stream) => decodeChunked(bodyOf(stream)).includes(`id: ${b.updatedSeq}\n`)), { timeout: 10_000 })
      .toBe(true);
    for (const stream of streams) {
      const seqs = chunksOf(bodyOf(stream)).flatMap(framesOf);
      expect(seqs).toEqual([a.updatedSeq, b.updatedSeq]);
    }
    // The first slice had A before B was read; every stream after it had both in one write.
    const jobWrites = writes.map((socket) => socket.map((write) => write.flatMap(framesOf)).filter((seqs) => seqs.length > 0));
    expect(jobWrites).toHaveLength(streams.length);
    const together = jobWrites.filter((socket) => socket.length === 1 && socket[0]!.length === 2).length;
    expect(together).toBe(streams.length - FAN_OUT_SLICE);
    for (const stream of streams) stream.socket.destroy();
  });

  it('writes an HTTP/1.1 stream as well-formed chunks, also behind a pipelined request, and an HTTP/1.0 stream as plain frames', async () => {
    hub = makeHub({ store });
    hub.start();
    let release: () => void;
    ({ server, release } = await serveHub(hub));
    // HTTP/1.1, pipelined behind a request that has not been answered yet: the stream waits for its turn.
    const pipelined = rawExchange(server, 'GET /held HTTP/1.1\r\nHost: x\r\n\r\nGET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    const old = rawExchange(server, 'GET /events HTTP/1.0\r\n\r\n');
    await expect.poll(() => old.received()).toContain(`event: ${EVENT_READY}`);
    const { job: first } = await store.createJob(newJob());
    await expect.poll(() => old.received()).toContain(`id: ${first.updatedSeq}\nevent: ${EVENT_JOB}\n`);
    expect(pipelined.received()).toBe('');

    release!();
    await expect.poll(() => pipelined.received()).toContain(`event: ${EVENT_READY}`);
    const { job: second } = await store.createJob(newJob());
    await expect.poll(() => pipelined.received()).toContain(`id: ${second.updatedSeq}\nevent: ${EVENT_JOB}`);
    await expect.poll(() => old.received()).toContain(`id: ${second.updatedSeq}\nevent: ${EVENT_JOB}\n`);

    // The held answer first, whole; then the stream's head and its body in chunks, nothing else.
    const [heldResponse, eventsResponse] = pipelined.received().split(/(?=HTTP\/1\.1 200)/);
    expect(heldResponse).toMatch(/held answer$/);
    const [eventsHead, eventsBody] = eventsResponse!.split('\r\n\r\n', 2) as [string, string];
    expect(eventsHead.toLowerCase()).toContain('transfer-encoding: chunked');
    const frames = decodeChunked(eventsBody).split('\n\n');
    expect(frames.slice(0, 2)).toEqual([
      'retry: 2000',
      `id: ${first.updatedSeq}\nevent: ${EVENT_READY}\ndata: {"lastSeq":${first.updatedSeq}}`,
    ]);
    expect(frames[2]).toMatch(new RegExp(`^id: ${second.updatedSeq}\nevent: ${EVENT_JOB}\ndata: \\{"id":"${second.id}"`));

    const [oldHead, oldBody] = old.received().split('\r\n\r\n', 2) as [string, string];
    expect(oldHead.toLowerCase()).not.toContain('transfer-encoding');
    expect(oldBody.split('\n\n').slice(0, 2)).toEqual(['retry: 2000', `id: 0\nevent: ${EVENT_READY}\ndata: {"lastSeq":0}`]);
    pipelined.socket.destroy();
    old.socket.destroy();
  });
});
