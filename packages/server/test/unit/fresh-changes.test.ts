import { describe, expect, it } from 'vitest';
import { FreshChanges } from '../../src/http/events/fresh-changes.js';

const frame = (seq: number) => Buffer.from(`id: ${seq}\n\n`);
const frames = (...seqs: number[]) => seqs.map(frame);
const text = (payloads: ReturnType<FreshChanges['after']>) => payloads.map((payload) => payload.bytes(false).toString());

describe('FreshChanges', () => {
  it('gives a stream the payload of every read after its cursor, each made once for every stream', () => {
    const fresh = new FreshChanges();
    fresh.add([3, 5], frames(3, 5));
    fresh.add([8], frames(8));
    expect(text(fresh.after(2))).toEqual(['id: 3\n\nid: 5\n\n', 'id: 8\n\n']);
    expect(text(fresh.after(5))).toEqual(['id: 8\n\n']);
    // A cursor between two reads (the numbers in between carry no change) starts at the next one.
    expect(text(fresh.after(6))).toEqual(['id: 8\n\n']);
    expect(fresh.after(6)[0]).toBe(fresh.after(2)[1]);
    expect(fresh.after(2)).toBe(fresh.after(1));
    expect(fresh.after(8)).toEqual([]);
  });

  it('cuts a read for a stream whose cursor falls inside it (caught up from the store part-way)', () => {
    const fresh = new FreshChanges();
    fresh.add([3, 4, 5], frames(3, 4, 5));
    fresh.add([6], frames(6));
    expect(text(fresh.after(4))).toEqual(['id: 5\n\n', 'id: 6\n\n']);
    expect(text(fresh.after(2))).toEqual(['id: 3\n\nid: 4\n\nid: 5\n\n', 'id: 6\n\n']);
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
    expect(text(fresh.after(2))).toEqual(['id: 3\n\n', 'id: 4\n\n']);
    expect(text(before)).toEqual(['id: 1\n\nid: 2\n\n', 'id: 3\n\n']);
    fresh.clear();
    expect(fresh.size).toBe(0);
    expect(fresh.after(0)).toEqual([]);
  });
});
