import { encode } from 'blurhash';
import { DEMO_LAYOUTS, DEMO_PALETTES, PLATE_COLOR, type DemoVariant } from './catalog.js';
import { DEMO_LOOK_RECORD_LENGTH, DEMO_LOOKS } from './looks.js';

/** The look of a variant that a page needs before the image arrives. */
export interface DemoLook {
  /** The average colour, as #rrggbb. */
  readonly color: string;
  readonly blurHash: string;
}

const paletteIndex = new Map(DEMO_PALETTES.map((palette, index) => [palette.name, index]));
const layoutIndex = new Map(DEMO_LAYOUTS.map((layout, index) => [layout.name, index]));
const foodRecordsLength = DEMO_PALETTES.length * DEMO_LAYOUTS.length * DEMO_LOOK_RECORD_LENGTH;
const computed = new Map<string, DemoLook>();

/**
 * The variant's average colour and BlurHash, read from looks.ts, which holds them for the whole
 * catalog, worked out ahead of time: rendering and encoding cost ~0.3 to 0.7 ms a variant, which a
 * worker paid for every one of the catalog's variants it handed out (~19 % of its time draining
 * 20,000 jobs). A variant the table does not cover (the catalog changed and the table was not
 * written again, which a unit test catches) is computed once and kept.
 */
export function demoLook(variant: DemoVariant): DemoLook {
  const records = DEMO_LOOKS[variant.food];
  const palette = paletteIndex.get(variant.palette.name);
  const layout = layoutIndex.get(variant.layout.name);
  if (records?.length === foodRecordsLength && palette !== undefined && layout !== undefined) {
    const offset = (palette * DEMO_LAYOUTS.length + layout) * DEMO_LOOK_RECORD_LENGTH;
    return { color: `#${records.slice(offset, offset + 6)}`, blurHash: records.slice(offset + 6, offset + DEMO_LOOK_RECORD_LENGTH) };
  }
  let look = computed.get(variant.name);
  if (look === undefined) {
    look = computeDemoLook(variant);
    computed.set(variant.name, look);
  }
  return look;
}

/**
 * Works out a variant's look from a coarse rendering of the composition (gradient, glow, plate,
 * and a disc of the food's colour where each drawing sits). looks.ts is made from this.
 */
export function computeDemoLook(variant: DemoVariant): DemoLook {
  const { layout } = variant;
  // BlurHash keeps only 4×3 components; 12 px across is plenty, and the encoder costs ~10 µs a pixel.
  const gridWidth = 12;
  const gridHeight = Math.round((gridWidth * layout.height) / layout.width);
  const pixels = rasterize(variant, gridWidth, gridHeight);
  let [r, g, b] = [0, 0, 0];
  for (let i = 0; i < pixels.length; i += 4) {
    r += pixels[i] ?? 0;
    g += pixels[i + 1] ?? 0;
    b += pixels[i + 2] ?? 0;
  }
  const n = gridWidth * gridHeight;
  const landscape = layout.width >= layout.height;
  return {
    color: hex([r / n, g / n, b / n]),
    blurHash: encode(pixels, gridWidth, gridHeight, landscape ? 4 : 3, landscape ? 3 : 4),
  };
}

type Rgb = [number, number, number];

function rasterize(variant: DemoVariant, width: number, height: number): Uint8ClampedArray {
  const { layout, palette } = variant;
  const from = rgb(palette.from);
  const to = rgb(palette.to);
  const accent = rgb(variant.accent);
  const white: Rgb = [255, 255, 255];
  const plate = rgb(PLATE_COLOR);
  const [x1, y1, x2, y2] = layout.gradient;
  const [dx, dy] = [x2 - x1, y2 - y1];
  const length2 = dx * dx + dy * dy || 1;
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const u = (col + 0.5) / width;
      const v = (row + 0.5) / height;
      const x = u * layout.width;
      const y = v * layout.height;
      const t = clamp(((u - x1) * dx + (v - y1) * dy) / length2);
      let color = mix(from, to, t);
      const glow = Math.hypot(x - layout.glow.cx, y - layout.glow.cy) / layout.glow.r;
      if (glow < 1) color = mix(color, white, palette.glow * (1 - glow));
      if (layout.plate && Math.hypot(x - layout.plate.cx, y - layout.plate.cy) < layout.plate.r) color = mix(color, plate, 0.92);
      for (const place of layout.placements) {
        // A drawing covers roughly the middle of its box.
        if (Math.hypot(x - place.cx, y - place.cy) < place.size * 0.36) color = mix(color, accent, 0.85 * place.opacity);
      }
      pixels.set([Math.round(color[0]), Math.round(color[1]), Math.round(color[2]), 255], (row * width + col) * 4);
    }
  }
  return pixels;
}

const clamp = (value: number): number => Math.min(1, Math.max(0, value));
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const rgb = (value: string): Rgb => {
  const n = Number.parseInt(value.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
};
const hex = (color: Rgb): string => `#${color.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
