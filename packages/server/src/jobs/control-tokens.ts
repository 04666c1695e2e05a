import { createHash, timingSafeEqual } from 'node:crypto';
import { hmacUnderSecret } from './store-secret.js';

/**
 * A job's control token: HMAC-SHA-256 of its id under the store's secret (JobStore.tokenKey),
 * base64url, 43 characters. Nothing per job is stored, so there is nothing to leak from the data,
 * an idempotent replay of the create gives the same token again, and every process sharing the
 * store derives the same one. Whoever holds it may act on that job and no other.
 */
export function controlTokenOf(key: Buffer, jobId: string): string {
  return hmacUnderSecret(key, `simmer control token v1\n${jobId}`);
}

/** Whether `given` is `expected`, in time that does not depend on where they differ (nor on their lengths). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
