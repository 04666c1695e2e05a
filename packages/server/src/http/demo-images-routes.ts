import type { FastifyInstance } from 'fastify';
import { loadDemoArtwork } from '../images/demo/artwork.js';
import { DEMO_VARIANT_NAME, findDemoVariant } from '../images/demo/catalog.js';
import { renderDemoSvg } from '../images/demo/svg.js';
import { DEMO_IMAGES_PATH } from '../images/demo/demo-source.js';
import { sendProblem } from './problem.js';

/** Widths a client may ask for: small enough to bound the work, large enough for any screen. */
const MIN_WIDTH = 16;
const MAX_WIDTH = 4096;

/**
 * `GET /demo-images/:file`: the demo catalog's images as SVG (`<variant>.svg`, optional `?w=` width
 * in pixels). Names are checked against a strict pattern and looked up in the catalog, never used
 * as paths; malformed → 400, unknown → 404, both as problem+json. Images are immutable, so they are
 * cached for a year, and carry a CSP that forbids scripts should one be opened as a document.
 */
export async function demoImagesRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { file: string }; Querystring: Record<string, string | string[] | undefined> }>(
    `${DEMO_IMAGES_PATH}/:file`,
    async (request, reply) => {
      const match = /^([a-z-]{1,120})\.svg$/.exec(request.params.file);
      const name = match?.[1];
      if (name === undefined || !DEMO_VARIANT_NAME.test(name)) {
        return sendProblem(reply, 400, 'Malformed image name: demo image names look like "avocado-matcha-hero.svg".');
      }
      const unexpected = Object.keys(request.query).filter((key) => key !== 'w');
      if (unexpected.length > 0) {
        return sendProblem(reply, 400, `Unknown query parameter: only "w" is accepted, not ${unexpected.map((k) => `"${k}"`).join(', ')}.`);
      }
      const rawWidth = request.query.w;
      let width: number | undefined;
      if (rawWidth !== undefined) {
        width = typeof rawWidth === 'string' && /^\d{1,5}$/.test(rawWidth) ? Number(rawWidth) : Number.NaN;
        if (!(width >= MIN_WIDTH && width <= MAX_WIDTH)) {
          return sendProblem(reply, 400, `Malformed width: w must be a whole number of pixels from ${MIN_WIDTH} to ${MAX_WIDTH}.`);
        }
      }
      const variant = findDemoVariant(name);
      if (variant === null) return sendProblem(reply, 404, `The demo catalog has no image named "${name}".`);

      const artwork = await loadDemoArtwork();
      return reply
        .header('Cache-Control', 'public, max-age=31536000, immutable')
        .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
        .header('X-Content-Type-Options', 'nosniff')
        .type('image/svg+xml; charset=utf-8')
        .send(renderDemoSvg(variant, artwork.get(variant.food), width));
    },
  );
}
