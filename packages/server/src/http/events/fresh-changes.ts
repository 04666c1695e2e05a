import { Payload } from './stream-writer.js';

/**
 * The live changes the fan-out is still handing round: read from the store, not yet had by every
 * up-to-date stream. A stream is at some sequence number (its cursor) and gets every frame after
 * it in one payload; streams at the same point share that payload, so it is joined once however
 * many streams take it. The hub drops what every stream has had after each round, so this holds
 * what was committed during about one round of writes.
 */
export class FreshChanges {
  private seqs: number[] = [];
  private frames: Buffer[] = [];
  /** Payloads by the index of their first frame, for the frames held now. */
  private payloads = new Map<number, Payload>();

  get size(): number {
    return this.seqs.length;
  }

  /** Appends changes newer than every one held, in sequence order. */
  add(seqs: readonly number[], frames: readonly Buffer[]): void {
    this.seqs.push(...seqs);
    this.frames.push(...frames);
    this.payloads.clear();
  }

  /** Every frame after `cursor`, joined once per starting point; null when there is none. */
  after(cursor: number): Payload | null {
    // The frames a stream lacks are the newest few: look from the end.
    let first = this.seqs.length;
    while (first > 0 && this.seqs[first - 1]! > cursor) first -= 1;
    if (first === this.seqs.length) return null;
    let payload = this.payloads.get(first);
    if (!payload) {
      payload = new Payload(this.frames.slice(first));
      this.payloads.set(first, payload);
    }
    return payload;
  }

  /** Forgets the changes up to and including `seq` (every stream has had them). */
  dropThrough(seq: number): void {
    let kept = 0;
    while (kept < this.seqs.length && this.seqs[kept]! <= seq) kept += 1;
    if (kept === 0) return;
    this.seqs = this.seqs.slice(kept);
    this.frames = this.frames.slice(kept);
    this.payloads.clear();
  }

  clear(): void {
    this.seqs = [];
    this.frames = [];
    this.payloads.clear();
  }
}
