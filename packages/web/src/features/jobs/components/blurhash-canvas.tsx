import { decode, isBlurhashValid } from 'blurhash';
import { useEffect, useRef } from 'react';

const SIZE = 32;
const cache = new Map<string, ImageData>();

function pixels(hash: string): ImageData | null {
  const hit = cache.get(hash);
  if (hit) return hit;
  if (!isBlurhashValid(hash).result) return null;
  const image = new ImageData(new Uint8ClampedArray(decode(hash, SIZE, SIZE)), SIZE, SIZE);
  // Windowing mounts the same cards again while scrolling; keep the recent decodes.
  if (cache.size > 400) cache.delete(cache.keys().next().value!);
  cache.set(hash, image);
  return image;
}

/** The photo's blur-hash, painted into a 32×32 canvas that CSS stretches under the image. */
export function BlurhashCanvas({ hash, className }: { hash: string; className?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const image = pixels(hash);
    const context = ref.current?.getContext('2d');
    if (image && context) context.putImageData(image, 0, 0);
  }, [hash]);
  return <canvas ref={ref} width={SIZE} height={SIZE} className={className} aria-hidden="true" />;
}
