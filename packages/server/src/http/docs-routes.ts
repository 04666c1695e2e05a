import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI document, generated from the route schemas, at /docs/json, and a browsable reference
 * at /docs. Swagger UI's own pages load only scripts and styles of their own (its logo is a data:
 * image), so they run under the page's Content-Security-Policy, not the looser one it brings.
 */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Simmer',
        version: '0.1.0',
        description: 'A durable delayed-job service: each job waits a random delay, then fetches a food photo.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
