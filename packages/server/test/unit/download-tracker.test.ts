import type { Photo } from '@simmer/contracts';
import { describe, expect, it } from 'vitest';
import { ClientShareSpentError } from '../../src/images/image-source.js';
import { createDownloadTracker } from '../../src/images/unsplash/download-tracker.js';
import { ManualClock } from '../manual-clock.js';
import { fakePhoto } from '../http/fake-image-source.js';

describe('download tracker', () => {
  it("keeps a client's share spent while it is in use, however long: only a share untouched for its refill time is forgotten", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const track = createDownloadTracker({
      track: async (photo: Photo) => `${photo.urls.full}&dl=${++calls}`,
      now: () => clock.now(),
      burst: 1_000,
      refillMs: 1,
      clientBurst: 3,
      clientRefillMs: 120_000,
    });
    let next = 0;
    /** How many new photos `client` may have tracked now, of `count` asked. */
    const press = (client: string, count: number): number => {
      for (let i = 0; i < count; i++) {
        try {
          void track(fakePhoto(++next), client, AbortSignal.timeout(1_000));
        } catch (error) {
          if (error instanceof ClientShareSpentError) return i;
          throw error;
        }
      }
      return count;
    };

    expect(press('a', 10)).toBe(3);
    expect(press('b', 10)).toBe(3);
    // One back every two minutes, taken at once, for well past the 6 minutes a share is remembered untouched.
    for (let minute = 2; minute <= 20; minute += 2) {
      clock.advance(120_000);
      expect(press('a', 10), `minute ${minute}`).toBe(1);
    }
    // Untouched for its refill time, b's share is full again.
    expect(press('b', 10)).toBe(3);
  });
});
