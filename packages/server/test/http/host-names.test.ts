import type { Stats } from '@simmer/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './test-app.js';

/** DNS rebinding: a page whose name is made to resolve to 127.0.0.1 reaches the server with that name in Host. */
describe('host names the server answers to (in-process)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  const pending = async () => (await t.app.inject({ url: '/stats' })).json<Stats>().counts.pending;

  it.each([
    { host: 'rebind.example:3000', what: 'a rebound name' },
    { host: 'localhost.rebind.example', what: 'a name that only starts like localhost' },
    { host: '127.0.0.1.nip.io', what: 'a name that spells an address' },
    { host: 'evil.example', what: 'a name without a port' },
  ])('refuses $what with 421 naming ALLOWED_HOSTS, on writes, reads and /metrics alike', async ({ host }) => {
    const before = await pending();
    const write = await t.app.inject({
      method: 'POST',
      url: '/jobs',
      headers: { host, origin: `http://${host}`, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(write.statusCode).toBe(421);
    expect(write.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(write.headers['content-security-policy']).toBeDefined();
    expect(write.json()).toMatchObject({ status: 421, title: 'Misdirected Request', detail: expect.stringContaining('ALLOWED_HOSTS') });
    for (const url of ['/metrics', '/jobs', '/stats', '/healthz', '/nowhere']) {
      expect((await t.app.inject({ url, headers: { host } })).statusCode, url).toBe(421);
    }
    expect(await pending()).toBe(before);
  });

  it.each([
    'localhost:3000',
    'localhost',
    'LOCALHOST:80',
    'app.localhost:3000',
    '127.0.0.1:3000',
    '127.0.0.2',
    '[::1]:3000',
    '192.0.2.7:3000',
  ])('answers Host %s (loopback names and IP literals)', async (host) => {
    expect((await t.app.inject({ method: 'POST', url: '/jobs', headers: { host } })).statusCode).toBe(202);
    expect((await t.app.inject({ url: '/metrics', headers: { host } })).statusCode).toBe(200);
  });

  it('counts the refusals in /metrics', async () => {
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/^simmer_requests_refused_total\{reason="host_not_allowed"\} [1-9]/m);
  });
});
