import { describe, expect, it } from 'vitest';
import { pickDelayMs } from '../../src/jobs/delay.js';

const BRIEF = { minMs: 5_000, maxMs: 300_000, stepMs: 5_000 };

describe('pickDelayMs', () => {
  it('gives 5 s for the lowest random value and 300 s for the highest', () => {
    expect(pickDelayMs(BRIEF, () => 0)).toBe(5_000);
    expect(pickDelayMs(BRIEF, () => 0.999_999_9)).toBe(300_000);
  });

  it('reaches every one of the 60 steps, and nothing between them', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 600; i++) seen.add(pickDelayMs(BRIEF, () => i / 600));
    expect(seen.size).toBe(60);
    for (const delay of seen) expect(delay % 5_000).toBe(0);
  });

  it('is uniform: each step gets about the same share', () => {
    let state = 42;
    const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const counts = new Map<number, number>();
    for (let i = 0; i < 60_000; i++) {
      const delay = pickDelayMs(BRIEF, random);
      counts.set(delay, (counts.get(delay) ?? 0) + 1);
    }
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });

  it('honours overrides, including a fixed delay', () => {
    expect(pickDelayMs({ minMs: 500, maxMs: 500, stepMs: 100 }, Math.random)).toBe(500);
    expect(pickDelayMs({ minMs: 0, maxMs: 1000, stepMs: 300 }, () => 0.99)).toBe(900);
  });
});
