import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './test-app.js';

const GREEDY = '192.0.2.1';
const OTHER = '192.0.2.2';

/** LIST_ROWS_PER_CLIENT: the rows one client may have in flight in GET /jobs; the store's lists are held at a gate to keep them in flight. */
describe('heavy reads shared fairly (in-process)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({ env: { LIST_ROWS_PER_CLIENT: '1000' } });
  });

  afterAll(async () => {
    await t?.close();
  });

  // `.then` sends the request now (inject alone waits to be awaited).
  const list = (from: string, limit: number) => t.app.inject({ url: `/jobs?limit=${limit}`, remoteAddress: from }).then((r) => r);

  it('refuses a client past its rows in flight with 429, lets another client read, and frees the share as answers go', async () => {
    const gate = t.store.hold('listJobs');
    const first = list(GREEDY, 1000);
    const other = list(OTHER, 1000);
    await expect.poll(() => gate.waiting()).toBe(2);
    // Admitted lists wait at the gate; the ones past the share are answered at once.
    const refused = await Promise.all([list(GREEDY, 1000), list(GREEDY, 1000), list(GREEDY, 10)]);
    for (const response of refused) {
      expect(response.statusCode).toBe(429);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.json()).toMatchObject({ status: 429, title: 'Too Many Requests', detail: expect.stringContaining('1000 rows') });
    }
    gate.release();
    expect((await first).statusCode).toBe(200);
    expect((await other).statusCode).toBe(200);
    // Answered: the share is back.
    expect((await list(GREEDY, 1000)).statusCode).toBe(200);
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/^simmer_requests_refused_total\{reason="list_rows_per_client"\} 3$/m);
  });

  it('lets small lists of one client run side by side within its share', async () => {
    const gate = t.store.hold('listJobs');
    const lists = Array.from({ length: 10 }, () => list(GREEDY, 100));
    await expect.poll(() => gate.waiting()).toBe(10);
    gate.release();
    expect((await Promise.all(lists)).map((r) => r.statusCode)).toEqual(Array(10).fill(200));
  });
});
