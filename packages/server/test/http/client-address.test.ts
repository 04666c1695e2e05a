import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './test-app.js';

/** Who the client is, as the per-client limits see it: one create a minute, so a second from the same client is refused. */
describe.each([
  { trust: '', from: '198.51.100.1', spoofed: true },
  { trust: '1', from: '198.51.100.1', spoofed: false },
  { trust: '198.51.100.0/24', from: '198.51.100.1', spoofed: false },
  { trust: '198.51.100.0/24', from: '192.0.2.1', spoofed: true },
])('TRUST_PROXY=$trust, a request from $from', ({ trust, from, spoofed }) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({ env: { TRUST_PROXY: trust, RATE_LIMIT_CREATES: '1' } });
  });

  afterAll(async () => {
    await t?.close();
  });

  const create = (forwardedFor: string) =>
    t.app.inject({ method: 'POST', url: '/jobs', remoteAddress: from, headers: { 'x-forwarded-for': forwardedFor } });

  it(
    spoofed ? 'ignores X-Forwarded-For: the peer is the client' : 'believes X-Forwarded-For: each forwarded client counts for itself',
    async () => {
      expect((await create('203.0.113.1')).statusCode).toBe(202);
      expect((await create('203.0.113.1')).statusCode).toBe(429);
      expect((await create('203.0.113.2')).statusCode).toBe(spoofed ? 429 : 202);
    },
  );
});
