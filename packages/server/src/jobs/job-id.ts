import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/**
 * Job ids: UUIDv7, so ids sort by creation time and "newest first" is "highest id first".
 *
 * uuid's own v7() draws 16 random bytes through WebCrypto on every call, about 12 µs here, 5 % of
 * a POST /jobs. This keeps uuid's layout and its monotonic rule (a 31-bit counter that starts at a
 * random value each millisecond and counts up within it; on overflow the millisecond moves on),
 * and draws randomness from a pool refilled 4 KB at a time.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
let lastMsecs = -Infinity;
let seq = 0;

function randomBytes16(): Uint8Array {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return bytes;
}

export function newJobId(now = Date.now()): string {
  const random = randomBytes16();
  if (now > lastMsecs) {
    lastMsecs = now;
    // The top bit stays clear, so a millisecond has room for 2^31 more ids.
    seq = (((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!) >>> 0;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMsecs += 1;
  }
  return uuidv7({ msecs: lastMsecs, seq, random });
}
