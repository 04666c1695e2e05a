import { describe, expect, it } from 'vitest';
import { mapUnsplashPhoto } from '../../src/images/unsplash/photo.js';

const raw = {
  id: 'Dwu85P9SOIk',
  width: 6000,
  height: 4000,
  color: '#c08040',
  blur_hash: 'LHLnVT}ooc=v}ps-j@oKocj@a|fQ',
  description: 'Ramen',
  alt_description: 'a bowl of noodles',
  urls: {
    raw: 'https://images.unsplash.com/photo-1?ixid=a',
    full: 'https://images.unsplash.com/photo-1?ixid=a&q=85',
    regular: 'https://images.unsplash.com/photo-1?ixid=a&w=1080',
    small: 'https://images.unsplash.com/photo-1?ixid=a&w=400',
    thumb: 'https://images.unsplash.com/photo-1?ixid=a&w=200',
  },
  links: {
    html: 'https://unsplash.com/photos/ramen-Dwu85P9SOIk',
    download_location: 'https://api.unsplash.com/photos/Dwu85P9SOIk/download?ixid=a',
  },
  user: { username: 'ann', name: 'Ann Cook', links: { html: 'https://unsplash.com/@ann' } },
};

describe('mapUnsplashPhoto', () => {
  it('maps Unsplash fields to a Photo with referral parameters on links back to Unsplash', () => {
    expect(mapUnsplashPhoto(raw)).toEqual({
      id: 'Dwu85P9SOIk',
      description: 'Ramen',
      color: '#c08040',
      blurHash: 'LHLnVT}ooc=v}ps-j@oKocj@a|fQ',
      width: 6000,
      height: 4000,
      urls: raw.urls,
      link: 'https://unsplash.com/photos/ramen-Dwu85P9SOIk?utm_source=simmer&utm_medium=referral',
      author: { name: 'Ann Cook', url: 'https://unsplash.com/@ann?utm_source=simmer&utm_medium=referral' },
      downloadLocation: 'https://api.unsplash.com/photos/Dwu85P9SOIk/download?ixid=a',
    });
  });

  it('falls back to alt_description, then null, for the description', () => {
    expect(mapUnsplashPhoto({ ...raw, description: null })?.description).toBe('a bowl of noodles');
    const { alt_description: _, ...withoutAlt } = raw;
    expect(mapUnsplashPhoto({ ...withoutAlt, description: null })?.description).toBeNull();
  });

  it('accepts null color, blur_hash and download location', () => {
    const photo = mapUnsplashPhoto({ ...raw, color: null, blur_hash: null, links: { html: raw.links.html } });
    expect(photo).toMatchObject({ color: null, blurHash: null, downloadLocation: null });
  });

  it('returns null, never throws, for photos missing what the page needs', () => {
    for (const broken of [
      null,
      'x',
      [],
      {},
      { ...raw, id: 7 },
      { ...raw, width: -1 },
      { ...raw, urls: { ...raw.urls, small: 'javascript:alert(1)' } },
      { ...raw, user: { name: 'A' } },
    ]) {
      expect(mapUnsplashPhoto(broken)).toBeNull();
    }
  });
});
