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
 * Sets helmet's headers on every response; a route may override one (e.g. /docs's CSP).
 *
 * Why not @fastify/helmet: it calls `helmet(options)` on every request, re-validating every
 * directive, which measured +25 % server CPU per POST /jobs (docs/benchmarks.md). Our headers
 * need no nonces, so helmet's own middleware is built once here and run on each real response,
 * exactly as @fastify/helmet runs it (about 1 µs a request).
 */
export function securityHeaders(app: FastifyInstance): void {
  const middleware = helmet(OPTIONS);
  app.addHook('onRequest', (request, reply, done) => {
    middleware(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });
}
