import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../../metrics.js';
import { Refusal } from './refusal.js';

/**
 * Whether a Host name (lower case, no port; an IPv6 address in brackets) is one this server
 * answers to: loopback names (`localhost`, `*.localhost`), any IP literal (a name is what DNS
 * rebinding needs; an address cannot be rebound), the name HOST listens on, and ALLOWED_HOSTS
 * (`name`, `*.example.com` for its subdomains, `*` for any).
 */
export function hostMatcher(allowedHosts: readonly string[], listenHost: string): (hostname: string) => boolean {
  const exact = new Set(['localhost']);
  const suffixes = ['.localhost'];
  let any = false;
  for (const entry of [...allowedHosts, listenHost].map((name) => name.trim().toLowerCase().replace(/\.$/, ''))) {
    if (entry === '*') any = true;
    else if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
    else if (entry !== '') exact.add(entry);
  }
  return (raw) => {
    const hostname = raw.toLowerCase().replace(/\.$/, '');
    if (any || exact.has(hostname) || isIP(hostname) === 4) return true;
    if (hostname.startsWith('[') && hostname.endsWith(']') && isIP(hostname.slice(1, -1)) === 6) return true;
    return suffixes.some((suffix) => hostname.endsWith(suffix) && hostname.length > suffix.length);
  };
}

/** How many Host header lines the request carried (Node keeps only the first in `headers`). */
function hostHeaderCount(request: FastifyRequest): number {
  const raw = request.raw.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') count += 1;
  }
  return count;
}

/**
 * Host names the server answers to, checked on every request before any route runs (`/metrics`
 * included): a web page whose name is rebound to 127.0.0.1 reaches the server with its own name
 * in Host, which is refused with 421. HTTP/1.1 requests need exactly one Host header (RFC 9112:
 * none, or two, is a 400). Behind a trusted proxy the name checked is its X-Forwarded-Host.
 */
export function registerHostCheck(
  app: FastifyInstance,
  options: { allowedHosts: readonly string[]; listenHost: string },
  metrics: Pick<Metrics, 'requestsRefused'>,
): void {
  const allowed = hostMatcher(options.allowedHosts, options.listenHost);
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.raw.httpVersionMajor === 1) {
      const count = hostHeaderCount(request);
      if (count > 1) return done(new Refusal(400, `A request carries one Host header; this one has ${count}.`));
      // HTTP/1.0 may omit Host; it then names nothing to check.
      if (count === 0) {
        return request.raw.httpVersionMinor === 0 ? done() : done(new Refusal(400, 'An HTTP/1.1 request needs a Host header.'));
      }
    }
    if (allowed(request.hostname)) return done();
    metrics.requestsRefused.inc({ reason: 'host_not_allowed' });
    done(
      new Refusal(
        421,
        `This server does not answer to the name ${JSON.stringify(request.hostname.slice(0, 100))}: add it to ALLOWED_HOSTS.`,
      ),
    );
  });
}
