import type { Metrics } from '../../metrics.js';
import { PermanentImageError, TransientImageError } from '../image-source.js';

/** Label of `simmer_unsplash_calls_total` naming which API operation was called. */
export type UnsplashEndpoint = 'random' | 'download';

export interface UnsplashHttpOptions {
  accessKey: string;
  timeoutMs: number;
  metrics?: Pick<Metrics, 'unsplashCalls' | 'unsplashQuotaRemaining'>;
  /**
   * Told every X-Ratelimit-Remaining seen, on success and failure alike, with the X-Ratelimit-Limit
   * beside it (null when that header is missing or not a whole number).
   */
  onQuotaRemaining(remaining: number, limit: number | null): void;
}

/** One authorised GET against the Unsplash API. */
export type UnsplashGet = (url: string, endpoint: UnsplashEndpoint, signal: AbortSignal) => Promise<unknown>;

/** Codes of the TransientImageErrors that mean "over quota": the caller waits for the quota window. */
export const RATE_LIMITED = 'unsplash_rate_limited';

/**
 * Builds the one function that talks to Unsplash. Each call is bounded by `timeoutMs` and by
 * `signal`, counted in the metrics by outcome, and either resolves with the parsed JSON body
 * or throws: TransientImageError for what a later retry may fix (network, timeout, 5xx, 429,
 * 403 "Rate Limit Exceeded", a body that does not parse), PermanentImageError for what it
 * will not (401, other 4xx, redirects), or the signal's own reason when `signal` aborted.
 * The access key is sent only in the Authorization header and never appears in an error.
 */
export function createUnsplashGet(options: UnsplashHttpOptions): UnsplashGet {
  const { accessKey, timeoutMs, metrics } = options;
  // Defence in depth: upstream text is quoted in error messages, so scrub the key from it.
  const redact = (value: string): string => value.split(accessKey).join('[redacted]');

  return async (url, endpoint, signal) => {
    const count = (outcome: string): void => metrics?.unsplashCalls.inc({ endpoint, outcome });
    const timeout = AbortSignal.timeout(timeoutMs);
    let status: number;
    let headers: Headers;
    let body: string;
    try {
      const response = await fetch(url, {
        headers: { Authorization: `Client-ID ${accessKey}`, 'Accept-Version': 'v1', Accept: 'application/json' },
        signal: AbortSignal.any([signal, timeout]),
        // A redirect could carry the Authorization header to another host: refuse to follow.
        redirect: 'manual',
      });
      status = response.status;
      headers = response.headers;
      body = await response.text();
    } catch (error) {
      if (signal.aborted) {
        count('aborted');
        throw signal.reason;
      }
      if (timeout.aborted) {
        count('timeout');
        throw new TransientImageError('unsplash_timeout', `Unsplash did not answer within ${timeoutMs} ms`, { cause: error });
      }
      count('network_error');
      throw new TransientImageError('unsplash_network_error', `Unsplash could not be reached: ${describeNetworkError(error)}`, {
        cause: error,
      });
    }

    const remaining = parseCount(headers.get('x-ratelimit-remaining'));
    if (remaining !== null) {
      metrics?.unsplashQuotaRemaining.set(remaining);
      options.onQuotaRemaining(remaining, parseCount(headers.get('x-ratelimit-limit')));
    }

    if (status >= 200 && status < 300) {
      try {
        const json: unknown = JSON.parse(body);
        count('ok');
        return json;
      } catch (error) {
        // A 2xx whose body does not parse is a body cut short in transit more often than a broken API.
        count('bad_response');
        throw new TransientImageError('unsplash_bad_response', `Unsplash answered ${status} with a body that is not JSON`, {
          cause: error,
        });
      }
    }

    const detail = redact(describeErrorBody(body));
    if (status === 429 || (status === 403 && /rate limit exceeded/i.test(body))) {
      count('rate_limited');
      throw new TransientImageError(RATE_LIMITED, `Unsplash rate limit exceeded (${status}): ${detail}`);
    }
    if (status >= 500) {
      count('server_error');
      throw new TransientImageError('unsplash_server_error', `Unsplash answered ${status}: ${detail}`);
    }
    count('client_error');
    if (status === 401) {
      throw new PermanentImageError('unsplash_unauthorized', `Unsplash refused the access key (401): ${detail}`);
    }
    if (status === 403) throw new PermanentImageError('unsplash_forbidden', `Unsplash refused the request (403): ${detail}`);
    if (status === 404) throw new PermanentImageError('unsplash_not_found', `Unsplash found nothing there (404): ${detail}`);
    if (status >= 300 && status < 400) {
      throw new PermanentImageError('unsplash_bad_response', `Unsplash answered with a redirect (${status}), which Simmer does not follow`);
    }
    throw new PermanentImageError('unsplash_rejected', `Unsplash rejected the request (${status}): ${detail}`);
  };
}

/** A rate-limit header's whole number, or null. */
function parseCount(value: string | null): number | null {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return null;
  return Number(value);
}

/** Unsplash's `{"errors": [...]}`, or the start of a plain-text or HTML body; never throws. */
function describeErrorBody(body: string): string {
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json === 'object' && json !== null && 'errors' in json && Array.isArray(json.errors)) {
      const messages = json.errors.filter((e): e is string => typeof e === 'string');
      if (messages.length > 0) return messages.join('; ').slice(0, 300);
    }
  } catch {
    // Not JSON: quoted as text below.
  }
  const flat = body.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(empty body)';
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${cause.message})` : cause.message;
  }
  return String(cause);
}
