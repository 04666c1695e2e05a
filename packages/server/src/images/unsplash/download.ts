import type { Photo } from '@simmer/contracts';
import { createDownloadTracker, type TrackDownload } from './download-tracker.js';
import { ImageSourceBusyError, PermanentImageError, TransientImageError } from '../image-source.js';
import { RATE_LIMITED, type UnsplashGet } from './http.js';

export interface UnsplashDownloadDeps {
  /** Its own UnsplashGet, whose quota readings pause nothing but tracking. */
  get: UnsplashGet;
  apiOrigin: string;
  quotaWaitMs: number;
  closing: AbortSignal;
  /** How long photo fetching still waits for quota (≤ 0: it does not). */
  photoPauseLeftMs(): number;
  /** The latest X-Ratelimit-Remaining seen by either path, and when. */
  quota(): { remaining: number; at: number } | null;
  onCacheHit?: () => void;
}

/** Calls of the hourly quota that download tracking leaves to photo fetching. */
const QUOTA_RESERVE_FOR_JOBS = 5;

/**
 * Unsplash's download tracking (`GET download_location`, authorised): one call, never retried,
 * through the per-client cache and budget of download-tracker.ts. It stays out of the way of
 * photo fetching: it spends none of the last few calls of the quota, and a rate-limit answer
 * pauses tracking alone (ImageSourceBusyError, 503 to the user), never the photo pool.
 */
export function createUnsplashDownloadTracking(deps: UnsplashDownloadDeps): TrackDownload {
  let pausedUntil = 0;
  const busy = (message: string, retryAfterMs: number) => new ImageSourceBusyError(message, retryAfterMs);
  return createDownloadTracker({
    ...(deps.onCacheHit ? { onCacheHit: deps.onCacheHit } : {}),
    track: async (photo, signal) => {
      const location = downloadUrl(photo, deps.apiOrigin);
      const paused = Math.max(pausedUntil - Date.now(), deps.photoPauseLeftMs());
      if (paused > 0) throw busy('The Unsplash quota is spent for now; try the download again later.', paused);
      const quota = deps.quota();
      if (quota !== null && quota.remaining <= QUOTA_RESERVE_FOR_JOBS && Date.now() - quota.at < deps.quotaWaitMs) {
        throw busy('The Unsplash quota left is kept for new photos; try the download again later.', deps.quotaWaitMs);
      }
      let body: unknown;
      try {
        body = await deps.get(location, 'download', AbortSignal.any([signal, deps.closing]));
      } catch (error) {
        if (error instanceof TransientImageError && error.code === RATE_LIMITED) {
          pausedUntil = Date.now() + deps.quotaWaitMs;
          throw busy('The Unsplash quota is spent for now; try the download again later.', deps.quotaWaitMs);
        }
        throw error;
      }
      const url = typeof body === 'object' && body !== null && 'url' in body ? body.url : undefined;
      if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
        throw new PermanentImageError('unsplash_bad_response', 'Unsplash answered a download request without a url');
      }
      return url;
    },
  });
}

/** The photo's download location, if the key may be sent there (only to the API's own origin). */
function downloadUrl(photo: Photo, apiOrigin: string): string {
  if (photo.downloadLocation === null) {
    throw new PermanentImageError('not_downloadable', `Photo ${photo.id} has no download location`);
  }
  let url: URL;
  try {
    url = new URL(photo.downloadLocation);
  } catch {
    throw new PermanentImageError('not_downloadable', `Photo ${photo.id} has a malformed download location`);
  }
  if (url.origin !== apiOrigin) {
    throw new PermanentImageError(
      'not_downloadable',
      `Photo ${photo.id}'s download location is not on the Unsplash API, so the key is not sent there`,
    );
  }
  return url.href;
}
