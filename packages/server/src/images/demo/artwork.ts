import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { DEMO_FOODS } from './catalog.js';

/**
 * The demo images' artwork: Microsoft's Fluent Emoji (flat style), MIT licence,
 * https://github.com/microsoft/fluentui-emoji, as packaged by Iconify in `@iconify-json/fluent-emoji-flat`.
 */
export const DEMO_ARTWORK_CREDIT = {
  name: 'Microsoft Fluent Emoji',
  url: 'https://github.com/microsoft/fluentui-emoji',
  license: 'MIT',
  licenseUrl: 'https://github.com/microsoft/fluentui-emoji/blob/main/LICENSE',
  /** Iconify's page of one drawing, the closest thing to a per-image source page. */
  pageOf: (food: string): string => `https://icon-sets.iconify.design/fluent-emoji-flat/${food}/`,
} as const;

/** One drawing: SVG markup to place inside a `viewBox="0 0 width height"`. */
export interface Artwork {
  readonly body: string;
  readonly width: number;
  readonly height: number;
}

interface IconifySet {
  width?: number;
  height?: number;
  icons: Record<string, { body: string; width?: number; height?: number } | undefined>;
}

let loading: Promise<ReadonlyMap<string, Artwork>> | null = null;

/**
 * The catalog's drawings, by food name. The package's file (about 9 MB) is read and parsed once,
 * on first use, and only the catalog's foods are kept. A drawing that is missing or fails the
 * safety check is left out, so its images show the background alone.
 */
export function loadDemoArtwork(): Promise<ReadonlyMap<string, Artwork>> {
  loading ??= readArtwork().catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

async function readArtwork(): Promise<ReadonlyMap<string, Artwork>> {
  const path = createRequire(import.meta.url).resolve('@iconify-json/fluent-emoji-flat/icons.json');
  const set = JSON.parse(await readFile(path, 'utf8')) as IconifySet;
  const artwork = new Map<string, Artwork>();
  for (const [food] of DEMO_FOODS) {
    const icon = set.icons[food];
    if (icon === undefined || !isSafeSvgBody(icon.body)) continue;
    artwork.set(food, { body: icon.body, width: icon.width ?? set.width ?? 16, height: icon.height ?? set.height ?? 16 });
  }
  return artwork;
}

// Plain vector drawing only: no script, no foreign content, no external references, no styles.
const ALLOWED_ELEMENTS = new Set([
  'g',
  'defs',
  'path',
  'circle',
  'ellipse',
  'rect',
  'line',
  'polyline',
  'polygon',
  'use',
  'clipPath',
  'mask',
  'linearGradient',
  'radialGradient',
  'stop',
  'symbol',
]);

/**
 * Whether an SVG fragment is safe to serve inside our own SVG: only drawing elements, no event
 * handler attributes, and references only to fragments within the same document.
 */
export function isSafeSvgBody(body: string): boolean {
  if (/<!|<\?|&/.test(body)) return false;
  for (const match of body.matchAll(/<\/?\s*([A-Za-z][\w:-]*)/g)) {
    if (!ALLOWED_ELEMENTS.has(match[1] ?? '')) return false;
  }
  for (const match of body.matchAll(/\s([A-Za-z_:][\w:.-]*)\s*=\s*("[^"]*"|'[^']*')/g)) {
    const name = (match[1] ?? '').toLowerCase();
    const value = (match[2] ?? '').slice(1, -1);
    if (name.startsWith('on') || name === 'style') return false;
    if ((name === 'href' || name === 'xlink:href') && !/^#[\w-]+$/.test(value)) return false;
    if (/url\(/i.test(value) && !/^url\(#[\w-]+\)$/.test(value.trim())) return false;
  }
  return true;
}
