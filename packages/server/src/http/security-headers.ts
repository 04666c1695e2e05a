import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The page's Content-Security-Policy: no inline script; images only from this server (demo
 * catalog, blur-hash canvases) and Unsplash's image host. The API answers JSON, which the same
 * headers do no harm to.
 */
const OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:', 'blob:', 'https://images.unsplash.com'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  // The page links out to Unsplash and opens photos in new tabs.
  crossOriginEmbedderPolicy: false,
  crossOriginResourcePolicy: { policy: 'same-site' },
  referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  hsts: false,
};

/**
 * helmet's headers, worked out once: with no nonces they are the same on every response. Copying
 * them costs less than running helmet's middleware on each response (server CPU per POST /jobs
 * 258 vs 274 µs, docs/benchmarks.md); @fastify/helmet, which builds the middleware per request,
 * cost 342 µs.
 */
function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(OPTIONS)({} as IncomingMessage, res as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error as Error;
  });
  return headers;
}

/** The security headers, worked out once; also written into the raw answers Fastify never sees (see client-errors.ts). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(helmetHeaders());

/** Sets the security headers on every response, /docs included (Swagger UI runs under the page's policy). */
export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
}
