import { fileURLToPath } from 'node:url';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cspDirectives } from '../csp-directives.js';
import { buildTestApp, type TestApp } from './test-app.js';

/** A stand-in for the built page; test/integration/api.test.ts checks the real one. */
const webRoot = fileURLToPath(new URL('./fixtures/web', import.meta.url));

function expectStrictHeaders(response: LightMyRequestResponse): void {
  const directives = cspDirectives(response.headers['content-security-policy']?.toString());
  expect(directives.get('default-src')).toEqual(["'self'"]);
  expect(directives.get('script-src')).toEqual(["'self'"]);
  expect(directives.get('style-src')).toEqual(["'self'"]);
  expect(directives.get('img-src')).toEqual(["'self'", 'data:', 'blob:', 'https://images.unsplash.com']);
  expect(directives.get('connect-src')).toEqual(["'self'"]);
  expect(directives.get('object-src')).toEqual(["'none'"]);
  expect(directives.get('base-uri')).toEqual(["'self'"]);
  expect(directives.get('form-action')).toEqual(["'self'"]);
  expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
  expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
  expect(response.headers['cross-origin-resource-policy']).toBe('same-site');
  expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(response.headers['cross-origin-embedder-policy']).toBeUndefined();
  expect(response.headers['strict-transport-security']).toBeUndefined();
  expect(response.headers['x-powered-by']).toBeUndefined();
}

describe('security headers (in-process)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({ webRoot });
  });

  afterAll(async () => {
    await t?.close();
  });

  it.each([
    { what: 'the page', method: 'GET' as const, url: '/', status: 200 },
    { what: 'a list', method: 'GET' as const, url: '/jobs', status: 200 },
    { what: 'a create', method: 'POST' as const, url: '/jobs', status: 202 },
    { what: 'a problem document', method: 'GET' as const, url: '/jobs/nope', status: 400 },
    { what: 'an unknown route', method: 'GET' as const, url: '/nowhere', status: 404 },
  ])('sends the strict Content-Security-Policy and the usual headers with $what', async ({ method, url, status }) => {
    const response = await t.app.inject({ method, url });
    expect(response.statusCode).toBe(status);
    expectStrictHeaders(response);
  });

  it('keeps the strict policy on the reference at /docs and on its scripts, which need nothing it forbids', async () => {
    let docs = await t.app.inject({ url: '/docs' });
    if (docs.statusCode >= 300 && docs.statusCode < 400) docs = await t.app.inject({ url: String(docs.headers.location) });
    expect(docs.statusCode).toBe(200);
    expectStrictHeaders(docs);
    // Swagger UI's page needs nothing the policy forbids: no inline script or style, no other host.
    expect(docs.body).not.toMatch(/<script>|<style|style="|on\w+="/);
    const scripts = [...docs.body.matchAll(/<script src="([^"]+)"/g)].map(([, src]) => src!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src).not.toMatch(/^(https?:)?\/\//);
      const script = await t.app.inject({ url: new URL(src, 'http://localhost/docs/').pathname });
      expect(script.statusCode).toBe(200);
      expectStrictHeaders(script);
    }
  });
});
