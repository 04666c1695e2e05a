import type { Stats } from '@simmer/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './test-app.js';

/** MAX_STORED_JOBS: the oldest settled jobs make room early, as retention would remove them; pending and running are never removed. */
describe('a bound on the jobs kept (in-process)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const create = async () => {
    const response = await t!.app.inject({ method: 'POST', url: '/jobs' });
    return { status: response.statusCode, id: response.statusCode === 202 ? response.json<{ id: string }>().id : null, response };
  };
  const counts = async () => (await t!.app.inject({ url: '/stats' })).json<Stats>().counts;

  it('removes the oldest settled jobs to make room (event: removed, then 404), then refuses with 503 once only pending ones are left', async () => {
    t = await buildTestApp({ env: { MAX_STORED_JOBS: '10', RATE_LIMIT_CREATES: '0' }, runJobs: true });
    const settledIds: string[] = [];
    for (let i = 0; i < 10; i++) settledIds.push((await create()).id!);
    t.advance(3_000);
    for (const id of settledIds) await t.settled(id);
    expect(await counts()).toMatchObject({ pending: 0, resolved: 10 });

    const mark = await t.store.lastSeq();
    const pendingIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const created = await create();
      expect(created.status).toBe(202);
      pendingIds.push(created.id!);
    }
    // Each settled job went to make room (oldest first: the contract suite shows the order), each as a removal others hear of.
    expect(await counts()).toMatchObject({ pending: 10, resolved: 0 });
    const { changes } = await t.store.changesSince(mark, 100);
    const removed = changes.flatMap((change) => (change.kind === 'removed' ? [change.id] : []));
    expect(removed).toHaveLength(10);
    expect(new Set(removed)).toEqual(new Set(settledIds));
    expect((await t.app.inject({ url: `/jobs/${settledIds[0]}` })).statusCode).toBe(404);

    // Only pending jobs are left: a create is refused, and creates nothing.
    const refused = await create();
    expect(refused.status).toBe(503);
    expect(refused.response.headers['retry-after']).toBe('5');
    expect(refused.response.json()).toMatchObject({ status: 503, detail: expect.stringContaining('at most 10 jobs') });
    const burst = await Promise.all(Array.from({ length: 10 }, () => create()));
    expect(burst.map((c) => c.status)).toEqual(Array(10).fill(503));
    expect(await counts()).toMatchObject({ pending: 10, resolved: 0 });
    for (const id of pendingIds) expect((await t.app.inject({ url: `/jobs/${id}` })).statusCode).toBe(200);
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/^simmer_requests_refused_total\{reason="stored_cap"\} 11$/m);

    // As jobs settle, room comes back.
    t.advance(3_000);
    for (const id of pendingIds) await t.settled(id);
    expect((await create()).status).toBe(202);
  });

  it('admits no more than the cap from a burst whose creates are in flight together', async () => {
    t = await buildTestApp({ env: { MAX_STORED_JOBS: '5', RATE_LIMIT_CREATES: '0' } });
    const burst = await Promise.all(Array.from({ length: 20 }, () => create()));
    expect(burst.filter((c) => c.status === 202)).toHaveLength(5);
    expect(burst.filter((c) => c.status === 503)).toHaveLength(15);
    expect((await counts()).pending).toBe(5);
  });
});
