import { randomUUID } from 'node:crypto';
import type { Job, Stats } from '@simmer/contracts';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('jobs API (real server process)', () => {
  let server: ServerProcess;
  const post = (headers: Record<string, string> = {}) => fetch(`${server.url}/jobs`, { method: 'POST', headers });
  const getJson = async <T>(path: string) => (await (await fetch(`${server.url}${path}`)).json()) as T;
  const stats = () => getJson<Stats>('/stats');

  beforeAll(async () => {
    server = await startServerProcess({ env: { JOB_DELAY_MIN_MS: '1000', JOB_DELAY_MAX_MS: '3000', JOB_DELAY_STEP_MS: '1000' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('creates a pending job: 202, Location, a UUIDv7 id and a runAt on the delay grid', async () => {
    const response = await post();
    expect(response.status).toBe(202);
    const job = (await response.json()) as Job;
    expect(job.id).toMatch(UUID_V7);
    expect(response.headers.get('location')).toBe(`/jobs/${job.id}`);
    expect(job).toMatchObject({ status: 'pending', result: null, error: null, resolvedAt: null });
    const delay = Date.parse(job.runAt) - Date.parse(job.createdAt);
    expect([1000, 2000, 3000]).toContain(delay);
    expect(await getJson<Job>(`/jobs/${job.id}`)).toEqual(job);
  });

  it('accepts `{}` as a body, the same as no body', async () => {
    const response = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(202);
  });

  it('creates one job for many concurrent requests with one Idempotency-Key', async () => {
    const key = `press-${randomUUID()}`;
    const before = (await stats()).counts;
    const responses = await Promise.all(Array.from({ length: 25 }, () => post({ 'idempotency-key': key })));
    const jobs = await Promise.all(responses.map((response) => response.json() as Promise<Job>));
    expect(new Set(jobs.map((job) => job.id)).size).toBe(1);
    expect(responses.every((response) => response.status === 202)).toBe(true);
    expect(responses.filter((response) => response.headers.get('idempotent-replayed') === 'true')).toHaveLength(24);
    const after = (await stats()).counts;
    expect(after.pending + after.running + after.resolved - (before.pending + before.running + before.resolved)).toBe(1);
  });

  it('lists newest first, pages with a Link header, filters by status, and answers 304 to a matching ETag', async () => {
    for (let i = 0; i < 5; i++) await post();
    const first = await fetch(`${server.url}/jobs?limit=2`);
    const page1 = (await first.json()) as Job[];
    expect(page1).toHaveLength(2);
    expect(page1[0]!.id > page1[1]!.id).toBe(true);
    const link = first.headers.get('link')!;
    expect(link).toMatch(/^<\/jobs\?limit=2&cursor=[0-9a-f-]{36}>; rel="next"$/);
    const page2 = (await (await fetch(`${server.url}${/<([^>]+)>/.exec(link)![1]}`)).json()) as Job[];
    expect(page2[0]!.id < page1[1]!.id).toBe(true);

    const etag = first.headers.get('etag')!;
    const again = await fetch(`${server.url}/jobs?limit=2`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    await post();
    const changed = await fetch(`${server.url}/jobs?limit=2`, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);

    const pending = await getJson<Job[]>('/jobs?status=pending&limit=1000');
    expect(pending.length).toBeGreaterThan(0);
    expect(pending.every((job) => job.status === 'pending')).toBe(true);
    const all = await getJson<Job[]>('/jobs?limit=1000');
    expect(all.map((job) => job.id)).toEqual([...all.map((job) => job.id)].sort().reverse());
  });

  it('runs a job at its runAt and shows the photo in the list and by id', async () => {
    const job = (await (await post()).json()) as Job;
    await expect.poll(async () => (await getJson<Job>(`/jobs/${job.id}`)).status, { timeout: 10_000, interval: 100 }).toBe('resolved');
    const settled = await getJson<Job>(`/jobs/${job.id}`);
    expect(Date.parse(settled.resolvedAt!)).toBeGreaterThanOrEqual(Date.parse(job.runAt));
    expect(settled.result).toMatchObject({ source: 'demo', photo: { urls: { small: expect.stringMatching(/^\/demo-images\//) } } });
    expect(settled.result!.photo.blurHash).toMatch(/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{6,}$/);
    const image = await fetch(`${server.url}${settled.result!.photo.urls.small}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const listed = (await getJson<Job[]>('/jobs?status=resolved&limit=1000')).find((candidate) => candidate.id === job.id);
    expect(listed).toEqual(settled);
    const download = await fetch(`${server.url}/jobs/${job.id}/download`, { method: 'POST' });
    expect(download.status).toBe(200);
    expect(((await download.json()) as { url: string }).url).toMatch(/^\/demo-images\//);
  });

  it('answers 409 to a download of a job that has not resolved', async () => {
    const job = (await (await post()).json()) as Job;
    const response = await fetch(`${server.url}/jobs/${job.id}/download`, { method: 'POST' });
    expect(response.status).toBe(409);
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/simmer_jobs\{status="pending"\} \d+/);
    expect(metrics).toMatch(/simmer_job_create_seconds_count \d+/);
    expect(metrics).toMatch(/simmer_job_run_lateness_seconds_count \d+/);
    const openapi = await getJson<{ paths: Record<string, unknown> }>('/docs/json');
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/jobs', '/jobs/{id}', '/jobs/{id}/download', '/events', '/stats']));
    expect((await fetch(`${server.url}/docs`, { redirect: 'follow' })).status).toBe(200);
  });

  it('sends the page and the API with a strict Content-Security-Policy and the usual security headers', async () => {
    for (const path of ['/', '/jobs']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      const directives = new Map(
        csp
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .map(([name, ...values]) => [name, values]),
      );
      expect(directives.get('script-src')).toEqual(["'self'"]);
      expect(directives.get('default-src')).toEqual(["'self'"]);
      expect(directives.get('img-src')).toEqual(["'self'", 'data:', 'blob:', 'https://images.unsplash.com']);
      expect(directives.get('object-src')).toEqual(["'none'"]);
      expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
    // The page itself has no inline script for the CSP to block.
    const html = await (await fetch(server.url)).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    // Swagger UI brings its own, looser policy for its own pages only.
    const docs = await fetch(`${server.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-security-policy')).toContain("img-src 'self' data: validator.swagger.io");
  });

  it('keeps jobs and idempotency keys across a graceful restart, and runs pending jobs at their original runAt', async () => {
    const key = `restart-${randomUUID()}`;
    const job = (await (await post({ 'idempotency-key': key })).json()) as Job;
    await server.restart();
    expect(await getJson<Job>(`/jobs/${job.id}`)).toMatchObject({ id: job.id, runAt: job.runAt });
    const replay = await post({ 'idempotency-key': key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as Job).id).toBe(job.id);
    await expect.poll(async () => (await getJson<Job>(`/jobs/${job.id}`)).status, { timeout: 10_000, interval: 100 }).toBe('resolved');
    const settled = await getJson<Job>(`/jobs/${job.id}`);
    expect(Date.parse(settled.resolvedAt!)).toBeGreaterThanOrEqual(Date.parse(job.runAt));
  });

  it('shuts down cleanly on SIGTERM', async () => {
    server.kill('SIGTERM');
    expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
    expect(server.logs.some((line) => line.includes('shut down cleanly'))).toBe(true);
    await server.restart();
  });
});
