import { Payload } from './stream-writer.js';

/** The changes of one read of the feed, in sequence order, with their bytes joined once. */
interface Read {
  seqs: readonly number[];
  frames: readonly Buffer[];
  last: number;
  bytes: number;
  payload: Payload;
}

/**
 * Past this many bytes, the reads after a starting point are handed out as a list of their own
 * payloads (one writev) rather than joined into one buffer for that starting point.
 */
const JOIN_LIMIT_BYTES = 16 * 1024;

/**
 * The live changes the fan-out is still handing round: read from the store, not yet had by every
 * up-to-date stream. A stream is at some sequence number (its cursor) and is sent every change
 * after it, in one write, as bytes shared by every stream at the same point: the reads after that
 * point joined into one buffer while they are small (a plain write is cheaper than a writev: 6.8-7.8
 * against 7.9-8.8 ms of CPU per 1,000 deliveries at 1,000 streams), else each read's own payload.
 * So what this holds grows with the changes and the starting points (a join is at most
 * JOIN_LIMIT_BYTES, twice over once framed as a chunk too), never with the streams. The hub drops what every
 * stream has had after each round, so this holds what was committed during about one round.
 */
export class FreshChanges {
  private reads: Read[] = [];
  /** What `after` answered, by the index of the first read, while the reads held stay the same. */
  private tails = new Map<number, readonly Payload[]>();

  get size(): number {
    return this.reads.length;
  }

  /** Appends one read's changes, all newer than every one held, in sequence order. */
  add(seqs: readonly number[], frames: readonly Buffer[]): void {
    const bytes = frames.reduce((sum, frame) => sum + frame.length, 0);
    this.reads.push({ seqs, frames, last: seqs.at(-1)!, bytes, payload: new Payload(frames) });
    this.tails.clear();
  }

  /** The payloads of every change after `cursor`, oldest first; empty when there is none. */
  after(cursor: number): readonly Payload[] {
    // The first read with a change after the cursor (reads are in sequence order).
    let low = 0;
    let high = this.reads.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.reads[middle]!.last > cursor) high = middle;
      else low = middle + 1;
    }
    if (low === this.reads.length) return [];
    const first = this.reads[low]!;
    if (first.seqs[0]! <= cursor) {
      // A stream that caught up from the store part-way into a read: the rest of that read, for it alone.
      const rest = new Payload(first.frames.filter((_, i) => first.seqs[i]! > cursor));
      return [rest, ...this.reads.slice(low + 1).map((read) => read.payload)];
    }
    let tail = this.tails.get(low);
    if (!tail) {
      const reads = this.reads.slice(low);
      const small = reads.length > 1 && reads.reduce((sum, read) => sum + read.bytes, 0) <= JOIN_LIMIT_BYTES;
      tail = small ? [new Payload(reads.flatMap((read) => read.frames))] : reads.map((read) => read.payload);
      this.tails.set(low, tail);
    }
    return tail;
  }

  /** Forgets the reads up to and including `seq` (every stream has had them). */
  dropThrough(seq: number): void {
    let kept = 0;
    while (kept < this.reads.length && this.reads[kept]!.last <= seq) kept += 1;
    if (kept === 0) return;
    this.reads = this.reads.slice(kept);
    this.tails.clear();
  }

  clear(): void {
    this.reads = [];
    this.tails.clear();
  }
}
