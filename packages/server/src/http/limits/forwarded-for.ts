import { isIP } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Metrics } from '../../metrics.js';

/** Whether the hop at `address`, `hop` steps from this server (0: the socket's peer), is a proxy whose X-Forwarded-For is believed. */
export type TrustProxyFn = (address: string, hop: number) => boolean;

/**
 * TRUST_PROXY as one function, for Fastify (`request.ip`, X-Forwarded-Host) and the checks here;
 * null when nothing is trusted. A hop count is proxy-addr's classic rule (the nearest N hops are
 * proxies), which Fastify 5.12 no longer applies to a bare number (it trusts nothing): with a
 * count, the port must be reachable only through those proxies.
 */
export function trustProxyFn(trust: Config['trustProxy']): TrustProxyFn | null {
  if (trust === false) return null;
  if (trust === true) return () => true;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return proxyAddr.compile(trust);
}

/**
 * Only IP addresses in X-Forwarded-For become a client. Walking the header from the right, as
 * proxy-addr does, the first entry a trusted hop passed on that is not an address (`garbage`, a
 * name, an address with a port or a zone) is cut off with everything left of it: the hop that passed it on
 * is then the client. Without this, `request.ip` would be the string as sent, and a client behind
 * (or pretending to be behind) a trusted proxy could rotate made-up strings past every per-client
 * limit. Each cut is counted in simmer_forwarded_for_ignored_total.
 */
export function registerForwardedForCheck(app: FastifyInstance, trust: TrustProxyFn, metrics: Pick<Metrics, 'forwardedForIgnored'>): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const headers = request.raw.headers;
    const header = headers['x-forwarded-for'];
    if (header === undefined) return done();
    const peer = request.raw.socket.remoteAddress;
    if (peer === undefined || !trust(peer, 0)) return done();
    const entries = (Array.isArray(header) ? header.join(',') : header).split(',');
    for (let i = entries.length - 1, hop = 1; i >= 0; i--, hop++) {
      const entry = entries[i]!.trim();
      // A zone (fe80::1%eth0) names an interface of the sender's host: never a client's address here.
      if (isIP(entry) === 0 || entry.includes('%')) {
        const believed = entries.slice(i + 1);
        if (believed.length === 0) delete headers['x-forwarded-for'];
        else headers['x-forwarded-for'] = believed.join(',');
        metrics.forwardedForIgnored.inc();
        return done();
      }
      if (!trust(entry, hop)) return done();
    }
    done();
  });
}
