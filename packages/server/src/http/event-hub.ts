import type { ServerResponse } from 'node:http';
import { EVENT_JOB, EVENT_READY, EVENT_REMOVED, EVENT_RESET } from '@simmer/contracts';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { Change, JobStore } from '../store/job-store.js';
import { toJobView } from './job-view.js';
import { Refusal } from './limits/refusal.js';

export interface EventHubOptions {
  store: JobStore;
  logger: Logger;
  metrics: Metrics;
  heartbeatMs?: number;
  /** A resume that would replay more changes than this gets a `reset` instead. */
  replayLimit?: number;
  /** A client that lets this much pile up unsent is dropped (it resumes with Last-Event-ID). */
  maxBufferedBytes?: number;
  /** A client that accepts no data for this long is dropped. */
  stallTimeoutMs?: number;
  /** Open streams in this process; past it, 503. */
  maxStreams?: number;
  /** Open streams per client address; past it, 429. */
  maxStreamsPerClient?: number;
}

interface Frame {
  seq: number;
  text: string;
}

interface Subscriber {
  res: ServerResponse;
  /** The last sequence number this client has been sent (or is known to have). */
  cursor: number;
  /**
   * Reading what it missed from the store (a replay, then whatever was committed meanwhile). Live
   * frames are not sent to it, nor kept for it: it reads them from the store when it gets there,
   * so a client that replays slowly, or not at all, costs no memory per change committed meanwhile.
   */
  catchingUp: boolean;
}

/** After a failed read of changes, try again this soon even if nothing new is committed. */
const PUMP_RETRY_MS = 1_000;
/** Retry-After for a refused stream: a slot frees when another stream ends. */
const STREAM_CAP_RETRY_MS = 10_000;

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
 *
 * Bounds, so that no reader can make the server hold more for it than it takes:
 * - live: a client whose unsent backlog passes `maxBufferedBytes` is dropped (it resumes);
 * - replaying and catching up: frames are serialised one at a time as the socket takes them
 *   (at most one frame past the socket's buffer), and live changes are not queued for it;
 * - in every phase, a client that accepts no data for `stallTimeoutMs` is dropped;
 * - a resume replays at most `replayLimit` changes (further behind: `reset`, reload);
 * - at most `maxStreams` streams, and `maxStreamsPerClient` per client address.
 */
export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly heartbeatMs: number;
  private readonly replayLimit: number;
  private readonly maxBufferedBytes: number;
  private readonly stallTimeoutMs: number;
  private readonly maxStreams: number;
  private readonly maxStreamsPerClient: number;
  private readonly streamsPerClient = new Map<string, number>();
  private hubSeq = 0;
  private pumping = false;
  private pumpAgain = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set while the hub follows the store's commits: only while it has streams (see `follow`). */
  private unsubscribe: (() => void) | null = null;
  /** Set while the hub's sequence is brought level with the store; commits heard meanwhile wait for it. */
  private levelling: Promise<void> | null = null;
  private heardWhileLevelling = false;

  constructor(private readonly options: EventHubOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.replayLimit = options.replayLimit ?? 5_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
    this.maxStreams = options.maxStreams ?? 10_000;
    this.maxStreamsPerClient = options.maxStreamsPerClient ?? 20;
  }

  get size(): number {
    return this.subscribers.size;
  }

  start(): void {
    this.heartbeat = setInterval(() => {
      for (const subscriber of this.subscribers) this.send(subscriber, ': keep-alive\n\n');
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Throws a Refusal (503 for the process, 429 for the client) when a new stream would pass a cap. */
  admit(client: string): void {
    const { metrics } = this.options;
    if (this.subscribers.size >= this.maxStreams) {
      metrics.requestsRefused.inc({ reason: 'streams_per_process' });
      throw new Refusal(503, 'This server holds as many live streams as it can; try again shortly.', STREAM_CAP_RETRY_MS);
    }
    if ((this.streamsPerClient.get(client) ?? 0) >= this.maxStreamsPerClient) {
      metrics.requestsRefused.inc({ reason: 'streams_per_client' });
      throw new Refusal(429, `At most ${this.maxStreamsPerClient} live streams per client; close one first.`, STREAM_CAP_RETRY_MS);
    }
  }

  /**
   * Streams to `res` every change after `after` (null: from now on), then live changes. The
   * caller has checked `admit(client)` just before, with no await in between.
   */
  async subscribe(res: ServerResponse, after: number | null, client = ''): Promise<void> {
    // Counted at once (the caps), but sent nothing until the hub knows where "now" is.
    const subscriber: Subscriber = { res, cursor: 0, catchingUp: true };
    this.subscribers.add(subscriber);
    this.streamsPerClient.set(client, (this.streamsPerClient.get(client) ?? 0) + 1);
    this.options.metrics.eventStreams.inc();
    // The socket's idle timer restarts only when the kernel takes data (or the client sends some):
    // heartbeats keep a reading client's stream busy, a client that reads nothing times out.
    res.setTimeout(this.stallTimeoutMs, () => this.drop(subscriber, 'stalled'));
    res.on('close', () => {
      if (!this.subscribers.delete(subscriber)) return;
      this.options.metrics.eventStreams.dec();
      const open = (this.streamsPerClient.get(client) ?? 1) - 1;
      if (open === 0) this.streamsPerClient.delete(client);
      else this.streamsPerClient.set(client, open);
      if (this.subscribers.size === 0) this.unfollow();
    });
    try {
      await this.follow();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not read the head of the changes; closing the stream so the client resumes');
      res.destroy();
      return;
    }
    if (isGone(res)) return;
    subscriber.cursor = after ?? this.hubSeq;
    subscriber.catchingUp = after !== null;
    if (after !== null) await this.catchUp(subscriber, after);
    if (isGone(res)) return;
    this.send(subscriber, `id: ${subscriber.cursor}\nevent: ${EVENT_READY}\ndata: ${JSON.stringify({ lastSeq: subscriber.cursor })}\n\n`);
  }

  /** Ends every stream (clients reconnect and resume elsewhere or after a restart). */
  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const subscriber of this.subscribers) endStream(subscriber.res);
    this.subscribers.clear();
  }

  /**
   * Follows the store's commits, from the store's head. Only while there are streams: an API
   * process nobody watches reads nothing per commit (on PostgreSQL, a read of the head after every
   * commit in the cluster: 31–43 µs of the API's CPU per job settled in a drain).
   */
  private follow(): Promise<void> {
    if (this.unsubscribe) return this.levelling ?? Promise.resolve();
    this.heardWhileLevelling = false;
    // Listening first, then reading the head: a commit in between is heard and read below.
    this.unsubscribe = this.options.store.onCommit(() => {
      if (this.levelling) this.heardWhileLevelling = true;
      else void this.pump();
    });
    this.levelling = this.options.store.lastSeq().then(
      (head) => {
        this.hubSeq = Math.max(this.hubSeq, head);
        this.levelling = null;
        if (this.subscribers.size === 0) this.unfollow();
        else if (this.heardWhileLevelling) void this.pump();
      },
      (error: unknown) => {
        this.levelling = null;
        this.unfollow();
        throw error;
      },
    );
    return this.levelling;
  }

  private unfollow(): void {
    if (this.levelling) return; // levelling ends by checking again
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /**
   * Sends what the subscriber missed, read from the store, until it is level with the hub; only
   * then do live frames go to it. Each frame is serialised when the socket has room for it.
   */
  private async catchUp(subscriber: Subscriber, after: number): Promise<void> {
    const { res } = subscriber;
    try {
      while (!isGone(res)) {
        const levelAtRead = this.hubSeq;
        const changes = await this.options.store.changesSince(subscriber.cursor, this.replayLimit);
        if (isGone(res)) return;
        // Read after the hub reached `levelAtRead`, so it saw every change up to there: with none
        // found, the numbers in between carry no change, and waiting for one would never end.
        if (!changes.reset && changes.changes.length === 0 && this.hubSeq === levelAtRead)
          subscriber.cursor = Math.max(subscriber.cursor, levelAtRead);
        if (changes.reset) {
          const reason = after > this.hubSeq ? 'unknown-sequence' : 'too-many-changes';
          subscriber.cursor = this.hubSeq;
          this.send(subscriber, `event: ${EVENT_RESET}\ndata: ${JSON.stringify({ lastSeq: this.hubSeq, reason })}\n\n`);
          break;
        }
        for (const change of changes.changes) {
          if (!res.write(changeFrame(change).text)) await waitForDrain(res);
          if (isGone(res)) return;
          subscriber.cursor = change.seq;
        }
        if (subscriber.cursor >= this.hubSeq) break;
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'event replay failed; closing the stream so the client resumes');
      res.destroy();
      return;
    }
    subscriber.catchingUp = false;
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
            // One still catching up meets the same reset in the store.
            if (subscriber.catchingUp) continue;
            subscriber.cursor = this.hubSeq;
            this.send(subscriber, text);
          }
          continue;
        }
        if (changes.changes.length === 0) continue;
        const frames = changes.changes.map(changeFrame);
        // Never back: a stream opened meanwhile may have levelled the hub past this read.
        this.hubSeq = Math.max(this.hubSeq, frames.at(-1)!.seq);
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
    if (subscriber.catchingUp) return;
    const upToDate = frames[0] !== undefined && frames[0].seq > subscriber.cursor;
    const fresh = upToDate ? frames : frames.filter((frame) => frame.seq > subscriber.cursor);
    if (fresh.length === 0) return;
    subscriber.cursor = fresh.at(-1)!.seq;
    this.send(subscriber, upToDate && text !== undefined ? text : joinFrames(fresh));
  }

  private send(subscriber: Subscriber, text: string): void {
    const { res } = subscriber;
    if (isGone(res)) return;
    // Judged on what is still unsent from before, so one large burst does not drop a client that
    // keeps up; a client's backlog stays below the limit plus one burst (a string shared by all).
    if (res.writableLength > this.maxBufferedBytes) {
      this.drop(subscriber, 'backlog');
      return;
    }
    res.write(text);
  }

  /** Ends a stream whose client does not keep up; it resumes with Last-Event-ID and misses nothing. */
  private drop(subscriber: Subscriber, reason: 'backlog' | 'stalled'): void {
    const { res } = subscriber;
    if (isGone(res)) return;
    this.options.metrics.eventStreamsDropped.inc({ reason });
    this.options.logger.info(
      { reason, buffered: res.writableLength, cursor: subscriber.cursor },
      'dropping a slow event stream; the client will resume',
    );
    res.destroy();
  }
}

/**
 * Whether the client's stream has ended. Over HTTP/2 the response is Node's compatibility object,
 * which has no `destroyed` of its own: its stream has.
 */
function isGone(res: ServerResponse): boolean {
  return res.destroyed || ((res as unknown as { stream?: { destroyed: boolean } }).stream?.destroyed ?? false);
}

/**
 * Ends a client's stream. Over HTTP/2 the stream is closed too once the end is sent: a client that
 * has not ended its side of it would otherwise hold its connection, and so a graceful stop, open
 * until the connection's idle timeout.
 */
function endStream(res: ServerResponse): void {
  const stream = (res as unknown as { stream?: { close(): void } }).stream;
  res.end(() => stream?.close());
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
