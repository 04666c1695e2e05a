import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StoreClosedError, StoreFullError, StoreOverloadedError, StoreUnavailableError } from '../../src/store/store-errors.js';
import { buildTestApp, type TestApp } from './test-app.js';

describe('store refusals over HTTP (in-process, a store made to refuse)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp();
  });

  afterEach(() => {
    t.store.heal();
  });

  afterAll(async () => {
    await t?.close();
  });

  it.each([
    { error: new StoreUnavailableError('connection refused'), retryAfter: '2', detail: 'unavailable' },
    { error: new StoreOverloadedError('pool exhausted'), retryAfter: '1', detail: 'busy' },
    { error: new StoreFullError('12 MB free'), retryAfter: '30', detail: 'disk space' },
    { error: new StoreClosedError('file'), retryAfter: '2', detail: 'shutting down' },
  ])(
    'answers a create refused with $error.name with 503, Retry-After $retryAfter and no internals',
    async ({ error, retryAfter, detail }) => {
      t.store.fail('createJob', error);
      const response = await t.app.inject({ method: 'POST', url: '/jobs' });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe(retryAfter);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = response.json<{ status: number; detail: string }>();
      expect(problem).toMatchObject({ status: 503, title: 'Service Unavailable' });
      expect(problem.detail).toContain(detail);
      expect(problem.detail).not.toContain(error.message);

      t.store.fail('createJob', null);
      expect((await t.app.inject({ method: 'POST', url: '/jobs' })).statusCode).toBe(202);
    },
  );

  it('answers reads the store refuses with 503 too', async () => {
    t.store.fail('listJobs', new StoreUnavailableError('down'));
    t.store.fail('countJobs', new StoreUnavailableError('down'));
    for (const url of ['/jobs', '/stats']) {
      const response = await t.app.inject({ url });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('2');
    }
  });

  it('answers 500 without details to an error that is not a store refusal', async () => {
    t.store.fail('getJob', new Error('secret internal state at /var/lib/x'));
    const response = await t.app.inject({ url: '/jobs/0193d9a4-7c3e-7b5e-9f00-123456789abc' });
    expect(response.statusCode).toBe(500);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).not.toContain('secret');
  });

  it('says on /readyz why the store does not serve or take new jobs', async () => {
    t.store.setHealth({ ready: true, acceptingCreates: false, reason: 'only 12 MB free on DATA_DIR' });
    const full = await t.app.inject({ url: '/readyz' });
    expect(full.statusCode).toBe(503);
    expect(full.json()).toEqual({ status: 'not ready', reason: 'only 12 MB free on DATA_DIR' });
    t.store.setHealth({ ready: false, acceptingCreates: false, reason: null });
    expect((await t.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'not ready', reason: 'the store cannot serve' });
    t.store.setHealth(null);
    expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    // Liveness is not readiness: the process still answers.
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
