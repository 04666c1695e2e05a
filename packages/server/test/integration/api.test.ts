import { randomUUID } from 'node:crypto';
import type { Job } from '@simmer/contracts';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cspDirectives } from '../csp-directives.js';

// What needs the built server in its own process: the built page, restarts and signals. Status
// codes, shapes, validation, ETag/Link and error mapping are checked in-process (test/http).
describe('jobs API (real server process)', () => {
  let server: ServerProcess;
  const post = (headers: Record<string, string> = {}) => fetch(`${server.url}/jobs`, { method: 'POST', headers });
  const getJson = async <T>(path: string) => (await (await fetch(`${server.url}${path}`)).json()) as T;

  beforeAll(async () => {
    server = await startServerProcess({ env: { JOB_DELAY_MIN_MS: '1000', JOB_DELAY_MAX_MS: '3000', JOB_DELAY_STEP_MS: '1000' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('sends the page and the API with a strict Content-Security-Policy and the usual security headers', async () => {
    for (const path of ['/', '/jobs']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      const directives = cspDirectives(response.headers.get('content-security-policy'));
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
    // The API reference gets the page's policy, no looser one of its own.
    const docs = await fetch(`${server.url}/docs`);
    expect(docs.status).toBe(200);
    const page = await fetch(server.url);
    expect(docs.headers.get('content-security-policy')).toBe(page.headers.get('content-security-policy'));
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
