import { createHmac } from 'node:crypto';

/** Characters of a client key: 96 bits of the HMAC, enough that two clients never share one by chance. */
const CLIENT_KEY_LENGTH = 16;

/**
 * A client's key: HMAC-SHA-256 of its address (as limits/rate-limits.ts's `clientOf` gives it,
 * IPv6 by /64) under the store's secret (JobStore.tokenKey), base64url, 16 characters. A job keeps
 * it so that per-client budgets (the Unsplash photo supply) follow the job to whichever worker
 * runs it. Pseudonymous: the address is never stored, and without the secret the key cannot be
 * tied back to one; every process sharing the store derives the same key for one client. Its own
 * prefix keeps it apart from every other use of the secret (control tokens).
 */
export function clientKeyOf(key: Buffer, client: string): string {
  return createHmac('sha256', key).update(`simmer client key v1\n${client}`).digest('base64url').slice(0, CLIENT_KEY_LENGTH);
}
