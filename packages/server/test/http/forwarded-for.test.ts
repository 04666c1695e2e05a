import { afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './test-app.js';

const PROXY = '198.51.100.1';

/** Only IP addresses from X-Forwarded-For become a client: one create a minute per client makes each identity visible. */
describe('X-Forwarded-For from trusted proxies (in-process)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const start = async (trust: string, creates = '1') => {
    t = await buildTestApp({ env: { TRUST_PROXY: trust, RATE_LIMIT_CREATES: creates } });
    return t;
  };
  const create = (forwardedFor: string, from = PROXY) =>
    t!.app
      .inject({ method: 'POST', url: '/jobs', remoteAddress: from, headers: { 'x-forwarded-for': forwardedFor } })
      .then((r) => r.statusCode);
  const ignored = async () =>
    Number(/^simmer_forwarded_for_ignored_total (\d+)$/m.exec((await t!.app.inject({ url: '/metrics' })).body)?.[1] ?? 'NaN');

  it('with TRUST_PROXY=true, made-up strings count as the peer that sent them, not as new clients', async () => {
    await start('true', '3');
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push(await create(`garbage${i}`));
    expect(statuses).toEqual([202, 202, 202, 429, 429, 429, 429, 429]);
    expect(await ignored()).toBe(8);
    // A real address is still a client of its own.
    expect(await create('203.0.113.9')).toBe(202);
  });

  it.each([
    { what: 'a name', entry: 'proxy.example' },
    { what: 'an address with a port', entry: '203.0.113.5:4711' },
    { what: 'an empty entry', entry: '' },
    { what: 'an address with a zone', entry: 'fe80::1%eth0' },
    { what: 'an out-of-range octet', entry: '203.0.113.256' },
  ])('ignores $what and takes the hop that passed it on', async ({ entry }) => {
    await start(`${PROXY}, 192.0.2.10`);
    // 192.0.2.10 (a trusted inner proxy) passed on `entry`: 192.0.2.10 is the client, twice.
    expect(await create(`${entry}, 192.0.2.10`)).toBe(202);
    expect(await create(`${entry}, 192.0.2.10`)).toBe(429);
    expect(await create('192.0.2.10')).toBe(429);
    expect(await ignored()).toBe(2);
  });

  it('leaves alone what no trusted hop reached, and a peer it does not trust', async () => {
    await start('1');
    // One trusted hop: 203.0.113.7 is the client; the garbage left of it was never looked at.
    expect(await create('garbage, 203.0.113.7')).toBe(202);
    expect(await create('other, 203.0.113.7')).toBe(429);
    expect(await ignored()).toBe(0);
    await t!.close();
    await start(PROXY);
    // Not from the proxy: X-Forwarded-For is ignored as before, the socket is the client.
    expect(await create('garbage', '192.0.2.99')).toBe(202);
    expect(await create('203.0.113.1', '192.0.2.99')).toBe(429);
    expect(await ignored()).toBe(0);
  });
});
