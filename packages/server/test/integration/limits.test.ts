import { requestFrom } from '@simmer/testkit/loopback-client';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { connectSse, SseHttpError, type SseStream } from '@simmer/testkit/sse-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Distinct clients are distinct loopback source addresses. The other limits (rate limits,
// X-Forwarded-For, cross-site writes, CORS, the pending cap, /metrics access) need no socket and
// are shown in-process by test/http/limits.test.ts; open streams need a real one.
const client = (n: number) => `127.0.0.${n}`;

async function metric(server: ServerProcess, name: string, labels = ''): Promise<number> {
  const text = (await requestFrom(client(1), `${server.url}/metrics`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('limits: event streams on a real socket', () => {
  let server: ServerProcess;
  const streams: SseStream[] = [];

  beforeAll(async () => {
    server = await startServerProcess({
      env: {
        JOB_DELAY_MIN_MS: '3600000',
        JOB_DELAY_MAX_MS: '3600000',
        EVENTS_MAX_STREAMS: '3',
        EVENTS_MAX_STREAMS_PER_CLIENT: '2',
      },
    });
  });

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await server?.stop();
  });

  it('caps event streams per client (429) and per process (503), and frees a slot when a stream ends', async () => {
    const open = async (from: string) => {
      const stream = await connectSse(`${server.url}/events`, { localAddress: from });
      streams.push(stream);
      return stream;
    };
    const refusal = (from: string) =>
      connectSse(`${server.url}/events`, { localAddress: from }).then(
        () => {
          throw new Error('the stream was accepted');
        },
        (error: unknown) => error as SseHttpError,
      );
    const first = await open(client(6));
    await open(client(6));
    const perClient = await refusal(client(6));
    expect(perClient.status).toBe(429);
    expect(Number(perClient.headers['retry-after'])).toBeGreaterThan(0);
    await open(client(7));
    const perProcess = await refusal(client(8));
    expect(perProcess.status).toBe(503);
    expect(Number(perProcess.headers['retry-after'])).toBeGreaterThan(0);

    first.close();
    await expect.poll(() => metric(server, 'simmer_event_streams')).toBe(2);
    await open(client(8));
    expect(await metric(server, 'simmer_requests_refused_total', 'reason="streams_per_client"')).toBe(1);
    expect(await metric(server, 'simmer_requests_refused_total', 'reason="streams_per_process"')).toBe(1);
    for (const stream of streams.splice(0)) stream.close();
    await expect.poll(() => metric(server, 'simmer_event_streams')).toBe(0);
  });
});
