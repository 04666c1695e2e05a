import type { ImageSourceName, Photo } from '@simmer/contracts';

/**
 * Where a job's photo comes from. Implementations retry transient upstream trouble themselves
 * (network errors, timeouts, 5xx, 429, Unsplash's 403 "Rate Limit Exceeded") with backoff and
 * jitter until `signal` aborts, and throw `PermanentImageError` for what retrying cannot fix.
 */
export interface ImageSource {
  readonly name: ImageSourceName;

  /**
   * A photo for one job; consecutive calls give different photos. Rejects when `signal` aborts.
   * `client` is the key of the client that created the job (StoredJob.client; null for jobs from
   * before it was kept): a source whose supply is short may hold each client to its share of it,
   * and refuse one that has spent it with PermanentImageError('photo_share_spent').
   */
  takePhoto(signal: AbortSignal, client: string | null): Promise<Photo>;

  /**
   * Records a user's download as the source's guidelines ask, and returns the file's address.
   * `client` identifies who downloads (the client address): a repeat by the same client may be
   * answered without a new tracking call. Throws ImageSourceBusyError when tracking is out of budget,
   * ClientShareSpentError when this client has spent its share of it.
   */
  trackDownload(photo: Photo, client: string, signal: AbortSignal): Promise<string>;

  /** Stops background work (timers, in-flight requests). */
  close(): Promise<void>;
}

/** An upstream answer that retrying will not change (bad key, malformed response). */
export class PermanentImageError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PermanentImageError';
  }
}

/** The last transient failure, reported when a job's retry time runs out. */
export class TransientImageError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientImageError';
  }
}

/** The source will not do this now (its own budget is spent); the same call may succeed after `retryAfterMs`. */
export class ImageSourceBusyError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'ImageSourceBusyError';
  }
}

/** This client has spent its share of a budget the source splits between clients; others may still be served. Retry after `retryAfterMs`. */
export class ClientShareSpentError extends ImageSourceBusyError {
  constructor(message: string, retryAfterMs: number) {
    super(message, retryAfterMs);
    this.name = 'ClientShareSpentError';
  }
}
