import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventStream, type StreamState } from './event-stream';
import type { SseEvent } from '@simmer/contracts/sse';

interface Connection {
  url: string;
  headers: Record<string, string>;
  push: (text: string) => void;
  end: () => void;
}

function fakeServer(refusals: { status: number; retryAfter: string }[] = []) {
  const connections: Connection[] = [];
  let refused = 0;
  const waiters: (() => void)[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    const refusal = refusals.shift();
    if (refusal) {
      refused += 1;
      return new Response('{}', { status: refusal.status, headers: { 'Retry-After': refusal.retryAfter } });
    }
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => (controller = c) });
    init.signal?.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')));
    const encoder = new TextEncoder();
    connections.push({
      url,
      headers: init.headers as Record<string, string>,
      push: (text) => controller.enqueue(encoder.encode(text)),
      end: () => controller.close(),
    });
    waiters.splice(0).forEach((wake) => wake());
    return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
  }) as unknown as typeof globalThis.fetch;
  const connection = async (n: number): Promise<Connection> => {
    while (connections.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    return connections[n - 1]!;
  };
  return { fetch, connections, connection, refused: () => refused };
}

// Fake time: backoffs, Retry-After and the idle watchdog run when a test moves the clock, not before.
const streams: EventStream[] = [];
beforeEach(() => void vi.useFakeTimers());
afterEach(() => {
  streams.splice(0).forEach((s) => s.stop());
  vi.useRealTimers();
});

/** The longest first reconnect with the test backoff: the 250 ms floor plus at most capMs (5) of jitter. */
const FIRST_RETRY_MS = 255;

function open(server: ReturnType<typeof fakeServer>, initialSeq: number | null, idleTimeoutMs = 10_000) {
  const events: [SseEvent, number | null, number | null][] = [];
  const states: StreamState[] = [];
  const stream = new EventStream(
    {
      url: '/events',
      onEvent: (event, seq, previous) => events.push([event, seq, previous]),
      onStateChange: (state) => states.push(state),
      isOnline: () => true,
      subscribeOnline: () => () => {},
      fetch: server.fetch,
      backoff: { baseMs: 1, maxMs: 5 },
      idleTimeoutMs,
    },
    initialSeq,
  );
  streams.push(stream);
  stream.start();
  return { stream, events, states };
}

/** Lets what is already under way (stream reads, callbacks) run, without moving the clock. */
const settled = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await vi.advanceTimersByTimeAsync(0);
  expect(check()).toBe(true);
};

describe('EventStream', () => {
  it('resumes after a dropped connection from the last sequence number it saw', async () => {
    const server = fakeServer();
    const { stream, events } = open(server, 41);
    const first = await server.connection(1);
    expect(first.url).toBe('/events?after=41');
    expect(first.headers['Last-Event-ID']).toBe('41');
    first.push('id: 42\nevent: job\ndata: {"id":"a"}\n\nevent: ready\ndata: {}\n\n: heartbeat\n\nid: 43\nevent: job\ndata: {"id":"b"}\n\n');
    await settled(() => events.length === 3);
    expect(events.map(([e, seq, prev]) => [e.event, seq, prev])).toEqual([
      ['job', 42, 41],
      ['ready', 42, 42],
      ['job', 43, 42],
    ]);
    expect(stream.snapshot).toMatchObject({ status: 'live', failures: 0, lastSeq: 43 });

    first.end();
    await vi.advanceTimersByTimeAsync(FIRST_RETRY_MS);
    const second = await server.connection(2);
    expect(second.url).toBe('/events?after=43');
  });

  it('counts failures until a stream gets through its replay, and reports reconnecting meanwhile', async () => {
    const server = fakeServer();
    const { stream, states } = open(server, null);
    (await server.connection(1)).end();
    await vi.advanceTimersByTimeAsync(FIRST_RETRY_MS);
    (await server.connection(2)).end();
    await vi.advanceTimersByTimeAsync(FIRST_RETRY_MS);
    await server.connection(3);
    expect(states.some((s) => s.status === 'reconnecting' && s.failures === 2)).toBe(true);
    (await server.connection(3)).push('event: ready\ndata: {}\n\n');
    await settled(() => stream.snapshot.failures === 0 && stream.snapshot.status === 'live');
  });

  it('treats a connection that sends nothing, not even a heartbeat, as dead', async () => {
    const server = fakeServer();
    open(server, 7, 60);
    await server.connection(1);
    // Silent past the idle timeout (60 ms), seen at the watchdog's next look (every 30 ms), then the retry.
    await vi.advanceTimersByTimeAsync(59);
    expect(server.connections).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(31 + FIRST_RETRY_MS);
    const second = await server.connection(2);
    expect(second.url).toBe('/events?after=7');
  });

  it('waits as Retry-After says when the server refuses the stream, failing enough for polling to stand in', async () => {
    const server = fakeServer([{ status: 429, retryAfter: '1' }]);
    const started = Date.now();
    const { stream } = open(server, 5);
    await settled(() => server.refused() === 1 && stream.snapshot.status === 'reconnecting');
    // Two failures at once: the page polls meanwhile (LiveUpdates polls from the second failure).
    expect(stream.snapshot.failures).toBeGreaterThanOrEqual(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(server.connections).toHaveLength(0);
    // Retry-After plus up to a second of jitter.
    await vi.advanceTimersByTimeAsync(1_001);
    const connection = await server.connection(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(connection.url).toBe('/events?after=5');
  });

  it('stays away while offline and reconnects at once when the browser is back online, however long its backoff had grown', async () => {
    const server = fakeServer();
    let setOnline: (online: boolean) => void = () => {};
    const stream = new EventStream(
      {
        url: '/events',
        onEvent: () => {},
        isOnline: () => true,
        subscribeOnline: (listener) => {
          setOnline = listener;
          return () => {};
        },
        fetch: server.fetch,
        // A backoff far past the test's own bound: only the online signal can bring the next connection in time.
        backoff: { baseMs: 60_000, maxMs: 60_000 },
        random: () => 0.1,
      },
      9,
    );
    streams.push(stream);
    stream.start();
    (await server.connection(1)).end();
    await settled(() => stream.snapshot.status === 'reconnecting');
    setOnline(false);
    expect(stream.snapshot.status).toBe('offline');
    setOnline(true);
    // Back online: at once but for a jitter of up to a second (random 0.1: 100 ms), not after the minute of backoff.
    await vi.advanceTimersByTimeAsync(100);
    const second = await server.connection(2);
    expect(second.url).toBe('/events?after=9');
    expect(stream.snapshot.failures).toBe(0);
  });
});
