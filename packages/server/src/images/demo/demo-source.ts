import type { Photo } from '@simmer/contracts';
import { DEMO_ARTWORK_CREDIT } from './artwork.js';
import { DEMO_FOODS, DEMO_LAYOUTS, DEMO_PALETTES, DEMO_VARIANT_COUNT, type DemoVariant, demoVariant } from './catalog.js';
import { demoLook } from './look.js';
import { foodLabel } from './svg.js';
import type { ImageSource } from '../image-source.js';

/** Where the server serves demo images (see http/demo-images-routes.ts). */
export const DEMO_IMAGES_PATH = '/demo-images';

export interface DemoSourceOptions {
  /** Source of the shuffle and the starting point; Math.random unless a test controls it. */
  random?: () => number;
}

/**
 * The demo image source: works with no network and no key. Photos are composed images of the
 * built-in catalog, served by this server under /demo-images/. Guarantees: consecutive calls give
 * distinct photos, and no photo repeats until every one of the catalog's variants (several
 * thousand) has been handed out; consecutive photos differ in food and in palette. Never rejects
 * unless `signal` has aborted.
 */
export function createDemoSource(options: DemoSourceOptions = {}): ImageSource {
  const nextVariant = createDemoSequence(options.random ?? Math.random);
  return {
    name: 'demo',
    // The catalog never runs out: nothing to share out between clients.
    async takePhoto(signal) {
      signal.throwIfAborted();
      return demoPhoto(nextVariant());
    },
    async trackDownload(photo, _client, signal) {
      signal.throwIfAborted();
      return photo.urls.full;
    },
    async close() {},
  };
}

/**
 * An endless walk through the catalog: every variant once per round of DEMO_VARIANT_COUNT calls,
 * from a random start, consecutive variants differing in food and palette (and mostly layout).
 */
export function createDemoSequence(random: () => number): () => DemoVariant {
  const foods = shuffled(
    DEMO_FOODS.map(([name]) => name),
    random,
  );
  const palettes = shuffled(
    DEMO_PALETTES.map((p) => p.name),
    random,
  );
  const layouts = shuffled(
    DEMO_LAYOUTS.map((l) => l.name),
    random,
  );
  const combos = palettes.length * layouts.length;
  let next = Math.floor(random() * DEMO_VARIANT_COUNT);

  // Index i ↦ (food i mod F, combination c = (⌊i/F⌋ + i mod F) mod C), and c ↦ (palette c mod P,
  // layout (c + ⌊c/P⌋) mod L): bijections over F·C steps (the second because P + 1 and L are
  // coprime) in which consecutive indexes change food and palette, and mostly layout.
  const variantAt = (index: number): DemoVariant => {
    const food = index % foods.length;
    const combo = (Math.floor(index / foods.length) + food) % combos;
    const variant = demoVariant(
      foods[food] ?? '',
      palettes[combo % palettes.length] ?? '',
      layouts[(combo + Math.floor(combo / palettes.length)) % layouts.length] ?? '',
    );
    if (variant === null) throw new Error(`Demo catalog index ${index} names no variant`);
    return variant;
  };

  return () => {
    const variant = variantAt(next);
    next = (next + 1) % DEMO_VARIANT_COUNT;
    return variant;
  };
}

/** The Photo for a catalog variant; its urls are same-origin paths served by demoImagesRoutes. */
export function demoPhoto(variant: DemoVariant): Photo {
  const { layout } = variant;
  const file = `${DEMO_IMAGES_PATH}/${variant.name}.svg`;
  const look = demoLook(variant);
  return {
    id: `demo-${variant.name}`,
    description: `${foodLabel(variant.food)} on ${variant.palette.name} (demo image)`,
    color: look.color,
    blurHash: look.blurHash,
    width: layout.width,
    height: layout.height,
    urls: {
      raw: file,
      full: `${file}?w=${layout.width}`,
      regular: `${file}?w=1080`,
      small: `${file}?w=400`,
      thumb: `${file}?w=200`,
    },
    link: DEMO_ARTWORK_CREDIT.pageOf(variant.food),
    author: { name: DEMO_ARTWORK_CREDIT.name, url: DEMO_ARTWORK_CREDIT.url },
    downloadLocation: null,
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
