import { EVENT_JOB, EVENT_READY, EVENT_RESET, type Job } from '@simmer/contracts';
import { connectSse, type SseEvent, type SseStream } from '@simmer/testkit/sse-client';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterEach, describe, expect, it } from 'vitest';
import { serverPerSuite } from './server-per-suite.js';

const STREAMS = 1_000;
const JOBS = 1_000;

/** Creates `count` jobs, `concurrency` requests at a time; returns their ids. */
async function createJobs(server: ServerProcess, count: number, concurrency = 50): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const response = await fetch(`${server.url}/jobs`, { method: 'POST' });
        ids.push(((await response.json()) as Job).id);
      }
    }),
  );
  return ids;
}

describe('live events (GET /events)', () => {
  // Jobs stay pending for the whole test, so each job is exactly one change: ids must run 1, 2, 3, ... with no gap.
  // A thousand streams and creates from one address: past the per-client defaults on purpose.
  const server = serverPerSuite({
    env: {
      JOB_DELAY_MIN_MS: '3600000',
      JOB_DELAY_MAX_MS: '3600000',
      RATE_LIMIT_CREATES: '0',
      EVENTS_MAX_STREAMS_PER_CLIENT: String(STREAMS + 10),
      // The streams, and the connections fetch opens for 50 creates at a time (up to 100 of them, measured).
      MAX_CONNECTIONS_PER_CLIENT: String(STREAMS * 2),
    },
  });
  const streams: SseStream[] = [];

  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });

  const lastSeq = async () => ((await (await fetch(`${server.url}/stats`)).json()) as { lastSeq: number }).lastSeq;

  it(`delivers every change, in order and without gaps, to ${STREAMS} concurrent streams`, async () => {
    const start = await lastSeq();
    const received: SseEvent[][] = Array.from({ length: STREAMS }, () => []);
    for (let i = 0; i < STREAMS; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, STREAMS - i) }, (_, j) =>
          connectSse(`${server.url}/events`, { onEvent: (event) => received[i + j]!.push(event) }),
        ),
      );
      streams.push(...batch);
    }
    await expect
      .poll(() => received.every((events) => events.some((event) => event.event === EVENT_READY)), { timeout: 20_000 })
      .toBe(true);
    expect(streams.every((stream) => stream.headers['content-type']?.startsWith('text/event-stream'))).toBe(true);
    expect(streams[0]!.headers['x-accel-buffering']).toBe('no');

    const ids = await createJobs(server, JOBS);
    const expected = Array.from({ length: JOBS }, (_, i) => String(start + i + 1));
    const jobEvents = (events: SseEvent[]) => events.filter((event) => event.event === EVENT_JOB);
    await expect.poll(() => received.every((events) => jobEvents(events).length >= JOBS), { timeout: 60_000, interval: 250 }).toBe(true);

    for (const events of received) expect(jobEvents(events).map((event) => event.id)).toEqual(expected);
    const seen = new Set(jobEvents(received[0]!).map((event) => (JSON.parse(event.data) as Job).id));
    expect(seen).toEqual(new Set(ids));
  });

  it('replays exactly what a reconnecting client missed, from the store, also after a restart', async () => {
    const first = await connectSse(`${server.url}/events`);
    streams.push(first);
    const [ready] = await first.take(1);
    expect(ready!.event).toBe(EVENT_READY);
    await createJobs(server, 5, 1);
    const seenBeforeCut = await first.take(5);
    first.close();
    const resumeFrom = seenBeforeCut.at(-1)!.id!;

    const missed = await createJobs(server, 20, 4);
    await server.restart();

    const resumed = await connectSse(`${server.url}/events`, { lastEventId: resumeFrom });
    streams.push(resumed);
    const replay = await resumed.take(21);
    const replayedJobs = replay.slice(0, 20);
    expect(replayedJobs.every((event) => event.event === EVENT_JOB)).toBe(true);
    expect(replayedJobs.map((event) => Number(event.id))).toEqual(Array.from({ length: 20 }, (_, i) => Number(resumeFrom) + i + 1));
    expect(new Set(replayedJobs.map((event) => (JSON.parse(event.data) as Job).id))).toEqual(new Set(missed));
    expect(replay[20]!.event).toBe(EVENT_READY);

    // Live changes follow the replay on the same stream.
    const [live] = await createJobs(server, 1, 1);
    const [next] = await resumed.take(1);
    expect(next).toMatchObject({ event: EVENT_JOB, id: String(Number(resumeFrom) + 21) });
    expect((JSON.parse(next!.data) as Job).id).toBe(live);
  });

  it('resumes the same way from ?after=', async () => {
    const seq = await lastSeq();
    const [id] = await createJobs(server, 1, 1);
    const stream = await connectSse(`${server.url}/events?after=${seq}`);
    streams.push(stream);
    const [event, ready] = await stream.take(2);
    expect(event).toMatchObject({ event: EVENT_JOB, id: String(seq + 1) });
    expect((JSON.parse(event!.data) as Job).id).toBe(id);
    expect(ready!.event).toBe(EVENT_READY);
  });

  it('tells a client to reload when it asks for a point this store never reached', async () => {
    const stream = await connectSse(`${server.url}/events`, { lastEventId: String((await lastSeq()) + 1000) });
    streams.push(stream);
    const [reset, ready] = await stream.take(2);
    expect(reset!.event).toBe(EVENT_RESET);
    expect(JSON.parse(reset!.data)).toMatchObject({ reason: 'unknown-sequence' });
    expect(ready!.event).toBe(EVENT_READY);
  });

  it('tells a client to reload when it is too far behind to replay', async () => {
    // The replay limit is 5,000 changes; by now the store holds over 1,000, so ask with a tiny limit via a fresh server.
    const small = await startServerProcess({
      env: { JOB_DELAY_MIN_MS: '3600000', JOB_DELAY_MAX_MS: '3600000', EVENTS_REPLAY_LIMIT: '10' },
    });
    try {
      await createJobs(small, 11, 1);
      const stream = await connectSse(`${small.url}/events`, { lastEventId: '0' });
      const [reset] = await stream.take(1);
      stream.close();
      expect(reset!.event).toBe(EVENT_RESET);
      expect(JSON.parse(reset!.data)).toMatchObject({ reason: 'too-many-changes', lastSeq: 11 });
    } finally {
      await small.stop();
    }
  });
});
