import type { Photo } from '@simmer/contracts';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import { backoffDelay, type BackoffOptions } from '@simmer/contracts/backoff';
import { abortableDelay } from '../../backoff.js';
import { type ImageSource, PermanentImageError, TransientImageError } from '../image-source.js';
import { createUnsplashDownloadTracking } from './download.js';
import { createUnsplashGet, RATE_LIMITED, type UnsplashEndpoint } from './http.js';
import { mapUnsplashPhoto } from './photo.js';
import { createPhotoShares } from './photo-shares.js';

export interface UnsplashSourceOptions {
  /** Sent only in the Authorization header; never logged, never in an error. */
  accessKey: string;
  /** The API root, e.g. https://api.unsplash.com (the stand-in server's URL in tests). */
  apiUrl: string;
  /** Bound of one upstream call, connection to last byte. */
  timeoutMs: number;
  logger: Logger;
  metrics?: Pick<Metrics, 'unsplashCalls' | 'unsplashQuotaRemaining'> & Partial<Pick<Metrics, 'downloadsFromCache' | 'photoShareRefusals'>>;
  /** Source of the backoff jitter; Math.random unless a test controls it. */
  random?: () => number;
  /** Backoff after a transient failure (UNSPLASH_RETRY_BASE_MS, UNSPLASH_RETRY_MAX_MS). */
  retry: BackoffOptions;
  /** How long to stop calling after a rate-limit answer or X-Ratelimit-Remaining: 0 (UNSPLASH_QUOTA_WAIT_MS). */
  quotaWaitMs: number;
  /** One client's share of the hour's photos while the supply is short, in percent (UNSPLASH_CLIENT_SHARE_PERCENT; see photo-shares.ts). */
  clientSharePercent: number;
}

/** Photos per API call: the most Unsplash allows, so 1,000 jobs cost about 34 calls. */
const BATCH_SIZE = 30;
/** Refill ahead when a take leaves fewer photos than this, so a steady stream of jobs rarely waits. */
const REFILL_BELOW = 3;
/** Photos handed out recently; a later batch that repeats one of them skips it. */
const RECENT_IDS = 500;

interface Batch {
  done: Promise<void>;
  readonly controller: AbortController;
  waiters: number;
  settled: boolean;
}

/**
 * The Unsplash image source. Guarantees:
 * - photos are fetched 30 at a time into a pool; concurrent callers that find the pool empty share
 *   one in-flight fetch, and an idle source makes no calls at all;
 * - transient trouble (network, timeouts, 5xx, 429, 403 "Rate Limit Exceeded", a body cut short) is
 *   retried with exponential backoff and full jitter for as long as some caller still waits; over
 *   quota (or at X-Ratelimit-Remaining 0) no call is made for `quotaWaitMs`;
 * - a caller whose signal aborts is rejected at once with the last TransientImageError seen;
 *   401, other 4xx and malformed answers reject with PermanentImageError;
 * - while the hour's supply is short, each client (the job's creator) takes at most its share of
 *   it and is then refused with PermanentImageError('photo_share_spent'), others still served (see
 *   photo-shares.ts); jobs of no known client are never refused;
 * - download tracking (see download-tracker.ts) makes at most one call per photo per client per
 *   hour, out of a small budget of its own, never retries, leaves the last few calls of the quota
 *   to photo fetching, and when Unsplash says the quota is spent pauses only itself: it can never
 *   hold up photos for jobs;
 * - the access key goes only into the Authorization header of requests to `apiUrl`'s origin.
 */
export function createUnsplashSource(options: UnsplashSourceOptions): ImageSource {
  const log = options.logger.child({ component: 'unsplash' });
  const random = options.random ?? Math.random;
  const backoff = options.retry;
  const quotaWaitMs = options.quotaWaitMs;
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const apiOrigin = new URL(apiUrl).origin;
  const randomUrl = `${apiUrl}/photos/random?query=food&count=${BATCH_SIZE}`;

  let pool: Photo[] = [];
  const recentIds = new Set<string>();
  let batch: Batch | null = null;
  let quotaPausedUntil = 0;
  let lastFailure: TransientImageError | null = null;
  /** The latest X-Ratelimit-Remaining and when it was seen. */
  let quota: { remaining: number; at: number } | null = null;
  let closed = false;
  const closing = new AbortController();

  const pauseForQuota = (reason: string): void => {
    // One pause per exhaustion: the 403 and its X-Ratelimit-Remaining: 0 header report the same thing.
    if (Date.now() < quotaPausedUntil) return;
    quotaPausedUntil = Date.now() + quotaWaitMs;
    log.warn({ waitMs: quotaWaitMs, reason }, 'Unsplash quota exhausted: pausing calls');
  };

  const shares = createPhotoShares({
    sharePercent: options.clientSharePercent,
    photosPerCall: BATCH_SIZE,
    pausedForQuota: () => Date.now() < quotaPausedUntil,
    ...(options.metrics?.photoShareRefusals ? { onRefused: () => options.metrics?.photoShareRefusals?.inc() } : {}),
  });

  const get = createUnsplashGet({
    accessKey: options.accessKey,
    timeoutMs: options.timeoutMs,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    onQuotaRemaining: (remaining, limit) => {
      quota = { remaining, at: Date.now() };
      shares.sawQuota(remaining, limit);
      if (remaining === 0) pauseForQuota('X-Ratelimit-Remaining is 0');
    },
  });
  const trackingGet = createUnsplashGet({
    accessKey: options.accessKey,
    timeoutMs: options.timeoutMs,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    onQuotaRemaining: (remaining, limit) => {
      quota = { remaining, at: Date.now() };
      shares.sawQuota(remaining, limit);
    },
  });

  const trackDownload = createUnsplashDownloadTracking({
    get: trackingGet,
    apiOrigin,
    quotaWaitMs,
    closing: closing.signal,
    photoPauseLeftMs: () => quotaPausedUntil - Date.now(),
    quota: () => quota,
    ...(options.metrics?.downloadsFromCache ? { onCacheHit: () => options.metrics?.downloadsFromCache?.inc() } : {}),
  });

  /**
   * Calls `attempt` until it succeeds, throws something other than a TransientImageError, or
   * `keepGoing` says no one needs the answer any more. Waits out a quota pause before each call.
   */
  async function withRetry<T>(
    endpoint: UnsplashEndpoint,
    signal: AbortSignal,
    attempt: () => Promise<T>,
    onFailure: (error: TransientImageError) => void,
    keepGoing: () => boolean,
  ): Promise<T> {
    for (let failures = 0; ;) {
      const pause = quotaPausedUntil - Date.now();
      if (pause > 0) await abortableDelay(pause, signal);
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof TransientImageError)) throw error;
        onFailure(error);
        if (!keepGoing()) throw error;
        if (error.code === RATE_LIMITED) {
          pauseForQuota(error.message);
          continue;
        }
        const delayMs = backoffDelay(failures, backoff, random);
        failures += 1;
        log.warn({ endpoint, code: error.code, failures, retryInMs: delayMs }, `Unsplash call failed: ${error.message}`);
        await abortableDelay(delayMs, signal);
      }
    }
  }

  async function fetchBatch(signal: AbortSignal): Promise<void> {
    const body = await get(randomUrl, 'random', signal);
    if (!Array.isArray(body)) {
      throw new PermanentImageError('unsplash_bad_response', 'Unsplash answered /photos/random?count=… with something other than an array');
    }
    const photos = body.map(mapUnsplashPhoto).filter((p): p is Photo => p !== null);
    if (photos.length === 0) {
      throw new PermanentImageError(
        'unsplash_bad_response',
        `Unsplash answered /photos/random with ${body.length} photos and none usable (missing ids, sizes, urls or author)`,
      );
    }
    if (photos.length < body.length) log.warn({ skipped: body.length - photos.length }, 'Skipped malformed photos in an Unsplash batch');
    const queued = new Set(pool.map((p) => p.id));
    const fresh = photos.filter((p) => !recentIds.has(p.id) && !queued.has(p.id));
    // A batch of nothing but repeats still beats failing a job.
    pool.push(...(fresh.length > 0 ? fresh : photos));
    lastFailure = null;
    log.debug({ photos: photos.length, pool: pool.length }, 'Fetched a batch of Unsplash photos');
  }

  function startBatch(): Batch {
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, closing.signal]);
    const current: Batch = { controller, waiters: 0, settled: false, done: Promise.resolve() };
    const run = async (): Promise<void> => {
      try {
        await withRetry(
          'random',
          signal,
          () => fetchBatch(signal),
          (error) => (lastFailure = error),
          // A refill ahead that failed with no one waiting is not retried: the next take starts over.
          () => current.waiters > 0,
        );
      } finally {
        current.settled = true;
        if (batch === current) batch = null;
      }
    };
    batch = current;
    current.done = run();
    // Callers observe failures through `done`; a refill ahead has no caller, and must not crash the process.
    current.done.catch((error: unknown) => {
      if (error instanceof PermanentImageError) log.error({ code: error.code }, error.message);
    });
    return current;
  }

  function refillAhead(): void {
    if (closed || batch !== null || pool.length >= REFILL_BELOW || Date.now() < quotaPausedUntil) return;
    startBatch();
  }

  function remember(id: string): void {
    recentIds.add(id);
    if (recentIds.size > RECENT_IDS) {
      const oldest = recentIds.values().next();
      if (!oldest.done) recentIds.delete(oldest.value);
    }
  }

  const gaveUp = (signal: AbortSignal, last: TransientImageError | null): TransientImageError =>
    last ??
    new TransientImageError('unsplash_no_answer', 'Unsplash gave no answer before the wait was cut short', {
      cause: signal.reason,
    });

  /** The next photo of the pool, fetching a batch (shared with other callers) when it is empty. */
  async function nextPhoto(signal: AbortSignal): Promise<Photo> {
    for (;;) {
      if (closed) throw new TransientImageError('source_closed', 'The Unsplash image source is closed');
      if (signal.aborted) throw gaveUp(signal, lastFailure);
      const photo = pool.shift();
      if (photo !== undefined) {
        remember(photo.id);
        refillAhead();
        return photo;
      }
      const shared = batch ?? startBatch();
      shared.waiters += 1;
      try {
        await untilAborted(shared.done, signal);
      } catch (error) {
        if (signal.aborted) throw gaveUp(signal, lastFailure);
        if (error instanceof PermanentImageError) throw error;
        // Otherwise a refill ahead gave up just before this caller joined it: start over.
      } finally {
        shared.waiters -= 1;
        if (shared.waiters === 0 && !shared.settled) shared.controller.abort(new Error('No caller waits for this batch any more'));
      }
    }
  }

  return {
    name: 'unsplash',

    async takePhoto(signal, client) {
      if (closed) throw new TransientImageError('source_closed', 'The Unsplash image source is closed');
      // Spent up front, so that many jobs of one client waiting on one batch cannot all pass.
      const giveBack = shares.take(client);
      try {
        return await nextPhoto(signal);
      } catch (error) {
        giveBack();
        throw error;
      }
    },

    async trackDownload(photo, client, signal) {
      if (closed) throw new TransientImageError('source_closed', 'The Unsplash image source is closed');
      return trackDownload(photo, client, signal);
    },

    async close() {
      closed = true;
      pool = [];
      closing.abort(new Error('The Unsplash image source is closing'));
      await batch?.done.catch(() => undefined);
    },
  };
}

/** Settles like `promise`, or rejects with the signal's reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal.reason });
}
