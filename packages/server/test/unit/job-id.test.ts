import { JOB_ID_PATTERN } from '@simmer/contracts';
import { describe, expect, it } from 'vitest';
import { newJobId } from '../../src/jobs/job-id.js';

const msecsOf = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('newJobId', () => {
  it('makes valid UUIDv7s that sort in creation order, also many within one millisecond', () => {
    const now = Date.now();
    const ids = Array.from({ length: 100_000 }, (_, i) => newJobId(now + Math.floor(i / 10_000)));
    const pattern = new RegExp(JOB_ID_PATTERN);
    expect(ids.every((id) => pattern.test(id))).toBe(true);
    expect(ids.every((id, i) => i === 0 || ids[i - 1]! < id)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => id[14] === '7' && '89ab'.includes(id[19]!))).toBe(true);
    expect(msecsOf(ids[0]!)).toBe(now);
    expect(msecsOf(ids.at(-1)!)).toBe(now + 9);
  });

  it('keeps counting up when the clock steps back', () => {
    const later = Date.now() + 60_000;
    const first = newJobId(later);
    const second = newJobId(later - 5_000);
    expect(second > first).toBe(true);
    expect(msecsOf(second)).toBe(later);
  });

  it('draws fresh randomness for every millisecond', () => {
    const base = Date.now() + 120_000;
    const tails = new Set(Array.from({ length: 1_000 }, (_, i) => newJobId(base + i).slice(-12)));
    expect(tails.size).toBe(1_000);
  });
});
