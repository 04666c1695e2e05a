import { describe, expect, it } from 'vitest';
import { PermanentImageError } from '../../src/images/image-source.js';
import { createPhotoShares, type PhotoSharesOptions } from '../../src/images/unsplash/photo-shares.js';
import { ManualClock } from '../manual-clock.js';

const HOUR_MS = 3600_000;

/** Shares on a manual clock: 10 % of 50 calls × 30 photos = 150 photos an hour per client, one back every 24 s. */
function makeShares(overrides: Partial<PhotoSharesOptions> = {}) {
  const clock = new ManualClock();
  let paused = false;
  let refusals = 0;
  const shares = createPhotoShares({
    sharePercent: 10,
    photosPerCall: 30,
    pausedForQuota: () => paused,
    onRefused: () => refusals++,
    now: () => clock.now(),
    ...overrides,
  });
  return { shares, clock, pause: (on: boolean) => (paused = on), refusals: () => refusals };
}

/** Takes `count` photos for `client`; returns how many were given before the first refusal (rethrowing anything else). */
function takeMany(shares: ReturnType<typeof makeShares>['shares'], client: string | null, count: number): number {
  for (let i = 0; i < count; i++) {
    try {
      shares.take(client);
    } catch (error) {
      if (error instanceof PermanentImageError && error.code === 'photo_share_spent') return i;
      throw error;
    }
  }
  return count;
}

describe('photo shares', () => {
  it('sizes a share from the last X-Ratelimit-Limit seen (50 calls until then), times 30 photos a call', () => {
    expect(makeShares().shares.share()).toBe(150);
    const { shares } = makeShares({ sharePercent: 7 });
    expect(shares.share()).toBe(105);
    shares.sawQuota(4_900, 5_000);
    expect(shares.share()).toBe(10_500);
    expect(makeShares({ sharePercent: 1 }).shares.share()).toBe(15);
  });

  it('keeps what a client took when the limit changes: taken under the assumed 50 calls, counted against the real limit', () => {
    const { shares } = makeShares();
    expect(takeMany(shares, 'a', 20)).toBe(20);
    shares.sawQuota(4, 10); // 30 photos an hour now, and short
    expect(takeMany(shares, 'a', 100)).toBe(10);
    shares.sawQuota(4, 20); // 60 an hour
    expect(takeMany(shares, 'a', 100)).toBe(30);
  });

  it('refuses no one while the supply is plenty, even a client far past its share', () => {
    const { shares, refusals } = makeShares();
    shares.sawQuota(25, 50);
    expect(shares.short()).toBe(false);
    expect(takeMany(shares, 'greedy', 1_000)).toBe(1_000);
    expect(refusals()).toBe(0);
  });

  it('while short, refuses a client at its share, serves the others, and gives it a photo back every hour / share', () => {
    const { shares, clock, refusals } = makeShares();
    shares.sawQuota(24, 50);
    expect(shares.short()).toBe(true);
    expect(takeMany(shares, 'greedy', 1_000)).toBe(150);
    expect(refusals()).toBe(1);
    expect(takeMany(shares, 'other', 10)).toBe(10);
    // Jobs created before clients were kept are never refused.
    expect(takeMany(shares, null, 1_000)).toBe(1_000);

    clock.advance(HOUR_MS / 150 - 1);
    expect(takeMany(shares, 'greedy', 5)).toBe(0);
    clock.advance(1);
    expect(takeMany(shares, 'greedy', 5)).toBe(1);
    clock.advance(10 * (HOUR_MS / 150));
    expect(takeMany(shares, 'greedy', 50)).toBe(10);
  });

  it('counts photos taken while plenty against the share once the supply turns short', () => {
    const { shares } = makeShares();
    shares.sawQuota(40, 50);
    expect(takeMany(shares, 'greedy', 140)).toBe(140);
    shares.sawQuota(10, 50);
    expect(takeMany(shares, 'greedy', 100)).toBe(10);
    expect(takeMany(shares, 'other', 100)).toBe(100);
  });

  it('is short while photo fetching is paused for quota, and not on a reading older than the hour', () => {
    const { shares, clock, pause } = makeShares();
    expect(shares.short()).toBe(false);
    pause(true);
    expect(shares.short()).toBe(true);
    pause(false);
    shares.sawQuota(3, 50);
    expect(shares.short()).toBe(true);
    clock.advance(HOUR_MS);
    expect(shares.short()).toBe(false);
  });

  it('gives back a token once for a photo that was not handed out', () => {
    const { shares } = makeShares({ sharePercent: 2 }); // 30 photos an hour
    shares.sawQuota(0, 50);
    const giveBacks = Array.from({ length: 30 }, () => shares.take('a'));
    expect(takeMany(shares, 'a', 1)).toBe(0);
    giveBacks[0]!();
    giveBacks[0]!();
    expect(takeMany(shares, 'a', 5)).toBe(1);
  });

  it('forgets only a share untouched for an hour, so one in use keeps its tokens spent', () => {
    const { shares, clock } = makeShares({ sharePercent: 2 }); // 30 an hour: one back every 2 minutes
    shares.sawQuota(0, 50);
    expect(takeMany(shares, 'a', 100)).toBe(30);
    // Taking each token as it comes back, for longer than the hour the share is remembered untouched.
    for (let minute = 2; minute <= 90; minute += 2) {
      clock.advance(2 * 60_000);
      shares.sawQuota(0, 50);
      expect(takeMany(shares, 'a', 5), `minute ${minute}`).toBe(1);
    }
  });
});
