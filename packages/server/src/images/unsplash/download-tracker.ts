import type { Photo } from '@simmer/contracts';
import { LRUCache } from 'lru-cache';
import { ClientShareSpentError, ImageSourceBusyError } from '../image-source.js';
import { TokenBucket } from '../token-bucket.js';

export interface DownloadTrackerOptions {
  /** Makes the one upstream tracking call and returns the file's address. */
  track(photo: Photo, signal: AbortSignal): Promise<string>;
  /** A repeat by the same client within this time answers from the cache (default one hour). */
  repeatWindowMs?: number;
  /** The budget: at most `burst` calls at once after a quiet spell, then one per `refillMs`. */
  burst?: number;
  refillMs?: number;
  /** One client's share of it: at most `clientBurst` calls at once, then one per `clientRefillMs`. */
  clientBurst?: number;
  clientRefillMs?: number;
  /** Clients whose share is remembered; one forgotten starts again with a full share (the shared budget still holds). */
  clientsTracked?: number;
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
 * for jobs needs, and each client out of its own share of that bucket, so one client cannot spend
 * it for all: past its share a client is refused with ClientShareSpentError (429) while others go
 * on; past the whole budget, everyone is with ImageSourceBusyError (503), until a token is back.
 */
export function createDownloadTracker(options: DownloadTrackerOptions): TrackDownload {
  const now = options.now ?? Date.now;
  const shared = new TokenBucket(options.burst ?? 10, options.refillMs ?? 30_000, now);
  const clientBurst = options.clientBurst ?? 3;
  const clientRefillMs = options.clientRefillMs ?? 120_000;
  const shares = new LRUCache<string, TokenBucket>({
    max: options.clientsTracked ?? 10_000,
    // A share untouched this long is full again: forgetting it changes nothing. Untouched: a share
    // in use must not be forgotten (and so refilled) merely for being as old as that.
    ttl: clientBurst * clientRefillMs,
    updateAgeOnGet: true,
    ttlResolution: 0,
    perf: { now },
  });
  const cache = new LRUCache<string, Promise<string>>({
    max: options.cacheEntries ?? 10_000,
    ttl: options.repeatWindowMs ?? HOUR_MS,
    perf: { now },
  });

  const takeToken = (client: string): void => {
    let share = shares.get(client);
    if (share === undefined) {
      share = new TokenBucket(clientBurst, clientRefillMs, now);
      shares.set(client, share);
    }
    const ownWait = share.waitMs();
    if (ownWait > 0) throw new ClientShareSpentError('This client has used its share of download tracking; try again later.', ownWait);
    const sharedWait = shared.waitMs();
    if (sharedWait > 0) throw new ImageSourceBusyError('Download tracking is busy; try again shortly.', sharedWait);
    share.take();
    shared.take();
  };

  return (photo, client, signal) => {
    const key = `${photo.id}\n${client}`;
    const known = cache.get(key);
    if (known !== undefined) {
      options.onCacheHit?.();
      return known;
    }
    takeToken(client);
    const call = options.track(photo, signal);
    cache.set(key, call);
    // A failed call is not remembered: the next press tries again.
    call.catch(() => {
      if (cache.peek(key) === call) cache.delete(key);
    });
    return call;
  };
}
