import type { Photo } from '@simmer/contracts';

/** Unsplash's referral parameters, required on links back to Unsplash by its attribution guideline. */
export const UNSPLASH_REFERRAL = { utm_source: 'simmer', utm_medium: 'referral' } as const;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);
const optionalText = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);
const dimension = (value: unknown): number | null => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null);

function httpUrl(value: unknown): string | null {
  const raw = text(value);
  if (raw === null) return null;
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** `url` with Unsplash's referral parameters set (replacing any it had). */
export function withReferral(url: string): string {
  const parsed = new URL(url);
  for (const [name, value] of Object.entries(UNSPLASH_REFERRAL)) parsed.searchParams.set(name, value);
  return parsed.href;
}

/**
 * Maps one photo of Unsplash's JSON to our Photo, or returns null when it lacks anything the
 * page or the guidelines need (an id, sizes, the five urls, the photo page, the author).
 * Never throws, whatever `raw` is.
 */
export function mapUnsplashPhoto(raw: unknown): Photo | null {
  if (!isObject(raw) || !isObject(raw.urls) || !isObject(raw.links) || !isObject(raw.user)) return null;
  const userLinks = isObject(raw.user.links) ? raw.user.links : {};
  const id = text(raw.id);
  const width = dimension(raw.width);
  const height = dimension(raw.height);
  const urls = {
    raw: httpUrl(raw.urls.raw),
    full: httpUrl(raw.urls.full),
    regular: httpUrl(raw.urls.regular),
    small: httpUrl(raw.urls.small),
    thumb: httpUrl(raw.urls.thumb),
  };
  const link = httpUrl(raw.links.html);
  const authorName = optionalText(raw.user.name) ?? optionalText(raw.user.username);
  const authorUrl = httpUrl(userLinks.html);
  if (id === null || width === null || height === null || link === null || authorName === null || authorUrl === null) return null;
  if (urls.raw === null || urls.full === null || urls.regular === null || urls.small === null || urls.thumb === null) return null;
  return {
    id,
    description: optionalText(raw.description) ?? optionalText(raw.alt_description),
    color: typeof raw.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(raw.color) ? raw.color : null,
    blurHash: optionalText(raw.blur_hash),
    width,
    height,
    urls: { raw: urls.raw, full: urls.full, regular: urls.regular, small: urls.small, thumb: urls.thumb },
    link: withReferral(link),
    author: { name: authorName, url: withReferral(authorUrl) },
    downloadLocation: httpUrl(raw.links.download_location),
  };
}
