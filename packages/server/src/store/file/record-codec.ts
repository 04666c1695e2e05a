import { crc32 } from 'node:zlib';

/**
 * Journal and snapshot records are framed as [u32 payload length][u32 CRC-32 of payload][payload],
 * little-endian, the payload being UTF-8 JSON. The frame lets recovery tell a torn tail (a write
 * the crash cut short) from corruption in the middle of a file.
 */
export const FRAME_HEADER_BYTES = 8;

/** Larger payloads are refused on write and treated as damage on read. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export function encodeRecord(record: unknown): Buffer {
  const json = JSON.stringify(record);
  const payloadLength = Buffer.byteLength(json);
  if (payloadLength > MAX_RECORD_BYTES) throw new RangeError(`record of ${payloadLength} bytes exceeds ${MAX_RECORD_BYTES}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadLength);
  frame.write(json, FRAME_HEADER_BYTES, 'utf8');
  frame.writeUInt32LE(payloadLength, 0);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4);
  return frame;
}

export type DecodeStep =
  | { kind: 'record'; value: unknown; end: number }
  /** Fewer bytes remain than the frame announces (or than a header): a write cut short. */
  | { kind: 'truncated' }
  /** The frame is complete but its checksum or JSON is wrong. */
  | { kind: 'damaged'; end: number; reason: string };

/** Decodes the frame starting at `offset`. */
export function decodeRecordAt(buffer: Buffer, offset: number): DecodeStep {
  if (buffer.length - offset < FRAME_HEADER_BYTES) return { kind: 'truncated' };
  const length = buffer.readUInt32LE(offset);
  const checksum = buffer.readUInt32LE(offset + 4);
  const start = offset + FRAME_HEADER_BYTES;
  const end = start + length;
  if (length > MAX_RECORD_BYTES) return { kind: 'damaged', end: buffer.length, reason: `impossible record length ${length}` };
  if (end > buffer.length) return { kind: 'truncated' };
  const payload = buffer.subarray(start, end);
  if (crc32(payload) !== checksum) return { kind: 'damaged', end, reason: 'checksum mismatch' };
  try {
    return { kind: 'record', value: JSON.parse(payload.toString('utf8')), end };
  } catch (error) {
    return { kind: 'damaged', end, reason: `unparsable payload (${(error as Error).message})` };
  }
}

export class CorruptDataError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(
      `${file} is corrupt at byte ${offset}: ${reason}, and valid records follow, so this is not a torn last write. ` +
        'Refusing to start rather than lose acknowledged jobs: restore the data directory from a backup or inspect it.',
    );
    this.name = 'CorruptDataError';
  }
}
