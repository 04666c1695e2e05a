import { describe, expect, it } from 'vitest';
import { FreshChanges } from '../../src/http/events/fresh-changes.js';

const frame = (seq: number) => Buffer.from(`id: ${seq}\n\n`);
const text = (payload: ReturnType<FreshChanges['after']>) => payload?.bytes(false).toString() ?? null;

describe('FreshChanges', () => {
  it('gives a stream every frame after its cursor, one payload per starting point', () => {
    const fresh = new FreshChanges();
    fresh.add([3, 5], [frame(3), frame(5)]);
    fresh.add([8], [frame(8)]);
    expect(text(fresh.after(2))).toBe('id: 3\n\nid: 5\n\nid: 8\n\n');
    // A cursor between two sequence numbers (the numbers in between carry no change) starts at the next one.
    expect(text(fresh.after(4))).toBe('id: 5\n\nid: 8\n\n');
    expect(fresh.after(4)).toBe(fresh.after(3));
    expect(fresh.after(8)).toBeNull();
  });

  it('forgets what every stream has had, and joins new payloads once more is added', () => {
    const fresh = new FreshChanges();
    fresh.add([1, 2, 3], [frame(1), frame(2), frame(3)]);
    const before = fresh.after(1);
    fresh.dropThrough(2);
    expect(fresh.size).toBe(1);
    expect(text(fresh.after(0))).toBe('id: 3\n\n');
    fresh.add([4], [frame(4)]);
    expect(text(fresh.after(2))).toBe('id: 3\n\nid: 4\n\n');
    // A payload handed out earlier keeps its bytes.
    expect(text(before)).toBe('id: 2\n\nid: 3\n\n');
    fresh.clear();
    expect(fresh.size).toBe(0);
    expect(fresh.after(0)).toBeNull();
  });
});
