import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** The store's secret as a KeyObject, made once per secret: importing the raw key on every call cost more than the hash. */
const imported = new WeakMap<Buffer, KeyObject>();

/** HMAC-SHA-256 of `text` under the store's secret (JobStore.tokenKey), base64url. */
export function hmacUnderSecret(secret: Buffer, text: string): string {
  let key = imported.get(secret);
  if (key === undefined) {
    key = createSecretKey(secret);
    imported.set(secret, key);
  }
  return createHmac('sha256', key).update(text).digest('base64url');
}
