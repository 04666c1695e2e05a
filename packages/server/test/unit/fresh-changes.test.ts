import { describe, expect, it } from 'vitest';
import { FreshChanges } from '../../src/http/events/fresh-changes.js';

const frame = (seq: number, size = 0) => Buffer.from(`id: ${seq}\n${'x'.repeat(size)}\n`);
const frames = (...seqs: number[]) => seqs.map((seq) => frame(seq));
const text = (payloads: ReturnType<FreshChanges['after']>) => payloads.map((payload) => payload.bytes(false).toString());

describe('FreshChanges', () => {
  it('gives a stream every change after its cursor, small reads joined once per starting point', () => {
    const fresh = new FreshChanges();
    fresh.add([3, 5], frames(3, 5));
    fresh.add([8], frames(8));
    expect(text(fresh.after(2))).toEqual(['id: 3\n\nid: 5\n\nid: 8\n\n']);
    expect(text(fresh.after(5))).toEqual(['id: 8\n\n']);
    // A cursor between two reads (the numbers in between carry no change) starts at the next one.
    expect(text(fresh.after(6))).toEqual(['id: 8\n\n']);
    // Every stream at the same point shares the same bytes.
    expect(fresh.after(2)).toBe(fresh.after(1));
    expect(fresh.after(2)[0]!.bytes(true)).toBe(fresh.after(1)[0]!.bytes(true));
    expect(fresh.after(8)).toEqual([]);
  });

  it('hands out large reads as their own payloads, made once for every starting point', () => {
    const fresh = new FreshChanges();
    fresh.add([1], [frame(1, 10_000)]);
    fresh.add([2], [frame(2, 10_000)]);
    fresh.add([3], [frame(3, 10_000)]);
    const fromStart = fresh.after(0);
    const fromOne = fresh.after(1);
    expect(fromStart).toHaveLength(3);
    expect(fromOne).toHaveLength(2);
    expect(fromOne[0]).toBe(fromStart[1]);
    expect(fromOne[1]).toBe(fromStart[2]);
  });

  it('cuts a read for a stream whose cursor falls inside it (caught up from the store part-way)', () => {
    const fresh = new FreshChanges();
    fresh.add([3, 4, 5], frames(3, 4, 5));
    fresh.add([6], frames(6));
    expect(text(fresh.after(4))).toEqual(['id: 5\n\n', 'id: 6\n\n']);
    expect(text(fresh.after(2))).toEqual(['id: 3\n\nid: 4\n\nid: 5\n\nid: 6\n\n']);
  });

  it('forgets what every stream has had; a payload handed out earlier keeps its bytes', () => {
    const fresh = new FreshChanges();
    fresh.add([1, 2], frames(1, 2));
    fresh.add([3], frames(3));
    const before = fresh.after(0);
    fresh.dropThrough(2);
    expect(fresh.size).toBe(1);
    expect(text(fresh.after(0))).toEqual(['id: 3\n\n']);
    fresh.add([4], frames(4));
    expect(text(fresh.after(2))).toEqual(['id: 3\n\nid: 4\n\n']);
    expect(text(before)).toEqual(['id: 1\n\nid: 2\n\nid: 3\n\n']);
    fresh.clear();
    expect(fresh.size).toBe(0);
    expect(fresh.after(0)).toEqual([]);
  });
});
