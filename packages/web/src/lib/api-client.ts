import type { Problem } from '@simmer/contracts';

/** The server answered with an error status; `problem` holds its RFC 9457 body when there was one. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    /** From `Retry-After` (429, 503): how long the server asks us to wait; null when it did not say. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
  }
}

/** The request never got an answer: offline, connection reset, DNS, aborted. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

export interface ApiResponse<T> {
  data: T;
  response: Response;
}

/**
 * fetch + JSON + problem details. GETs revalidate with the browser's HTTP cache (`no-cache`), so the
 * server's ETag turns an unchanged list into a 304 without the page keeping ETags itself.
 */
export async function apiRequest<T>(path: string, init: RequestInit = {}): Promise<ApiResponse<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      cache: (init.method ?? 'GET') === 'GET' ? 'no-cache' : 'no-store',
      ...init,
      headers: { Accept: 'application/json', ...init.headers },
    });
  } catch (cause) {
    if (init.signal?.aborted) throw cause;
    throw new NetworkError(cause instanceof Error ? cause.message : 'network error', { cause });
  }
  if (!response.ok) throw new ApiError(response.status, await readProblem(response), parseRetryAfter(response.headers.get('retry-after')));
  const text = await response.text().catch((cause: unknown) => {
    throw new NetworkError('the answer was cut off', { cause });
  });
  return { data: (text ? JSON.parse(text) : null) as T, response };
}

/** The `Authorization` header that presents a token (a job's control token, or the operator's). */
export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from now; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The server is busy or limiting us (429, 503) and said when to come back. */
export function isBusy(error: unknown): error is ApiError & { retryAfterMs: number } {
  return error instanceof ApiError && (error.status === 429 || error.status === 503) && error.retryAfterMs !== null;
}

async function readProblem(response: Response): Promise<Problem | null> {
  try {
    const body: unknown = await response.json();
    if (body && typeof body === 'object' && 'status' in body) return body as Problem;
  } catch {
    // Not JSON (a proxy's HTML page, an empty 502): the status alone says enough.
  }
  return null;
}

/** Worth sending again later: no answer, or an answer that says "not now". */
export function isTransient(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof ApiError) return error.status >= 500 || error.status === 408 || error.status === 429;
  return false;
}
