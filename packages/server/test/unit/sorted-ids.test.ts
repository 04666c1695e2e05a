import { seededRandom } from '@simmer/testkit/seeded-random';
import { describe, expect, it } from 'vitest';
import { SortedIds } from '../../src/store/file/sorted-ids.js';

describe('SortedIds', () => {
  it('agrees with a plain sorted array through 20,000 random adds and deletes, across many chunks', () => {
    const next = seededRandom(42);
    const ids = new SortedIds();
    const model = new Set<string>();
    const id = () =>
      Math.floor(next() * 6_000)
        .toString(36)
        .padStart(4, '0');
    for (let step = 0; step < 20_000; step++) {
      const value = id();
      if (next() < 0.65) {
        ids.add(value);
        model.add(value);
      } else {
        expect(ids.delete(value)).toBe(model.delete(value));
      }
    }
    const sorted = [...model].sort();
    expect(ids.size).toBe(sorted.length);
    expect(ids.descending(undefined, Infinity)).toEqual([...sorted].reverse());
    for (const before of [sorted[0]!, sorted[1_000]!, sorted.at(-1)!, '0000', 'zzzz', `${sorted[500]!}0`]) {
      expect(ids.descending(before, Infinity)).toEqual(sorted.filter((v) => v < before).reverse());
    }
  });

  it('keeps appends in order and walks an empty set', () => {
    const ids = new SortedIds();
    expect(ids.descending(undefined, Infinity)).toEqual([]);
    expect(ids.descending('x', 10)).toEqual([]);
    for (let i = 0; i < 5_000; i++) ids.add(i.toString().padStart(5, '0'));
    expect(ids.descending('00003', 10)).toEqual(['00002', '00001', '00000']);
    expect(ids.descending('01030', 3)).toEqual(['01029', '01028', '01027']);
    expect(ids.descending(undefined, 2)).toEqual(['04999', '04998']);
    expect(ids.delete('nope')).toBe(false);
    ids.add('00003');
    expect(ids.size).toBe(5_000);
  });
});
