import { describe, expect, it } from 'vitest';
import { backoffDelay, jitteredInterval } from '../../src/backoff.js';

const policy = { baseMs: 1_000, maxMs: 30_000 };

describe('backoffDelay', () => {
  it('draws from [0, base · 2^attempt]', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(0);
    expect(backoffDelay(0, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(4_000);
  });

  it('never exceeds the cap, however many attempts', () => {
    expect(backoffDelay(8, policy, () => 0.999999)).toBeLessThan(30_000);
    expect(backoffDelay(1_000, policy, () => 0.999999)).toBeLessThan(30_000);
  });

  it('spreads clients over the window instead of synchronising them', () => {
    const delays = Array.from({ length: 1_000 }, () => backoffDelay(5, policy));
    const buckets = new Set(delays.map((d) => Math.floor(d / 3_000)));
    expect(buckets.size).toBeGreaterThanOrEqual(9);
  });
});

describe('jitteredInterval', () => {
  it('stays within ±spread of the interval', () => {
    expect(jitteredInterval(3_000, 0.2, () => 0)).toBe(2_400);
    expect(jitteredInterval(3_000, 0.2, () => 1)).toBe(3_600);
  });
});
