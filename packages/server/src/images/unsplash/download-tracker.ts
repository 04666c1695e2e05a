import type { Photo } from '@simmer/contracts';
import { LRUCache } from 'lru-cache';
import { ImageSourceBusyError } from '../image-source.js';

export interface DownloadTrackerOptions {
  /** Makes the one upstream tracking call and returns the file's address. */
  track(photo: Photo, signal: AbortSignal): Promise<string>;
  /** A repeat by the same client within this time answers from the cache (default one hour). */
  repeatWindowMs?: number;
  /** The budget: at most `burst` calls at once after a quiet spell, then one per `refillMs`. */
  burst?: number;
  refillMs?: number;
  /** (photo, client) pairs remembered; the least recently used is forgotten past it. */
  cacheEntries?: number;
  /** Told of every download answered from the cache. */
  onCacheHit?: () => void;
  now?: () => number;
}

/** Downloads the server forgets after an hour are tracked again, as Unsplash counts them per hour. */
const HOUR_MS = 3600_000;

export type TrackDownload = (photo: Photo, client: string, signal: AbortSignal) => Promise<string>;

/**
 * At most one tracking call per photo per client per repeat window: repeats (and presses made
 * while the first call is still in flight) answer from the cache. Calls come out of a small
 * token bucket of their own, so no number of clients can spend the API quota that photo fetching
 * for jobs needs; past the budget a download is refused with ImageSourceBusyError (503) until
 * a token is back.
 */
export function createDownloadTracker(options: DownloadTrackerOptions): TrackDownload {
  const now = options.now ?? Date.now;
  const burst = options.burst ?? 10;
  const refillMs = options.refillMs ?? 30_000;
  const cache = new LRUCache<string, Promise<string>>({
    max: options.cacheEntries ?? 10_000,
    ttl: options.repeatWindowMs ?? HOUR_MS,
    perf: { now },
  });
  let tokens = burst;
  let refilledAt = now();

  const takeToken = (): void => {
    const t = now();
    const earned = Math.floor((t - refilledAt) / refillMs);
    if (earned > 0) {
      tokens = Math.min(burst, tokens + earned);
      refilledAt = tokens === burst ? t : refilledAt + earned * refillMs;
    }
    if (tokens === 0) {
      throw new ImageSourceBusyError('Download tracking is busy; try again shortly.', refilledAt + refillMs - t);
    }
    tokens -= 1;
  };

  return (photo, client, signal) => {
    const key = `${photo.id}\n${client}`;
    const known = cache.get(key);
    if (known !== undefined) {
      options.onCacheHit?.();
      return known;
    }
    takeToken();
    const call = options.track(photo, signal);
    cache.set(key, call);
    // A failed call is not remembered: the next press tries again.
    call.catch(() => {
      if (cache.peek(key) === call) cache.delete(key);
    });
    return call;
  };
}
