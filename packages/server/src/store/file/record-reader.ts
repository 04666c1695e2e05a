import { open, type FileHandle } from 'node:fs/promises';
import { CorruptDataError, FRAME_HEADER_BYTES, MAX_RECORD_BYTES, decodeRecordAt } from './record-codec.js';

/** How much of a file recovery holds at once; a record larger than this is read whole by itself. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;

export interface ReadFileOptions {
  /** Bytes before the first record (the file header); `checkHeader` sees them first. */
  headerBytes: number;
  checkHeader(header: Buffer): void;
  /** A bad frame with nothing valid after it is a torn tail (cut off) instead of corruption. */
  tolerateTornTail: boolean;
  /** Called with each record in file order. */
  onRecord(value: unknown): void;
  chunkBytes?: number;
}

export interface ReadResult {
  /** false when the file is shorter than its header (a crash cut it short while it was being created). */
  complete: boolean;
  records: number;
  /** Bytes up to the end of the last good record: where appending continues. */
  validLength: number;
  /** Bytes after validLength that a torn write left behind (0 when the file ends cleanly). */
  tornBytes: number;
}

/**
 * Streams a journal or snapshot file's records in chunks, so a file of any size (past 2 GiB, where
 * one Buffer cannot hold it) is read in bounded memory. Frames that straddle two chunks are
 * carried over. A bad frame with nothing valid after it is a torn tail (never acknowledged, since
 * it was not fsynced); a bad frame followed by a valid one is corruption and throws
 * CorruptDataError (always, when `tolerateTornTail` is false).
 */
export async function readRecordFile(path: string, options: ReadFileOptions): Promise<ReadResult> {
  const chunkBytes = options.chunkBytes ?? READ_CHUNK_BYTES;
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size < options.headerBytes) return { complete: false, records: 0, validLength: 0, tornBytes: size };
    options.checkHeader(await readAt(handle, 0, options.headerBytes));

    let storage = Buffer.allocUnsafe(Math.min(chunkBytes, size));
    let buffer = storage.subarray(0, 0);
    /** File offset of buffer[0]. */
    let bufferStart = options.headerBytes;
    let offset = 0;
    let records = 0;
    for (;;) {
      const step = decodeRecordAt(buffer, offset);
      if (step.kind === 'record') {
        options.onRecord(step.value);
        records++;
        offset = step.end;
        continue;
      }
      const fileOffset = bufferStart + offset;
      const bufferEnd = bufferStart + buffer.length;
      if (step.kind === 'truncated' && bufferEnd < size) {
        // Keep the unread tail and read on: at least a chunk, and at least the whole frame.
        // One buffer serves the whole file (grown only for a record larger than it), so reading
        // leaves no trail of freed chunks behind in the allocator.
        const kept = buffer.length - offset;
        const announced = kept >= FRAME_HEADER_BYTES ? buffer.readUInt32LE(offset) + FRAME_HEADER_BYTES : 0;
        const want = Math.min(size - bufferEnd, Math.max(chunkBytes, announced - kept));
        if (kept + want > storage.length) storage = Buffer.concat([storage], kept + want);
        buffer.copy(storage, 0, offset);
        const read = await readInto(handle, storage, kept, want, bufferEnd);
        buffer = storage.subarray(0, kept + read);
        bufferStart = fileOffset;
        offset = 0;
        continue;
      }
      if (fileOffset === size) return { complete: true, records, validLength: size, tornBytes: 0 };
      const reason = step.kind === 'damaged' ? step.reason : 'truncated record';
      if (!options.tolerateTornTail || (await validRecordFollows(handle, fileOffset + 1, size, chunkBytes))) {
        throw new CorruptDataError(path, fileOffset, reason);
      }
      return { complete: true, records, validLength: fileOffset, tornBytes: size - fileOffset };
    }
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  return buffer.subarray(0, await readInto(handle, buffer, 0, length, position));
}

/** Reads up to `length` bytes at `position` into `target` from `offset`; returns how many (fewer only at the end of the file). */
async function readInto(handle: FileHandle, target: Buffer, offset: number, length: number, position: number): Promise<number> {
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(target, offset + read, length - read, position + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return read;
}

/**
 * Looks for any complete, checksummed frame starting at or after `from` (only on damage, so a
 * linear search is fine). Windows overlap by the largest frame, so none is missed at an edge.
 */
async function validRecordFollows(handle: FileHandle, from: number, size: number, chunkBytes: number): Promise<boolean> {
  for (let start = from; start + FRAME_HEADER_BYTES <= size; start += chunkBytes) {
    const window = await readAt(handle, start, Math.min(size - start, chunkBytes + MAX_RECORD_BYTES + FRAME_HEADER_BYTES));
    const candidates = Math.min(chunkBytes, window.length - FRAME_HEADER_BYTES + 1);
    for (let offset = 0; offset < candidates; offset++) {
      const length = window.readUInt32LE(offset);
      if (length < 2 || length > window.length - offset - FRAME_HEADER_BYTES) continue;
      // Payloads are JSON objects: check the braces before paying for a checksum.
      if (window[offset + FRAME_HEADER_BYTES] !== 0x7b || window[offset + FRAME_HEADER_BYTES + length - 1] !== 0x7d) continue;
      const step = decodeRecordAt(window, offset);
      if (step.kind === 'record' && typeof step.value === 'object' && step.value !== null) return true;
    }
  }
  return false;
}
