import type { Artwork } from './artwork.js';
import { type DemoVariant, PLATE_COLOR } from './catalog.js';

/** "fish-cake-with-swirl" → "Fish cake with swirl". */
export function foodLabel(food: string): string {
  const words = food.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * The variant as a standalone SVG document: background gradient, glow, optional plate and tiled
 * pattern, and the artwork drawn at each of the layout's placements. `width` scales the rendered
 * size (the aspect ratio is kept); without it the layout's own size is used. Without artwork the
 * background alone is drawn. Pure string building: no I/O.
 */
export function renderDemoSvg(variant: DemoVariant, artwork: Artwork | undefined, width?: number): string {
  const { layout, palette } = variant;
  const outWidth = width ?? layout.width;
  const outHeight = Math.max(1, Math.round((outWidth * layout.height) / layout.width));
  const [x1, y1, x2, y2] = layout.gradient;
  const label = foodLabel(variant.food);
  const parts: string[] = [];

  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${outWidth}" height="${outHeight}" viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="${label}">`,
    `<title>${label}</title>`,
    '<defs>',
    `<linearGradient id="simmer-bg" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}"><stop offset="0" stop-color="${palette.from}"/><stop offset="1" stop-color="${palette.to}"/></linearGradient>`,
    `<radialGradient id="simmer-glow" gradientUnits="userSpaceOnUse" cx="${layout.glow.cx}" cy="${layout.glow.cy}" r="${layout.glow.r}"><stop offset="0" stop-color="#fff" stop-opacity="${palette.glow}"/><stop offset="1" stop-color="#fff" stop-opacity="0"/></radialGradient>`,
    '<radialGradient id="simmer-shadow"><stop offset="0" stop-color="#000" stop-opacity="0.22"/><stop offset="1" stop-color="#000" stop-opacity="0"/></radialGradient>',
  );
  if (artwork) parts.push(`<symbol id="simmer-art" viewBox="0 0 ${artwork.width} ${artwork.height}">${artwork.body}</symbol>`);
  if (artwork && layout.pattern) {
    const { spacing, size, opacity } = layout.pattern;
    const offset = (spacing - size) / 2;
    parts.push(
      `<pattern id="simmer-tiles" width="${spacing}" height="${spacing}" patternUnits="userSpaceOnUse" patternTransform="rotate(-12)">`,
      `<use href="#simmer-art" x="${offset}" y="${offset}" width="${size}" height="${size}" opacity="${opacity}"/>`,
      `<use href="#simmer-art" x="${offset + spacing / 2}" y="${offset + spacing / 2}" width="${size / 2}" height="${size / 2}" opacity="${opacity}"/>`,
      '</pattern>',
    );
  }
  parts.push('</defs>', `<rect width="${layout.width}" height="${layout.height}" fill="url(#simmer-bg)"/>`);
  if (artwork && layout.pattern) parts.push(`<rect width="${layout.width}" height="${layout.height}" fill="url(#simmer-tiles)"/>`);
  parts.push(`<rect width="${layout.width}" height="${layout.height}" fill="url(#simmer-glow)"/>`);
  if (layout.plate) {
    const { cx, cy, r } = layout.plate;
    parts.push(
      `<circle cx="${cx}" cy="${cy + r * 0.06}" r="${r * 1.04}" fill="url(#simmer-shadow)"/>`,
      `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${PLATE_COLOR}" opacity="0.92"/>`,
      `<circle cx="${cx}" cy="${cy}" r="${r * 0.8}" fill="none" stroke="#000" stroke-opacity="0.05" stroke-width="6"/>`,
    );
  }
  if (artwork) {
    for (const place of layout.placements) {
      const { cx, cy, size, rotate, opacity } = place;
      if (!layout.plate) {
        parts.push(
          `<ellipse cx="${cx}" cy="${cy + size * 0.44}" rx="${size * 0.38}" ry="${size * 0.07}" fill="url(#simmer-shadow)" opacity="${opacity}"/>`,
        );
      }
      parts.push(
        `<use href="#simmer-art" x="${cx - size / 2}" y="${cy - size / 2}" width="${size}" height="${size}" opacity="${opacity}"${rotate ? ` transform="rotate(${rotate} ${cx} ${cy})"` : ''}/>`,
      );
    }
  }
  parts.push('</svg>');
  return parts.join('');
}
