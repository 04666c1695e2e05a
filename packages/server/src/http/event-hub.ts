import type { ServerResponse } from 'node:http';
import { EVENT_JOB, EVENT_READY, EVENT_REMOVED, EVENT_RESET } from '@simmer/contracts';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { Change, JobStore } from '../store/job-store.js';
import { toJobView } from './job-view.js';

export interface EventHubOptions {
  store: JobStore;
  logger: Logger;
  metrics: Metrics;
  heartbeatMs?: number;
  /** A resume that would replay more changes than this gets a `reset` instead. */
  replayLimit?: number;
  /** A client that lets this much pile up unsent is dropped (it resumes with Last-Event-ID). */
  maxBufferedBytes?: number;
}

interface Frame {
  seq: number;
  text: string;
}

interface Subscriber {
  res: ServerResponse;
  /** The last sequence number this client has been sent (or is known to have). */
  cursor: number;
  /** While replaying, live frames wait here so they follow the replay in order. */
  queue: Frame[] | null;
}

/** After a failed read of changes, try again this soon even if nothing new is committed. */
const PUMP_RETRY_MS = 1_000;

const joinFrames = (frames: Frame[]): string => (frames.length === 1 ? frames[0]!.text : frames.map((frame) => frame.text).join(''));

const changeFrame = (change: Change): Frame => ({
  seq: change.seq,
  text:
    change.kind === 'job'
      ? `id: ${change.seq}\nevent: ${EVENT_JOB}\ndata: ${JSON.stringify(toJobView(change.job))}\n\n`
      : `id: ${change.seq}\nevent: ${EVENT_REMOVED}\ndata: ${JSON.stringify({ id: change.id })}\n\n`,
});

/**
 * Fans committed changes out to every `/events` stream. Changes are read from the store (not
 * kept in memory), so a client resuming from any sequence number, on any process, after any
 * restart, gets exactly what it missed; each change is serialised once for all clients.
 */
export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly heartbeatMs: number;
  private readonly replayLimit: number;
  private readonly maxBufferedBytes: number;
  private hubSeq = 0;
  private pumping = false;
  private pumpAgain = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: EventHubOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.replayLimit = options.replayLimit ?? 5_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  }

  get size(): number {
    return this.subscribers.size;
  }

  async start(): Promise<void> {
    this.hubSeq = await this.options.store.lastSeq();
    this.unsubscribe = this.options.store.onCommit((lastSeq) => {
      // With nobody listening there is nothing to read; a stream that opens later starts from here.
      if (this.subscribers.size === 0 && !this.pumping) this.hubSeq = Math.max(this.hubSeq, lastSeq);
      else void this.pump();
    });
    this.heartbeat = setInterval(() => {
      for (const subscriber of this.subscribers) this.send(subscriber, ': keep-alive\n\n');
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Streams to `res` every change after `after` (null: from now on), then live changes. */
  async subscribe(res: ServerResponse, after: number | null): Promise<void> {
    const subscriber: Subscriber = { res, cursor: after ?? this.hubSeq, queue: after === null ? null : [] };
    this.subscribers.add(subscriber);
    this.options.metrics.eventStreams.inc();
    res.on('close', () => {
      if (this.subscribers.delete(subscriber)) this.options.metrics.eventStreams.dec();
    });
    if (after !== null) await this.replay(subscriber, after);
    this.send(subscriber, `id: ${subscriber.cursor}\nevent: ${EVENT_READY}\ndata: ${JSON.stringify({ lastSeq: subscriber.cursor })}\n\n`);
  }

  /** Ends every stream (clients reconnect and resume elsewhere or after a restart). */
  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const subscriber of this.subscribers) subscriber.res.end();
    this.subscribers.clear();
  }

  private async replay(subscriber: Subscriber, after: number): Promise<void> {
    try {
      const changes = await this.options.store.changesSince(after, this.replayLimit);
      if (changes.reset) {
        subscriber.cursor = this.hubSeq;
        const reason = after > this.hubSeq ? 'unknown-sequence' : 'too-many-changes';
        this.send(subscriber, `event: ${EVENT_RESET}\ndata: ${JSON.stringify({ lastSeq: this.hubSeq, reason })}\n\n`);
      } else {
        for (const change of changes.changes) {
          const frame = changeFrame(change);
          if (!subscriber.res.write(frame.text)) await waitForDrain(subscriber.res);
          subscriber.cursor = frame.seq;
          if (subscriber.res.destroyed) return;
        }
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'event replay failed; closing the stream so the client resumes');
      subscriber.res.destroy();
      return;
    }
    const queued = subscriber.queue ?? [];
    subscriber.queue = null;
    this.deliver(subscriber, queued);
  }

  /** Reads what was committed since the last pump and sends it on; one pump at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const changes = await this.options.store.changesSince(this.hubSeq, 10_000);
        if (changes.reset) {
          // Too much at once to stream: every client reloads its list instead.
          this.hubSeq = await this.options.store.lastSeq();
          const text = `event: ${EVENT_RESET}\ndata: ${JSON.stringify({ lastSeq: this.hubSeq, reason: 'too-many-changes' })}\n\n`;
          for (const subscriber of this.subscribers) {
            subscriber.cursor = this.hubSeq;
            this.send(subscriber, text);
          }
          continue;
        }
        if (changes.changes.length === 0) continue;
        const frames = changes.changes.map(changeFrame);
        this.hubSeq = frames.at(-1)!.seq;
        // One string for every subscriber that is up to date: a burst costs its size once, not per client.
        const text = joinFrames(frames);
        for (const subscriber of this.subscribers) this.deliver(subscriber, frames, text);
      } while (this.pumpAgain);
    } catch (error) {
      // A store that is back may stay quiet for a while: do not wait for the next commit.
      this.options.logger.warn({ err: error }, `could not read changes for event streams; retrying in ${PUMP_RETRY_MS} ms`);
      if (!this.closed)
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = null;
          void this.pump();
        }, PUMP_RETRY_MS).unref();
    } finally {
      this.pumping = false;
    }
  }

  /** Sends the frames this subscriber has not had; `text` is all of them joined, when already made. */
  private deliver(subscriber: Subscriber, frames: Frame[], text?: string): void {
    if (subscriber.queue) {
      subscriber.queue.push(...frames);
      return;
    }
    const upToDate = frames[0] !== undefined && frames[0].seq > subscriber.cursor;
    const fresh = upToDate ? frames : frames.filter((frame) => frame.seq > subscriber.cursor);
    if (fresh.length === 0) return;
    subscriber.cursor = fresh.at(-1)!.seq;
    this.send(subscriber, upToDate && text !== undefined ? text : joinFrames(fresh));
  }

  private send(subscriber: Subscriber, text: string): void {
    const { res } = subscriber;
    if (res.destroyed) return;
    // Judged on what is still unsent from before, so one large burst does not drop a client that
    // keeps up; a client's backlog stays below the limit plus one burst (a string shared by all).
    if (res.writableLength > this.maxBufferedBytes) {
      this.options.logger.info({ buffered: res.writableLength }, 'dropping a slow event stream; the client will resume');
      res.destroy();
      return;
    }
    res.write(text);
  }
}

function waitForDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
