/** Most ids one chunk holds before it splits; a splice within a chunk then moves at most this many. */
const CHUNK = 1024;

/**
 * A sorted set of ids, kept in chunks, so an insert or a delete anywhere costs a binary search and
 * a splice of one small chunk instead of a splice of the whole list. Appending the highest id (a
 * new job's, UUIDv7) is the common case and stays a push.
 */
export class SortedIds {
  private chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(id: string): void {
    const last = this.chunks.at(-1);
    if (last === undefined) {
      this.chunks.push([id]);
    } else if (last.at(-1)! < id) {
      last.push(id);
      if (last.length > CHUNK) this.split(this.chunks.length - 1);
    } else {
      const c = this.chunkFor(id);
      const chunk = this.chunks[c]!;
      const i = lowerBound(chunk, id);
      if (chunk[i] === id) return;
      chunk.splice(i, 0, id);
      if (chunk.length > CHUNK) this.split(c);
    }
    this.count++;
  }

  delete(id: string): boolean {
    const c = this.chunkFor(id);
    const chunk = this.chunks[c];
    if (chunk === undefined) return false;
    const i = lowerBound(chunk, id);
    if (chunk[i] !== id) return false;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.chunks.splice(c, 1);
    this.count--;
    return true;
  }

  /** At most `limit` ids below `before` (all when undefined), highest first. */
  descending(before: string | undefined, limit: number): string[] {
    const result: string[] = [];
    let c = before === undefined ? this.chunks.length - 1 : Math.min(this.chunkFor(before), this.chunks.length - 1);
    let i = before === undefined || c < 0 ? (this.chunks[c]?.length ?? 0) - 1 : lowerBound(this.chunks[c]!, before) - 1;
    for (; c >= 0 && result.length < limit; c--, i = (this.chunks[c]?.length ?? 0) - 1) {
      const chunk = this.chunks[c]!;
      for (; i >= 0 && result.length < limit; i--) result.push(chunk[i]!);
    }
    return result;
  }

  /** The first chunk whose highest id is >= `id`; the last chunk when there is none. */
  private chunkFor(id: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.chunks[mid]!.at(-1)! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private split(c: number): void {
    const chunk = this.chunks[c]!;
    this.chunks.splice(c + 1, 0, chunk.splice(chunk.length >> 1));
  }
}

/** Index of the first element >= `id`. */
function lowerBound(sorted: readonly string[], id: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
