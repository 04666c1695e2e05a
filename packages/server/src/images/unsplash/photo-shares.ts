import { LRUCache } from 'lru-cache';
import { PermanentImageError } from '../image-source.js';
import { TokenBucket } from '../token-bucket.js';

export interface PhotoSharesOptions {
  /** UNSPLASH_CLIENT_SHARE_PERCENT: one client's share of the hour's photo supply, in percent (1–100). */
  sharePercent: number;
  /** Photos one API call brings. */
  photosPerCall: number;
  /** Whether photo fetching waits for quota now: the supply is short then, whatever the headers said. */
  pausedForQuota(): boolean;
  /** Clients whose share is remembered (default 10,000); past it the least recently seen is forgotten, and starts again with a full share. */
  clientsTracked?: number;
  /** Told of every refusal. */
  onRefused?: () => void;
  now?: () => number;
}

export interface PhotoShares {
  /** An Unsplash answer's X-Ratelimit-Remaining, and its X-Ratelimit-Limit (null: not sent). */
  sawQuota(remaining: number, limit: number | null): void;
  /**
   * One photo for a job of `client`, out of the client's share: spends one of its tokens while it
   * has any. While the supply is short, a client with none left is refused: throws
   * PermanentImageError('photo_share_spent'). Jobs of no known client (null) spend nothing and are
   * never refused. Returns a function that gives the token back (the photo was not handed out).
   */
  take(client: string | null): () => void;
  /** Whether the supply is short, so that shares are enforced. */
  short(): boolean;
  /** One client's share: photos an hour. */
  share(): number;
}

const HOUR_MS = 3600_000;
/** Calls an hour until Unsplash says otherwise: a new ("demo") application's quota. */
const DEFAULT_LIMIT = 50;
/** Clients remembered: a bucket with its LRU entry is ~130 bytes of heap (measured), so at most ~1.3 MB. */
const CLIENTS_TRACKED = 10_000;
const nothingToGiveBack = (): void => {};

/**
 * The Unsplash photo supply, split per client. The hour's supply is the last X-Ratelimit-Limit
 * seen (else 50) times the photos one call brings; a client's share is
 * ceil(supply × sharePercent / 100) photos an hour, kept as a token bucket (burst = share, one
 * back every hour / share). Every photo a client takes spends a token while it has any, but the
 * share is enforced only while the supply is short: the last X-Ratelimit-Remaining seen (within the
 * hour) is below half the limit, or photo fetching is paused for quota. Then a client with no token
 * left is refused at once (its job fails, holding no worker while it waits), so one client cannot
 * spend the hour's supply for everyone. Shares are per process: each worker keeps its own buckets.
 */
export function createPhotoShares(options: PhotoSharesOptions): PhotoShares {
  const now = options.now ?? Date.now;
  let limit = DEFAULT_LIMIT;
  let remaining: { value: number; at: number } | null = null;
  const buckets = new LRUCache<string, TokenBucket>({
    max: options.clientsTracked ?? CLIENTS_TRACKED,
    // Only a share untouched for an hour is forgotten, and by then it is full again: forgetting it changes nothing.
    ttl: HOUR_MS,
    updateAgeOnGet: true,
    // Ages read from `now` on every look, not cached for a millisecond (a test's clock moves in between).
    ttlResolution: 0,
    perf: { now },
  });

  const share = (): number => Math.ceil((limit * options.photosPerCall * options.sharePercent) / 100);
  // A reading older than Unsplash's hour says nothing about the quota now.
  const short = (): boolean =>
    options.pausedForQuota() || (remaining !== null && now() - remaining.at < HOUR_MS && remaining.value < limit / 2);

  const bucketOf = (client: string): TokenBucket => {
    const photos = share();
    let bucket = buckets.get(client);
    if (bucket === undefined) {
      bucket = new TokenBucket(photos, HOUR_MS / photos, now);
      buckets.set(client, bucket);
    } else if (bucket.burst !== photos) {
      // The limit changed since (the first answer told it, or the application was approved): what was taken stays taken.
      bucket.resize(photos, HOUR_MS / photos);
    }
    return bucket;
  };

  return {
    sawQuota(value, newLimit) {
      remaining = { value, at: now() };
      if (newLimit !== null && newLimit > 0) limit = newLimit;
    },

    take(client) {
      if (client === null) return nothingToGiveBack;
      const bucket = bucketOf(client);
      const waitMs = bucket.waitMs();
      if (waitMs === 0) {
        bucket.take();
        let given = false;
        return () => {
          if (given) return;
          given = true;
          bucket.giveBack();
        };
      }
      if (!short()) return nothingToGiveBack;
      options.onRefused?.();
      throw new PermanentImageError(
        'photo_share_spent',
        `A client has taken its share of Unsplash photos (${bucket.burst} an hour) while the supply is short; its next photo is due in ${Math.ceil(waitMs / 1000)} s`,
      );
    },

    short,
    share,
  };
}
