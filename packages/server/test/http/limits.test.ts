import type { Problem, Stats } from '@simmer/contracts';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './test-app.js';

// Distinct clients are distinct source addresses; 127.0.0.1 stands for a reverse proxy.
const PROXY = '127.0.0.1';
const client = (n: number) => `127.0.0.${n}`;
const PARTNER = 'https://partner.example';
const TOKEN = 'metrics-token-for-tests';
const OPERATOR = 'operator-token-for-tests-0123456789';
/** The Host every request names (in ALLOWED_HOSTS), so the page's own origin is known. */
const HOST = 'simmer.test';
const OWN_ORIGIN = `http://${HOST}`;

interface Request {
  method?: 'GET' | 'HEAD' | 'POST' | 'OPTIONS';
  url?: string;
  from: string;
  headers?: Record<string, string>;
  body?: string;
}

const send = (t: TestApp, { method = 'POST', url = '/jobs', from, headers = {}, body }: Request) =>
  t.app.inject({ method, url, remoteAddress: from, headers: { host: HOST, ...headers }, ...(body === undefined ? {} : { payload: body }) });

const pendingJobs = async (t: TestApp): Promise<number> => (await t.app.inject({ url: '/stats' })).json<Stats>().counts.pending;

function expectProblem(response: LightMyRequestResponse, status: number): Problem {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = response.json<Problem>();
  expect(problem).toMatchObject({ status, detail: expect.any(String) });
  return problem;
}

async function metric(t: TestApp, name: string, labels = ''): Promise<number> {
  const text = (await send(t, { method: 'GET', url: '/metrics', from: PROXY })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('limits: one app, many clients', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({
      env: {
        JOB_DELAY_MIN_MS: '3600000',
        JOB_DELAY_MAX_MS: '3600000',
        RATE_LIMIT_CREATES: '5',
        TRUST_PROXY: PROXY,
        ALLOWED_HOSTS: HOST,
        ALLOWED_ORIGINS: PARTNER,
      },
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('limits creates per client with 429, Retry-After and RateLimit-* headers, and leaves another client alone', async () => {
    const before = await pendingJobs(t);
    for (let i = 0; i < 5; i++) expect((await send(t, { from: client(2) })).statusCode).toBe(202);
    const refused = await send(t, { from: client(2) });
    expectProblem(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-limit']).toBe('5');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect((await send(t, { from: client(3) })).statusCode).toBe(202);
    expect(await pendingJobs(t)).toBe(before + 6);
    expect(await metric(t, 'simmer_requests_refused_total', 'reason="rate_limited_creates"')).toBeGreaterThanOrEqual(1);
    // Reads are not limited.
    expect((await send(t, { method: 'GET', url: '/jobs?limit=1', from: client(2) })).statusCode).toBe(200);
  });

  it('ignores X-Forwarded-For from a peer it does not trust, and honours it from the trusted proxy', async () => {
    // A client that is not the proxy cannot spread its creates over made-up addresses.
    for (let i = 0; i < 5; i++)
      expect((await send(t, { from: client(4), headers: { 'x-forwarded-for': `198.51.100.${i}` } })).statusCode).toBe(202);
    expectProblem(await send(t, { from: client(4), headers: { 'x-forwarded-for': '198.51.100.99' } }), 429);

    // Through the trusted proxy, each forwarded client counts for itself.
    for (let i = 0; i < 5; i++)
      expect((await send(t, { from: PROXY, headers: { 'x-forwarded-for': '203.0.113.7' } })).statusCode).toBe(202);
    expectProblem(await send(t, { from: PROXY, headers: { 'x-forwarded-for': '203.0.113.7' } }), 429);
    expect((await send(t, { from: PROXY, headers: { 'x-forwarded-for': '203.0.113.8' } })).statusCode).toBe(202);
  });

  it('refuses cross-site and wrong-type writes, and creates nothing for them', async () => {
    const from = client(5);
    const before = await pendingJobs(t);
    const json = { 'content-type': 'application/json' };
    expectProblem(await send(t, { from, headers: { origin: 'https://evil.example' } }), 403);
    expectProblem(await send(t, { from, headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: 'x' }), 403);
    expectProblem(await send(t, { from, headers: { origin: 'null' } }), 403);
    expectProblem(await send(t, { from, headers: { 'sec-fetch-site': 'cross-site' } }), 403);
    expectProblem(await send(t, { from, headers: { 'content-type': 'text/plain' }, body: '{}' }), 415);
    expectProblem(await send(t, { from, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' }), 415);
    const download = `/jobs/0193d9a4-7c3e-7b5e-9f00-123456789abc/download`;
    expectProblem(await send(t, { url: download, from, headers: { origin: 'https://evil.example' } }), 403);
    expect(await pendingJobs(t)).toBe(before);

    // The page's own origin, an allowed one, and curl's bare POST all create.
    expect((await send(t, { from, headers: { ...json, origin: OWN_ORIGIN }, body: '{}' })).statusCode).toBe(202);
    expect((await send(t, { from, headers: { ...json, origin: PARTNER }, body: '{}' })).statusCode).toBe(202);
    expect((await send(t, { from })).statusCode).toBe(202);
    expect(await pendingJobs(t)).toBe(before + 3);
    expect(await metric(t, 'simmer_requests_refused_total', 'reason="cross_site"')).toBe(5);
  });

  it("lets an allowed origin's page call the API from the browser (CORS), and no other", async () => {
    const preflight = (origin: string) =>
      send(t, {
        method: 'OPTIONS',
        from: client(5),
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,idempotency-key' },
      });
    const allowed = await preflight(PARTNER);
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe(PARTNER);
    expect(allowed.headers['access-control-allow-headers']).toMatch(/Idempotency-Key/);
    expect((await preflight('https://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
    const created = await send(t, { from: client(11), headers: { 'content-type': 'application/json', origin: PARTNER }, body: '{}' });
    expect(created.statusCode).toBe(202);
    expect(created.headers['access-control-allow-origin']).toBe(PARTNER);
    expect(created.headers['access-control-expose-headers']).toMatch(/Location/);
  });

  it('answers HEAD /events at once and opens no stream', async () => {
    const head = await send(t, { method: 'HEAD', url: '/events?after=0', from: client(9) });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(head.body).toBe('');
    expect(await metric(t, 'simmer_event_streams')).toBe(0);
  });

  it('serves /metrics to loopback clients only: a remote client behind the trusted proxy gets 403', async () => {
    const metrics = (from: string, headers: Record<string, string> = {}) => send(t, { method: 'GET', url: '/metrics', from, headers });
    expect((await metrics(PROXY)).statusCode).toBe(200);
    expect((await metrics(client(10))).statusCode).toBe(200);
    expectProblem(await metrics(PROXY, { 'x-forwarded-for': '203.0.113.9' }), 403);
    expectProblem(await metrics('198.51.100.20'), 403);
    // Health stays open to everyone.
    expect((await send(t, { method: 'GET', url: '/healthz', from: PROXY, headers: { 'x-forwarded-for': '203.0.113.9' } })).statusCode).toBe(
      200,
    );
  });
});

describe('limits: pending cap and metrics token', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({
      env: {
        JOB_DELAY_MIN_MS: '3600000',
        JOB_DELAY_MAX_MS: '3600000',
        MAX_PENDING_JOBS: '3',
        TRUST_PROXY: PROXY,
        ALLOWED_HOSTS: HOST,
        METRICS_TOKEN: TOKEN,
      },
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('refuses creates past MAX_PENDING_JOBS with 503 and Retry-After, and creates nothing', async () => {
    for (let i = 0; i < 3; i++) expect((await send(t, { from: client(2 + i) })).statusCode).toBe(202);
    const refused = await send(t, { from: client(5) });
    expectProblem(refused, 503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await pendingJobs(t)).toBe(3);
    // Reads and health go on.
    expect((await send(t, { method: 'GET', url: '/jobs', from: client(5) })).statusCode).toBe(200);
    expect((await send(t, { method: 'GET', url: '/healthz', from: client(5) })).statusCode).toBe(200);
  });

  it('serves /metrics with the token only, to anyone, also through the trusted proxy', async () => {
    const metrics = (from: string, headers: Record<string, string> = {}) => send(t, { method: 'GET', url: '/metrics', from, headers });
    const remote = { 'x-forwarded-for': '203.0.113.9' };
    const none = await metrics(PROXY, remote);
    expectProblem(none, 401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expectProblem(await metrics(PROXY, { ...remote, authorization: 'Bearer wrong' }), 401);
    // A loopback client needs it too, once a token is set.
    expectProblem(await metrics(client(2)), 401);
    const granted = await metrics(PROXY, { ...remote, authorization: `Bearer ${TOKEN}` });
    expect(granted.statusCode).toBe(200);
    expect(granted.body).toMatch(/^simmer_requests_refused_total\{reason="pending_cap"\} 1$/m);
    expect(granted.body).toMatch(/^simmer_requests_refused_total\{reason="metrics_forbidden"\} 3$/m);
  });
});

describe('limits: a retry is held to the pending cap', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({
      env: {
        JOB_DELAY_MIN_MS: '3600000',
        JOB_DELAY_MAX_MS: '3600000',
        MAX_PENDING_JOBS: '2',
        ALLOWED_HOSTS: HOST,
        OPERATOR_TOKEN: OPERATOR,
      },
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('refuses to retry a cancelled job with 503 and Retry-After while pending jobs fill MAX_PENDING_JOBS, and leaves it cancelled', async () => {
    const operator = { authorization: `Bearer ${OPERATOR}` };
    const created = (await send(t, { from: client(2) })).json<{ id: string }>();
    expect((await send(t, { from: client(3) })).statusCode).toBe(202);
    expect(
      (await send(t, { url: `/jobs/${created.id}/cancel`, from: client(2), headers: operator })).json<{ status: string }>().status,
    ).toBe('cancelled');
    // The cap reads the store's count again once its count is a second old: until it sees the cancel,
    // creates are refused (and make nothing); then one fills it again.
    await expect.poll(async () => (await send(t, { from: client(4) })).statusCode, { timeout: 3_000, interval: 100 }).toBe(202);
    expect(await pendingJobs(t)).toBe(2);

    const refused = await send(t, { url: `/jobs/${created.id}/retry`, from: client(2), headers: operator });
    expectProblem(refused, 503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await send(t, { method: 'GET', url: `/jobs/${created.id}`, from: client(2) })).json<{ status: string }>().status).toBe(
      'cancelled',
    );
    expect(await pendingJobs(t)).toBe(2);
  });
});
