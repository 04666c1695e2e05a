import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './test-app.js';

const GREEDY = '192.0.2.1';
const OTHER = '192.0.2.2';

/** LIST_ROWS_PER_SECOND=50: each client reads 50 rows a second, 100 at once; the test's clock moves only when told. */
describe('heavy reads shared fairly (in-process)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({
      env: { LIST_ROWS_PER_SECOND: '50', RATE_LIMIT_CREATES: '0', JOB_DELAY_MIN_MS: '3600000', JOB_DELAY_MAX_MS: '3600000' },
    });
    for (let i = 0; i < 120; i++) expect((await t.app.inject({ method: 'POST', url: '/jobs' })).statusCode).toBe(202);
  });

  afterAll(async () => {
    await t?.close();
  });

  const list = (from: string, limit: number) => t.app.inject({ url: `/jobs?limit=${limit}`, remoteAddress: from });

  it('refuses a client past its rows with 429 and Retry-After, leaves another client its own, and refills with time', async () => {
    expect((await list(GREEDY, 100)).statusCode).toBe(200);
    const refused = await list(GREEDY, 100);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.json()).toMatchObject({ status: 429, title: 'Too Many Requests', detail: expect.stringContaining('50 a second') });
    expect((await list(GREEDY, 1)).statusCode).toBe(429);
    expect((await list(OTHER, 100)).statusCode).toBe(200);
    t.advance(1_000);
    expect((await list(GREEDY, 100)).statusCode).toBe(429);
    t.advance(1_000);
    expect((await list(GREEDY, 100)).statusCode).toBe(200);
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/^simmer_requests_refused_total\{reason="list_rows_per_client"\} 3$/m);
  });

  it('charges only the rows a list returned, and nothing for a 304', async () => {
    t.advance(10_000);
    // 120 jobs: a list of 1,000 (past the share, let through because the share is full) returns 120 and is charged 120.
    const all = await list(OTHER, 1000);
    expect(all.statusCode).toBe(200);
    expect(all.json<unknown[]>()).toHaveLength(120);
    expect((await list(OTHER, 1)).statusCode).toBe(429);
    t.advance(3_000);
    const etag = String((await list(OTHER, 100)).headers.etag);
    for (let i = 0; i < 5; i++) {
      expect((await t.app.inject({ url: '/jobs?limit=100', remoteAddress: OTHER, headers: { 'if-none-match': etag } })).statusCode).toBe(
        304,
      );
    }
  });
});
