import type { FastifyInstance, RouteOptions } from 'fastify';
import { Refusal } from './limits/refusal.js';

const DECIMAL = /^\d+$/;

/** The names of a querystring schema's integer fields. */
function integerFields(schema: unknown): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {};
  return Object.entries(properties)
    .filter(([, field]) => field.type === 'integer')
    .map(([name]) => name);
}

/**
 * Integer query values in decimal digits only. Ajv's type coercion reads anything `Number()`
 * reads, so `limit=0x10`, `1e2` or ` 7` would pass as numbers; each such value gets a 400 here,
 * before validation. Added only to routes with integer query fields, so others pay nothing.
 */
export function registerDecimalQueryIntegers(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const fields = integerFields(route.schema?.querystring);
    if (fields.length === 0) return;
    const check = async (request: { query: unknown }): Promise<void> => {
      const query = request.query as Record<string, unknown>;
      for (const field of fields) {
        const value = query[field];
        if (value === undefined) continue;
        const values = Array.isArray(value) ? value : [value];
        if (!values.every((one) => typeof one === 'string' && DECIMAL.test(one))) {
          throw new Refusal(400, `querystring/${field} must be a whole number written in decimal digits`);
        }
      }
    };
    const existing = route.preValidation === undefined ? [] : [route.preValidation].flat();
    route.preValidation = [check, ...existing] as RouteOptions['preValidation'];
  });
}
