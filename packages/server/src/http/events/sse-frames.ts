import { EVENT_JOB, EVENT_READY, EVENT_REMOVED, EVENT_RESET } from '@simmer/contracts';
import type { Change } from '../../store/job-store.js';
import { toJobView } from '../job-view.js';

/**
 * The bytes of every `/events` frame (text/event-stream), and the one place that writes them; the
 * event names and their `data:` are the contract's (`@simmer/contracts`, events.ts).
 */

/** First on every stream: how long a browser waits before it reconnects. */
export const RETRY_FRAME = Buffer.from('retry: 2000\n\n');

/** A comment: keeps a proxy or a client from taking a quiet stream for a dead one. */
export const HEARTBEAT_FRAME = Buffer.from(': keep-alive\n\n');

/** A change: `id:` is its sequence number, which a client resumes from (Last-Event-ID). */
export function changeFrame(change: Change): Buffer {
  return Buffer.from(
    change.kind === 'job'
      ? `id: ${change.seq}\nevent: ${EVENT_JOB}\ndata: ${JSON.stringify(toJobView(change.job))}\n\n`
      : `id: ${change.seq}\nevent: ${EVENT_REMOVED}\ndata: ${JSON.stringify({ id: change.id })}\n\n`,
  );
}

/** The replay is done: everything up to `lastSeq` has been sent. */
export function readyFrame(lastSeq: number): Buffer {
  return Buffer.from(`id: ${lastSeq}\nevent: ${EVENT_READY}\ndata: ${JSON.stringify({ lastSeq })}\n\n`);
}

/** The resume point cannot be replayed: the client reloads its list. No `id:`, so it keeps its own. */
export function resetFrame(lastSeq: number, reason: 'unknown-sequence' | 'too-many-changes'): Buffer {
  return Buffer.from(`event: ${EVENT_RESET}\ndata: ${JSON.stringify({ lastSeq, reason })}\n\n`);
}

/**
 * The frames of the most recent live changes, by sequence number, up to `maxBytes`: a change is
 * serialised once, for every live stream and for the replays that follow soon after (a reload, a
 * reconnect). A sequence number always names the same change, so a kept frame is always exact.
 */
export class FrameCache {
  private readonly frames = new Map<number, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A live change's frame, kept for the replays that follow. */
  liveFrame(change: Change): Buffer {
    const kept = this.frames.get(change.seq);
    if (kept) return kept;
    const frame = changeFrame(change);
    this.frames.set(change.seq, frame);
    this.bytes += frame.length;
    // A Map iterates in insertion order: the oldest frames go first.
    for (const [seq, old] of this.frames) {
      if (this.bytes <= this.maxBytes) break;
      this.frames.delete(seq);
      this.bytes -= old.length;
    }
    return frame;
  }

  /** A replayed change's frame: the kept one while it is recent; an old one is not kept (a long replay would push out the live ones). */
  replayFrame(change: Change): Buffer {
    return this.frames.get(change.seq) ?? changeFrame(change);
  }
}
