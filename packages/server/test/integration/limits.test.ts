import type { Problem, Stats } from '@simmer/contracts';
import { requestFrom, type ClientResponse } from '@simmer/testkit/loopback-client';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { connectSse, SseHttpError, type SseStream } from '@simmer/testkit/sse-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Distinct clients are distinct loopback source addresses; 127.0.0.1 stands for a reverse proxy.
const PROXY = '127.0.0.1';
const client = (n: number) => `127.0.0.${n}`;
const PARTNER = 'https://partner.example';
const TOKEN = 'metrics-token-for-tests';

const post = (server: ServerProcess, from: string, path = '/jobs', headers: Record<string, string> = {}, body?: string) =>
  requestFrom(from, `${server.url}${path}`, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });

const pendingJobs = async (server: ServerProcess): Promise<number> =>
  ((await (await fetch(`${server.url}/stats`)).json()) as Stats).counts.pending;

function expectProblem(response: ClientResponse, status: number): Problem {
  expect(response.status, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(response.body) as Problem;
  expect(problem).toMatchObject({ status, detail: expect.any(String) });
  return problem;
}

async function metric(server: ServerProcess, name: string, labels = ''): Promise<number> {
  const text = (await requestFrom(PROXY, `${server.url}/metrics`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('limits: one server, many clients', () => {
  let server: ServerProcess;
  const streams: SseStream[] = [];

  beforeAll(async () => {
    server = await startServerProcess({
      env: {
        JOB_DELAY_MIN_MS: '3600000',
        JOB_DELAY_MAX_MS: '3600000',
        RATE_LIMIT_CREATES: '5',
        TRUST_PROXY: PROXY,
        EVENTS_MAX_STREAMS: '3',
        EVENTS_MAX_STREAMS_PER_CLIENT: '2',
        ALLOWED_ORIGINS: PARTNER,
      },
    });
  });

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await server?.stop();
  });

  it('limits creates per client with 429, Retry-After and RateLimit-* headers, and leaves another client alone', async () => {
    const before = await pendingJobs(server);
    for (let i = 0; i < 5; i++) expect((await post(server, client(2))).status).toBe(202);
    const refused = await post(server, client(2));
    expectProblem(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-limit']).toBe('5');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect((await post(server, client(3))).status).toBe(202);
    expect(await pendingJobs(server)).toBe(before + 6);
    expect(await metric(server, 'simmer_requests_refused_total', 'reason="rate_limited_creates"')).toBeGreaterThanOrEqual(1);
    // Reads are not limited.
    expect((await requestFrom(client(2), `${server.url}/jobs?limit=1`)).status).toBe(200);
  });

  it('ignores X-Forwarded-For from a peer it does not trust, and honours it from the trusted proxy', async () => {
    // A client that is not the proxy cannot spread its creates over made-up addresses.
    for (let i = 0; i < 5; i++) expect((await post(server, client(4), '/jobs', { 'x-forwarded-for': `198.51.100.${i}` })).status).toBe(202);
    expectProblem(await post(server, client(4), '/jobs', { 'x-forwarded-for': '198.51.100.99' }), 429);

    // Through the trusted proxy, each forwarded client counts for itself.
    for (let i = 0; i < 5; i++) expect((await post(server, PROXY, '/jobs', { 'x-forwarded-for': '203.0.113.7' })).status).toBe(202);
    expectProblem(await post(server, PROXY, '/jobs', { 'x-forwarded-for': '203.0.113.7' }), 429);
    expect((await post(server, PROXY, '/jobs', { 'x-forwarded-for': '203.0.113.8' })).status).toBe(202);
  });

  it('refuses cross-site and wrong-type writes, and creates nothing for them', async () => {
    const from = client(5);
    const before = await pendingJobs(server);
    const json = { 'content-type': 'application/json' };
    expectProblem(await post(server, from, '/jobs', { origin: 'https://evil.example' }), 403);
    expectProblem(await post(server, from, '/jobs', { origin: 'https://evil.example', 'content-type': 'text/plain' }, 'x'), 403);
    expectProblem(await post(server, from, '/jobs', { origin: 'null' }), 403);
    expectProblem(await post(server, from, '/jobs', { 'sec-fetch-site': 'cross-site' }), 403);
    expectProblem(await post(server, from, '/jobs', { 'content-type': 'text/plain' }, '{}'), 415);
    expectProblem(await post(server, from, '/jobs', { 'content-type': 'application/x-www-form-urlencoded' }, ''), 415);
    expectProblem(await post(server, from, `/jobs/0193d9a4-7c3e-7b5e-9f00-123456789abc/download`, { origin: 'https://evil.example' }), 403);
    expect(await pendingJobs(server)).toBe(before);

    // The page's own origin, an allowed one, and curl's bare POST all create.
    expect((await post(server, from, '/jobs', { ...json, origin: server.url }, '{}')).status).toBe(202);
    expect((await post(server, from, '/jobs', { ...json, origin: PARTNER }, '{}')).status).toBe(202);
    expect((await post(server, from, '/jobs')).status).toBe(202);
    expect(await pendingJobs(server)).toBe(before + 3);
    expect(await metric(server, 'simmer_requests_refused_total', 'reason="cross_site"')).toBe(5);
  });

  it("lets an allowed origin's page call the API from the browser (CORS), and no other", async () => {
    const preflight = (origin: string) =>
      requestFrom(client(5), `${server.url}/jobs`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,idempotency-key' },
      });
    const allowed = await preflight(PARTNER);
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe(PARTNER);
    expect(allowed.headers['access-control-allow-headers']).toMatch(/Idempotency-Key/);
    expect((await preflight('https://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
    const created = await post(server, client(11), '/jobs', { 'content-type': 'application/json', origin: PARTNER }, '{}');
    expect(created.status).toBe(202);
    expect(created.headers['access-control-allow-origin']).toBe(PARTNER);
    expect(created.headers['access-control-expose-headers']).toMatch(/Location/);
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

  it('answers HEAD /events at once and opens no stream', async () => {
    const head = await requestFrom(client(9), `${server.url}/events?after=0`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(head.body).toBe('');
    expect(await metric(server, 'simmer_event_streams')).toBe(0);
  });

  it('serves /metrics to loopback clients only: a remote client behind the trusted proxy gets 403', async () => {
    expect((await requestFrom(PROXY, `${server.url}/metrics`)).status).toBe(200);
    expect((await requestFrom(client(10), `${server.url}/metrics`)).status).toBe(200);
    expectProblem(await requestFrom(PROXY, `${server.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } }), 403);
    // Health stays open to everyone.
    expect((await requestFrom(PROXY, `${server.url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(200);
  });
});

describe('limits: pending cap and metrics token', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      env: { JOB_DELAY_MIN_MS: '3600000', JOB_DELAY_MAX_MS: '3600000', MAX_PENDING_JOBS: '3', TRUST_PROXY: PROXY, METRICS_TOKEN: TOKEN },
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('refuses creates past MAX_PENDING_JOBS with 503 and Retry-After, and creates nothing', async () => {
    for (let i = 0; i < 3; i++) expect((await post(server, client(2 + i))).status).toBe(202);
    const refused = await post(server, client(5));
    expectProblem(refused, 503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await pendingJobs(server)).toBe(3);
    // Reads and health go on.
    expect((await requestFrom(client(5), `${server.url}/jobs`)).status).toBe(200);
    expect((await requestFrom(client(5), `${server.url}/healthz`)).status).toBe(200);
  });

  it('serves /metrics with the token only, to anyone, also through the trusted proxy', async () => {
    const remote = { 'x-forwarded-for': '203.0.113.9' };
    const none = await requestFrom(PROXY, `${server.url}/metrics`, { headers: remote });
    expectProblem(none, 401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expectProblem(await requestFrom(PROXY, `${server.url}/metrics`, { headers: { ...remote, authorization: 'Bearer wrong' } }), 401);
    // A loopback client needs it too, once a token is set.
    expectProblem(await requestFrom(client(2), `${server.url}/metrics`), 401);
    const granted = await requestFrom(PROXY, `${server.url}/metrics`, { headers: { ...remote, authorization: `Bearer ${TOKEN}` } });
    expect(granted.status).toBe(200);
    expect(granted.body).toMatch(/^simmer_requests_refused_total\{reason="pending_cap"\} 1$/m);
    expect(granted.body).toMatch(/^simmer_requests_refused_total\{reason="metrics_forbidden"\} 3$/m);
  });
});
