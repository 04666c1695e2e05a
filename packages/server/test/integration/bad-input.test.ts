import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRaw } from './raw-http.js';

// Requests that parse as HTTP (bad JSON, ids, queries, headers) are checked in-process in
// test/http/bad-input.test.ts; these need a real socket: malformed HTTP that Fastify never sees.
const rawCases: { name: string; bytes: string; status: number }[] = [
  // The server refuses on the announced length and closes; sending the other 10 MB into a closed
  // socket would only provoke a reset that discards the answer unread (which is what fetch shows).
  {
    name: 'a 10 MB body',
    bytes: `POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n${' '.repeat(64 * 1024)}`,
    status: 413,
  },
  { name: 'garbage instead of a request line', bytes: 'HELLO THERE\r\n\r\n', status: 400 },
  {
    name: 'a control character in a header value',
    bytes: 'GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\u0001b\r\n\r\n',
    status: 400,
  },
  { name: 'a non-numeric Content-Length', bytes: 'POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n', status: 400 },
  {
    name: 'both Content-Length and chunked encoding',
    bytes: 'POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
  },
  { name: 'a 64 KB header', bytes: `GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`, status: 431 },
  { name: 'a space inside a header name', bytes: 'GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: 1\r\n\r\n', status: 400 },
];

describe('bad input on a raw socket (real server process)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({ env: { JOB_DELAY_MIN_MS: '1000', JOB_DELAY_MAX_MS: '1000' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it.each(rawCases)('answers $status to raw HTTP with $name', async ({ bytes, status }) => {
    const response = await sendRaw(server.url, bytes);
    expect(response.status).toBe(status);
    expect(response.head).toMatch(/content-type: application\/problem\+json/i);
  });

  it('wrote nothing and still serves after all of it', async () => {
    const stats = (await (await fetch(`${server.url}/stats`)).json()) as { lastSeq: number; counts: Record<string, number> };
    expect(stats.lastSeq).toBe(0);
    expect(Object.values(stats.counts).every((n) => n === 0)).toBe(true);
    const created = await fetch(`${server.url}/jobs`, { method: 'POST' });
    expect(created.status).toBe(202);
    expect(server.child.exitCode).toBeNull();
  });
});
