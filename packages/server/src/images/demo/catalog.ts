/**
 * The demo catalog: food artwork × palette × layout, every combination a distinct image that the
 * server composes as SVG (see demo-svg.ts). This module holds only names and geometry, so building
 * a Photo never loads the artwork itself.
 */

/** Foods of Fluent Emoji's "Food & Drink" group (tableware and plain drinks left out), with each one's main colour. */
export const DEMO_FOODS: readonly (readonly [name: string, accent: string])[] = [
  ['avocado', '#008463'],
  ['bacon', '#ca0b4a'],
  ['bagel', '#ffe5d9'],
  ['baguette-bread', '#fff3d7'],
  ['banana', '#f9c23c'],
  ['beans', '#9d5044'],
  ['bell-pepper', '#44911b'],
  ['bento-box', '#f8312f'],
  ['birthday-cake', '#fcd53f'],
  ['blueberries', '#bca4eb'],
  ['bowl-with-spoon', '#0074ba'],
  ['bread', '#e19747'],
  ['broccoli', '#00d26a'],
  ['brown-mushroom', '#a74d4d'],
  ['bubble-tea', '#8c5543'],
  ['burrito', '#6d4534'],
  ['butter', '#fcd53f'],
  ['candy', '#f8312f'],
  ['carrot', '#ff822d'],
  ['cheese-wedge', '#fcd53f'],
  ['cherries', '#f8312f'],
  ['chestnut', '#6d4534'],
  ['chocolate-bar', '#6d4534'],
  ['coconut', '#a56953'],
  ['cooked-rice', '#f4f4f4'],
  ['cookie', '#6d4534'],
  ['cooking', '#fcd53f'],
  ['crab', '#ca0b4a'],
  ['croissant', '#f3ad61'],
  ['cucumber', '#44911b'],
  ['cupcake', '#5092ff'],
  ['curry-rice', '#fcd53f'],
  ['custard', '#a56953'],
  ['cut-of-meat', '#f8312f'],
  ['dango', '#d3883e'],
  ['doughnut', '#ff6dc6'],
  ['dumpling', '#f3ad61'],
  ['ear-of-corn', '#fcd53f'],
  ['egg', '#f3ad61'],
  ['eggplant', '#8d65c5'],
  ['falafel', '#6d4534'],
  ['fish-cake-with-swirl', '#f8312f'],
  ['flatbread', '#d3883e'],
  ['fondue', '#f8312f'],
  ['fortune-cookie', '#d3883e'],
  ['french-fries', '#ffb02e'],
  ['fried-shrimp', '#ff6723'],
  ['garlic', '#ffce7c'],
  ['ginger-root', '#d3883e'],
  ['grapes', '#96c34a'],
  ['green-apple', '#86d72f'],
  ['green-salad', '#44911b'],
  ['hamburger', '#44911b'],
  ['honey-pot', '#f9c23c'],
  ['hot-beverage', '#7d4533'],
  ['hot-dog', '#fcd53f'],
  ['hot-pepper', '#f8312f'],
  ['ice-cream', '#00a6ed'],
  ['kiwi-fruit', '#86d72f'],
  ['leafy-green', '#008463'],
  ['lemon', '#fcd53f'],
  ['lime', '#aae64b'],
  ['lobster', '#ca0b4a'],
  ['lollipop', '#5092ff'],
  ['mango', '#ffb02e'],
  ['meat-on-bone', '#f8312f'],
  ['melon', '#608842'],
  ['moon-cake', '#ffdea7'],
  ['mushroom', '#fbb8ab'],
  ['oden', '#d3883e'],
  ['olive', '#86d72f'],
  ['onion', '#e19747'],
  ['oyster', '#6d4534'],
  ['pancakes', '#6d4534'],
  ['pea-pod', '#8dd753'],
  ['peach', '#ff822d'],
  ['peanuts', '#d3883e'],
  ['pear', '#c3ef3c'],
  ['pie', '#e19747'],
  ['pineapple', '#e19747'],
  ['pizza', '#f3ad61'],
  ['popcorn', '#fff478'],
  ['pot-of-food', '#7d4533'],
  ['potato', '#d3883e'],
  ['poultry-leg', '#d3883e'],
  ['pretzel', '#ffb02e'],
  ['red-apple', '#f8312f'],
  ['rice-ball', '#f4f4f4'],
  ['rice-cracker', '#ffdea7'],
  ['roasted-sweet-potato', '#ca0b4a'],
  ['sandwich', '#44911b'],
  ['shallow-pan-of-food', '#fcd53f'],
  ['shaved-ice', '#ffdea7'],
  ['shortcake', '#ffdea7'],
  ['shrimp', '#f8312f'],
  ['soft-ice-cream', '#ffdea7'],
  ['spaghetti', '#fcd53f'],
  ['squid', '#bb1d80'],
  ['steaming-bowl', '#e39d89'],
  ['strawberry', '#f8312f'],
  ['stuffed-flatbread', '#ffdea7'],
  ['sushi', '#ff8687'],
  ['taco', '#44911b'],
  ['tamale', '#6d4534'],
  ['tangerine', '#ff822d'],
  ['tomato', '#f8312f'],
  ['waffle', '#b97028'],
  ['watermelon', '#f8312f'],
];

export interface DemoPalette {
  readonly name: string;
  /** Background gradient, from its start to its end. */
  readonly from: string;
  readonly to: string;
  /** Opacity of the white glow behind the food: lower on light palettes. */
  readonly glow: number;
}

export const DEMO_PALETTES: readonly DemoPalette[] = [
  { name: 'tomato', from: '#ff9a76', to: '#d7263d', glow: 0.35 },
  { name: 'saffron', from: '#ffd166', to: '#f4845f', glow: 0.35 },
  { name: 'matcha', from: '#d8efc1', to: '#5c9e6b', glow: 0.3 },
  { name: 'berry', from: '#f7a1c4', to: '#8e2c6f', glow: 0.35 },
  { name: 'blueberry', from: '#a0c4ff', to: '#3d5a99', glow: 0.35 },
  { name: 'cream', from: '#fff4e0', to: '#efc69b', glow: 0.5 },
  { name: 'espresso', from: '#a1887f', to: '#3e2723', glow: 0.25 },
  { name: 'mint', from: '#e3f6e8', to: '#74c69d', glow: 0.45 },
  { name: 'peach', from: '#ffe5d0', to: '#ff9f80', glow: 0.45 },
  { name: 'plum', from: '#d9c2e6', to: '#5e3c8f', glow: 0.3 },
  { name: 'lemon', from: '#fffbd1', to: '#ffd54f', glow: 0.5 },
  { name: 'charcoal', from: '#5c607d', to: '#22223b', glow: 0.2 },
];

/** One drawing of the food: centre and size in pixels of the layout's canvas. */
export interface DemoPlacement {
  readonly cx: number;
  readonly cy: number;
  readonly size: number;
  readonly rotate: number;
  readonly opacity: number;
}

export interface DemoLayout {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** Gradient direction as fractions of the canvas (SVG objectBoundingBox units). */
  readonly gradient: readonly [x1: number, y1: number, x2: number, y2: number];
  readonly glow: { readonly cx: number; readonly cy: number; readonly r: number };
  /** A cream disc under the main drawing, like a plate. */
  readonly plate: { readonly cx: number; readonly cy: number; readonly r: number } | null;
  /** Faint small drawings tiled over the background, every `spacing` pixels. */
  readonly pattern: { readonly spacing: number; readonly size: number; readonly opacity: number } | null;
  /** Drawn in order; the last is the main one. */
  readonly placements: readonly DemoPlacement[];
}

export const DEMO_LAYOUTS: readonly DemoLayout[] = [
  {
    name: 'hero',
    width: 1600,
    height: 1200,
    gradient: [0, 0, 1, 1],
    glow: { cx: 800, cy: 560, r: 560 },
    plate: null,
    pattern: null,
    placements: [{ cx: 800, cy: 580, size: 660, rotate: 0, opacity: 1 }],
  },
  {
    name: 'plate',
    width: 1200,
    height: 1200,
    gradient: [0, 0, 0, 1],
    glow: { cx: 600, cy: 600, r: 520 },
    plate: { cx: 600, cy: 600, r: 380 },
    pattern: { spacing: 200, size: 88, opacity: 0.16 },
    placements: [{ cx: 600, cy: 600, size: 500, rotate: 0, opacity: 1 }],
  },
  {
    name: 'scatter',
    width: 1080,
    height: 1350,
    gradient: [1, 0, 0, 1],
    glow: { cx: 600, cy: 820, r: 600 },
    plate: null,
    pattern: null,
    placements: [
      { cx: 230, cy: 260, size: 250, rotate: -16, opacity: 0.9 },
      { cx: 860, cy: 300, size: 300, rotate: 18, opacity: 0.9 },
      { cx: 580, cy: 850, size: 700, rotate: 6, opacity: 1 },
    ],
  },
];

/** One image of the catalog. Its name (`<food>-<palette>-<layout>`) is its file name and id. */
export interface DemoVariant {
  readonly name: string;
  readonly food: string;
  readonly accent: string;
  readonly palette: DemoPalette;
  readonly layout: DemoLayout;
}

export const DEMO_VARIANT_COUNT = DEMO_FOODS.length * DEMO_PALETTES.length * DEMO_LAYOUTS.length;

const foodsByName = new Map(DEMO_FOODS.map(([name, accent]) => [name, accent]));
const palettesByName = new Map(DEMO_PALETTES.map((p) => [p.name, p]));
const layoutsByName = new Map(DEMO_LAYOUTS.map((l) => [l.name, l]));

/** Variant names are lower-case words joined by single hyphens; anything else is malformed. */
export const DEMO_VARIANT_NAME = /^[a-z]+(?:-[a-z]+){2,8}$/;

export function demoVariant(food: string, palette: string, layout: string): DemoVariant | null {
  const accent = foodsByName.get(food);
  const p = palettesByName.get(palette);
  const l = layoutsByName.get(layout);
  if (accent === undefined || p === undefined || l === undefined) return null;
  return { name: `${food}-${palette}-${layout}`, food, accent, palette: p, layout: l };
}

/** The variant named `name`, or null when the catalog has none (palette and layout names hold no hyphen). */
export function findDemoVariant(name: string): DemoVariant | null {
  if (!DEMO_VARIANT_NAME.test(name)) return null;
  const parts = name.split('-');
  const layout = parts.pop() ?? '';
  const palette = parts.pop() ?? '';
  return demoVariant(parts.join('-'), palette, layout);
}

/** The plate's colour in the `plate` layout. */
export const PLATE_COLOR = '#fffaf2';
