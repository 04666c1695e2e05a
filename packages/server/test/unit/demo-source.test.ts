import { decode, isBlurhashValid } from 'blurhash';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSafeSvgBody, loadDemoArtwork } from '../../src/images/demo/artwork.js';
import { DEMO_FOODS, DEMO_VARIANT_COUNT, findDemoVariant } from '../../src/images/demo/catalog.js';
import { createDemoSequence, createDemoSource } from '../../src/images/demo/demo-source.js';

/** A seeded PRNG so runs are repeatable. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const variantOf = (photoId: string) => findDemoVariant(photoId.replace(/^demo-/, ''));

afterEach(() => vi.restoreAllMocks());

describe('demo image source', () => {
  it('has a catalog of at least 1,000 distinct images', () => {
    expect(DEMO_VARIANT_COUNT).toBeGreaterThanOrEqual(1_000);
  });

  it('walks through every image of the catalog once before repeating any', () => {
    const next = createDemoSequence(seeded(1));
    const names = new Set<string>();
    for (let i = 0; i < DEMO_VARIANT_COUNT; i++) names.add(next().name);
    expect(names.size).toBe(DEMO_VARIANT_COUNT);
  });

  it('gives distinct photos to consecutive takes', async () => {
    const source = createDemoSource({ random: seeded(6) });
    const ids = new Set<string>();
    for (let i = 0; i < 300; i++) ids.add((await source.takePhoto(AbortSignal.timeout(1_000), null)).id);
    expect(ids.size).toBe(300);
  });

  it('gives consecutive photos a different food and palette, and mostly a different layout', async () => {
    const source = createDemoSource({ random: seeded(2) });
    let previous = variantOf((await source.takePhoto(AbortSignal.timeout(1_000), null)).id);
    let sameLayout = 0;
    for (let i = 0; i < 300; i++) {
      const current = variantOf((await source.takePhoto(AbortSignal.timeout(1_000), null)).id);
      expect(current?.food).not.toBe(previous?.food);
      expect(current?.palette.name).not.toBe(previous?.palette.name);
      if (current?.layout.name === previous?.layout.name) sameLayout += 1;
      previous = current;
    }
    expect(sameLayout).toBeLessThan(15);
  });

  it('starts at a different place for a different random start', async () => {
    const a = await createDemoSource({ random: seeded(3) }).takePhoto(AbortSignal.timeout(1_000), null);
    const b = await createDemoSource({ random: seeded(4) }).takePhoto(AbortSignal.timeout(1_000), null);
    expect(a.id).not.toBe(b.id);
  });

  it('gives each photo a BlurHash that decodes, a hex colour and same-origin urls', async () => {
    const source = createDemoSource({ random: seeded(5) });
    for (let i = 0; i < 20; i++) {
      const photo = await source.takePhoto(AbortSignal.timeout(1_000), null);
      expect(isBlurhashValid(photo.blurHash ?? '').result).toBe(true);
      expect(decode(photo.blurHash ?? '', 32, 32)).toHaveLength(32 * 32 * 4);
      expect(photo.color).toMatch(/^#[0-9a-f]{6}$/);
      expect(photo.urls.raw).toMatch(/^\/demo-images\/[a-z-]+\.svg$/);
      expect(photo.urls.small).toBe(`${photo.urls.raw}?w=400`);
      expect(photo.urls.thumb).toBe(`${photo.urls.raw}?w=200`);
      expect(photo.urls.regular).toBe(`${photo.urls.raw}?w=1080`);
      expect(photo.width).toBeGreaterThan(0);
      expect(photo.author).toEqual({ name: 'Microsoft Fluent Emoji', url: 'https://github.com/microsoft/fluentui-emoji' });
      expect(photo.downloadLocation).toBeNull();
    }
  });

  it('works offline: takes photos and tracks downloads without any network call', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const source = createDemoSource();
    const photo = await source.takePhoto(AbortSignal.timeout(1_000), null);
    await expect(source.trackDownload(photo, '127.0.0.1', AbortSignal.timeout(1_000))).resolves.toBe(photo.urls.full);
    await source.close();
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('rejects when the signal has already aborted', async () => {
    await expect(createDemoSource().takePhoto(AbortSignal.abort(new Error('stop')), null)).rejects.toThrow('stop');
  });
});

describe('demo artwork', () => {
  it('has safe artwork for every food of the catalog', async () => {
    const artwork = await loadDemoArtwork();
    expect([...artwork.keys()].sort()).toEqual(DEMO_FOODS.map(([name]) => name).sort());
  });

  it('accepts plain drawing markup with same-document references', () => {
    expect(isSafeSvgBody('<g fill="none"><path fill="#fff" d="M0 0h1"/><use href="#a"/><g clip-path="url(#b)"/></g>')).toBe(true);
  });

  it.each([
    '<script>alert(1)</script>',
    '<path onload="alert(1)" d="M0 0"/>',
    '<use href="https://evil.test/x.svg#a"/>',
    '<image href="data:image/png;base64,AAAA"/>',
    '<foreignObject><div/></foreignObject>',
    '<path style="fill:url(https://evil.test/)"/>',
    '<path fill="url(https://evil.test/a)"/>',
    '<!DOCTYPE svg [<!ENTITY x "y">]>',
  ])('refuses unsafe artwork markup: %s', (body) => {
    expect(isSafeSvgBody(body)).toBe(false);
  });
});
