import { LRUCache } from 'lru-cache';
import { hmacUnderSecret } from './store-secret.js';

/** Characters of a client key: 96 bits of the HMAC, enough that two clients never share one by chance. */
const CLIENT_KEY_LENGTH = 16;
/** Keys remembered per secret (~100 bytes each): a client that creates again is not hashed again. */
const CLIENTS_REMEMBERED = 10_000;

const known = new WeakMap<Buffer, LRUCache<string, string>>();

/**
 * A client's key: HMAC-SHA-256 of its address (as limits/rate-limits.ts's `clientOf` gives it,
 * IPv6 by /64) under the store's secret (JobStore.tokenKey), base64url, 16 characters. A job keeps
 * it so that per-client budgets (the Unsplash photo supply) follow the job to whichever worker
 * runs it. Pseudonymous: the address is never stored, and without the secret the key cannot be
 * tied back to one; every process sharing the store derives the same key for one client. Its own
 * prefix keeps it apart from every other use of the secret (control tokens).
 */
export function clientKeyOf(secret: Buffer, client: string): string {
  let keys = known.get(secret);
  if (keys === undefined) {
    keys = new LRUCache({ max: CLIENTS_REMEMBERED });
    known.set(secret, keys);
  }
  let key = keys.get(client);
  if (key === undefined) {
    key = hmacUnderSecret(secret, `simmer client key v1\n${client}`).slice(0, CLIENT_KEY_LENGTH);
    keys.set(client, key);
  }
  return key;
}
