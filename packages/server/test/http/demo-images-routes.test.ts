import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoSource } from '../../src/images/demo/demo-source.js';
import { demoImagesRoutes } from '../../src/http/demo-images-routes.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify();
  await app.register(demoImagesRoutes);
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

describe('GET /demo-images/:file', () => {
  it('serves every url of a demo photo as an SVG image', async () => {
    const photo = await createDemoSource().takePhoto(AbortSignal.timeout(1_000), null);
    for (const url of Object.values(photo.urls)) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^image\/svg\+xml/);
      expect(response.body).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(response.body).toContain('<symbol id="simmer-art"');
    }
  });

  it('sizes the image to the requested width, keeping the aspect ratio', async () => {
    const response = await app.inject({ method: 'GET', url: '/demo-images/avocado-matcha-hero.svg?w=400' });
    expect(response.body).toContain('width="400" height="300" viewBox="0 0 1600 1200"');
  });

  it('marks images cacheable for a year, immutable, and forbids scripts in them', async () => {
    const response = await app.inject({ method: 'GET', url: '/demo-images/pizza-tomato-plate.svg' });
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.body).not.toMatch(/<script|\son\w+=|javascript:/i);
  });

  it('answers the same bytes for the same image every time', async () => {
    const first = await app.inject({ method: 'GET', url: '/demo-images/sushi-berry-scatter.svg?w=200' });
    const second = await app.inject({ method: 'GET', url: '/demo-images/sushi-berry-scatter.svg?w=200' });
    expect(second.body).toBe(first.body);
  });

  it.each([
    ['a traversal attempt', '/demo-images/..%2F..%2Fpackage.json'],
    ['a backslash traversal attempt', '/demo-images/..%5C..%5Cwin.svg'],
    ['dots only', '/demo-images/...svg'],
    ['upper-case letters', '/demo-images/Avocado-matcha-hero.svg'],
    ['another extension', '/demo-images/avocado-matcha-hero.png'],
    ['a name without palette and layout', '/demo-images/avocado.svg'],
    ['a NUL byte', '/demo-images/avocado-matcha-hero%00.svg'],
    ['a width that is not a number', '/demo-images/avocado-matcha-hero.svg?w=abc'],
    ['a width out of range', '/demo-images/avocado-matcha-hero.svg?w=99999'],
    ['a repeated width', '/demo-images/avocado-matcha-hero.svg?w=200&w=400'],
    ['an unknown query parameter', '/demo-images/avocado-matcha-hero.svg?h=200'],
  ])('answers 400 problem+json for %s', async (_case, url) => {
    const response = await app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ type: 'about:blank', status: 400 });
  });

  it.each([
    ['an unknown food', '/demo-images/unicorn-matcha-hero.svg'],
    ['an unknown palette', '/demo-images/avocado-neon-hero.svg'],
    ['an unknown layout', '/demo-images/avocado-matcha-collage.svg'],
  ])('answers 404 problem+json for %s', async (_case, url) => {
    const response = await app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ type: 'about:blank', status: 404 });
  });
});
