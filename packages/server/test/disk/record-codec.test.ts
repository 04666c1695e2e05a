import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@simmer/testkit/temp-dir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptDataError, decodeRecordAt, encodeRecord } from '../../src/store/file/record-codec.js';
import { readRecordFile } from '../../src/store/file/record-reader.js';

const records = [
  { t: 'a', n: 1 },
  { t: 'b', text: 'ünïcödé ✓' },
  { t: 'c', nested: { list: [1, 2, 3] } },
];
const file = Buffer.concat(records.map((record) => encodeRecord(record)));
const HEADER = Buffer.from('HEAD');

let dir: string;
let n = 0;

/** Writes `body` after a 4-byte header and streams it back with chunks of `chunkBytes`. */
async function read(body: Buffer, options: { tolerateTornTail?: boolean; chunkBytes?: number } = {}) {
  const path = join(dir, `f${n++}`);
  await writeFile(path, Buffer.concat([HEADER, body]));
  const seen: unknown[] = [];
  const result = await readRecordFile(path, {
    headerBytes: HEADER.length,
    checkHeader: (header) => expect(header).toEqual(HEADER),
    tolerateTornTail: options.tolerateTornTail ?? true,
    chunkBytes: options.chunkBytes,
    onRecord: (value) => seen.push(value),
  });
  return { ...result, seen };
}

describe('journal record framing', () => {
  beforeAll(async () => {
    dir = await makeTempDir('simmer-codec-');
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });

  it('round-trips records, including multi-byte text', async () => {
    expect(await read(file)).toEqual({ complete: true, records: 3, validLength: HEADER.length + file.length, tornBytes: 0, seen: records });
  });

  it('reads the same records whatever the chunk size, frames split across chunks included', async () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ t: 'x', i, pad: 'p'.repeat(i % 37) }));
    const body = Buffer.concat(many.map((record) => encodeRecord(record)));
    for (const chunkBytes of [1, 3, 7, 8, 9, 64, 1000, body.length]) {
      const result = await read(body, { chunkBytes });
      expect(result.seen, `chunks of ${chunkBytes}`).toEqual(many);
      expect(result.validLength).toBe(HEADER.length + body.length);
    }
    // A torn tail is found the same way with small chunks.
    const torn = await read(Buffer.concat([body, encodeRecord({ t: 'late' }).subarray(0, 11)]), { chunkBytes: 5 });
    expect(torn).toMatchObject({ records: 200, validLength: HEADER.length + body.length, tornBytes: 11 });
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

  it('cuts off damage at the end (a torn write) but refuses damage with valid records after it', async () => {
    const tornAtEnd = Buffer.concat([file, encodeRecord({ t: 'd' }).subarray(0, 9)]);
    expect(await read(tornAtEnd)).toMatchObject({ validLength: HEADER.length + file.length, tornBytes: 9, records: 3 });

    const damagedMiddle = Buffer.from(file);
    const secondFrame = encodeRecord(records[0]).length;
    damagedMiddle[secondFrame + 9] = damagedMiddle[secondFrame + 9]! ^ 0xff;
    await expect(read(damagedMiddle)).rejects.toBeInstanceOf(CorruptDataError);
    await expect(read(damagedMiddle, { chunkBytes: 2 })).rejects.toThrow(/corrupt at byte \d+/);
  });

  it('refuses any damage when a torn tail is impossible (a closed journal or a snapshot)', async () => {
    await expect(read(file.subarray(0, file.length - 1), { tolerateTornTail: false })).rejects.toBeInstanceOf(CorruptDataError);
  });

  it('says a file shorter than its header is incomplete', async () => {
    const path = join(dir, 'short');
    await writeFile(path, 'HE');
    const result = await readRecordFile(path, { headerBytes: 4, checkHeader: () => {}, tolerateTornTail: true, onRecord: () => {} });
    expect(result.complete).toBe(false);
  });
});
