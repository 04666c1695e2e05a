import { describe, expect, it } from 'vitest';
import { CorruptDataError, decodeRecordAt, encodeRecord, scanRecords } from '../../src/store/file/record-codec.js';

const records = [
  { t: 'a', n: 1 },
  { t: 'b', text: 'ünïcödé ✓' },
  { t: 'c', nested: { list: [1, 2, 3] } },
];
const file = Buffer.concat(records.map((record) => encodeRecord(record)));

describe('journal record framing', () => {
  it('round-trips records, including multi-byte text', () => {
    expect(scanRecords(file, 'f', { headerBytes: 0, tolerateTornTail: true })).toEqual({ records, validLength: file.length, tornBytes: 0 });
  });

  it('reports a frame cut short as truncated', () => {
    expect(decodeRecordAt(file.subarray(0, 5), 0)).toEqual({ kind: 'truncated' });
    expect(decodeRecordAt(file.subarray(0, 12), 0)).toEqual({ kind: 'truncated' });
  });

  it('detects a flipped bit by its checksum', () => {
    const damaged = Buffer.from(file);
    damaged[10] = damaged[10]! ^ 0x01;
    expect(decodeRecordAt(damaged, 0)).toMatchObject({ kind: 'damaged', reason: 'checksum mismatch' });
  });

  it('cuts off damage at the end (a torn write) but refuses damage with valid records after it', () => {
    const tornAtEnd = Buffer.concat([file, encodeRecord({ t: 'd' }).subarray(0, 9)]);
    expect(scanRecords(tornAtEnd, 'f', { headerBytes: 0, tolerateTornTail: true })).toMatchObject({
      validLength: file.length,
      tornBytes: 9,
    });

    const damagedMiddle = Buffer.from(file);
    const secondFrame = encodeRecord(records[0]).length;
    damagedMiddle[secondFrame + 9] = damagedMiddle[secondFrame + 9]! ^ 0xff;
    expect(() => scanRecords(damagedMiddle, 'journal-1', { headerBytes: 0, tolerateTornTail: true })).toThrow(CorruptDataError);
  });

  it('refuses any damage when a torn tail is impossible (a closed journal or a snapshot)', () => {
    expect(() => scanRecords(file.subarray(0, file.length - 1), 'snapshot', { headerBytes: 0, tolerateTornTail: false })).toThrow(
      CorruptDataError,
    );
  });
});
