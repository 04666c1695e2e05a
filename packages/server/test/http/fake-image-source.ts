import type { ImageSourceName, Photo } from '@simmer/contracts';
import type { ImageSource } from '../../src/images/image-source.js';

/** An image source that answers at once with numbered photos and records whom for, and downloads; `failDownloads` makes tracking fail. */
export interface FakeImageSource extends ImageSource {
  /** Writable, so a test can play a process configured for another source. */
  name: ImageSourceName;
  readonly downloads: Photo[];
  /** The client key of each takePhoto call, in order. */
  readonly takenFor: (string | null)[];
  failDownloads: Error | null;
}

export function fakeImageSource(name: ImageSourceName = 'unsplash'): FakeImageSource {
  let taken = 0;
  const source: FakeImageSource = {
    name,
    downloads: [],
    takenFor: [],
    failDownloads: null,
    async takePhoto(signal, client) {
      signal.throwIfAborted();
      source.takenFor.push(client);
      return fakePhoto(++taken);
    },
    async trackDownload(photo, _client, signal) {
      signal.throwIfAborted();
      if (source.failDownloads) throw source.failDownloads;
      source.downloads.push(photo);
      return `${photo.urls.full}&dl=1`;
    },
    async close() {},
  };
  return source;
}

export function fakePhoto(n: number): Photo {
  const base = `https://images.example.test/photo-${n}`;
  return {
    id: `fake-${n}`,
    description: `Fake photo ${n}`,
    color: '#aa8844',
    blurHash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
    width: 1200,
    height: 800,
    urls: { raw: base, full: `${base}?w=1200`, regular: `${base}?w=1080`, small: `${base}?w=400`, thumb: `${base}?w=200` },
    link: `https://unsplash.example.test/photos/fake-${n}`,
    author: { name: 'A. Tester', url: 'https://unsplash.example.test/@tester' },
    downloadLocation: `https://api.example.test/photos/fake-${n}/download`,
  };
}
