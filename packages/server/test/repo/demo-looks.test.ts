import { describe, expect, it } from 'vitest';
import { DEMO_FOODS, DEMO_LAYOUTS, DEMO_PALETTES, type DemoVariant, demoVariant } from '../../src/images/demo/catalog.js';
import { computeDemoLook, demoLook } from '../../src/images/demo/look.js';
import { DEMO_LOOK_RECORD_LENGTH } from '../../src/images/demo/looks.js';

const BLURHASH_LENGTH = DEMO_LOOK_RECORD_LENGTH - 6;

/** The text of demo-looks.ts: per food, each variant's colour and BlurHash, in catalog order of palette, then layout. */
function demoLooksModule(): string {
  const foods = DEMO_FOODS.map(([food]) => {
    const records = DEMO_PALETTES.flatMap((palette) =>
      DEMO_LAYOUTS.map((layout) => {
        const look = computeDemoLook(demoVariant(food, palette.name, layout.name)!);
        if (look.blurHash.length !== BLURHASH_LENGTH) throw new Error(`${food}: a BlurHash of ${look.blurHash.length} characters`);
        return look.color.slice(1) + look.blurHash;
      }),
    );
    return `  ${/^[a-z]+$/.test(food) ? food : `'${food}'`}: '${records.join('')}',`;
  });
  return [
    '// Made by test/repo/demo-looks.test.ts from catalog.ts and look.ts: do not edit. After changing either,',
    '// write it again with `npx vitest run demo-looks -u` (the test fails until then).',
    '',
    '/** Characters per variant: its average colour (6 hex digits), then its BlurHash. */',
    `export const DEMO_LOOK_RECORD_LENGTH = ${DEMO_LOOK_RECORD_LENGTH};`,
    '',
    '/** Per food, the looks of its variants, in catalog order of palette, then layout. */',
    'export const DEMO_LOOKS: Readonly<Record<string, string>> = {',
    ...foods,
    '};',
    '',
  ].join('\n');
}

describe('demo looks, worked out ahead of time', () => {
  it('are the looks of the current catalog (demo-looks.ts is up to date)', async () => {
    await expect(demoLooksModule()).toMatchFileSnapshot('../../src/images/demo/looks.ts');
  });

  it('are what demoLook answers, without computing anything', () => {
    for (const [food] of DEMO_FOODS.filter((_, i) => i % 17 === 0)) {
      for (const palette of DEMO_PALETTES) {
        for (const layout of DEMO_LAYOUTS) {
          const variant = demoVariant(food, palette.name, layout.name)!;
          expect(demoLook(variant)).toEqual(computeDemoLook(variant));
        }
      }
    }
  });

  it('computes the look of a variant the table does not cover', () => {
    const known = demoVariant('avocado', DEMO_PALETTES[0]!.name, DEMO_LAYOUTS[0]!.name)!;
    const unknown: DemoVariant = { ...known, name: `durian-${known.palette.name}-${known.layout.name}`, food: 'durian', accent: '#c3ef3c' };
    const look = demoLook(unknown);
    expect(look).toEqual(computeDemoLook(unknown));
    expect(look.color).toMatch(/^#[0-9a-f]{6}$/);
    expect(look.blurHash).not.toBe(demoLook(known).blurHash);
  });
});
