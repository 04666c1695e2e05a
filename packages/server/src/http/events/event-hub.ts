import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import type { JobStore } from '../../store/job-store.js';
import { FrameCache, HEARTBEAT_FRAME, readyFrame, resetFrame, RETRY_FRAME } from './sse-frames.js';
import { FreshChanges } from './fresh-changes.js';
import { Payload, StreamWriter, type Sink } from './stream-writer.js';

export interface EventHubOptions {
  store: JobStore;
  logger: Logger;
  metrics: Metrics;
  /** A comment on every stream this often. */
  heartbeatMs: number;
  /** A resume that would replay more changes than this gets a `reset` instead. */
  replayLimit: number;
  /** A client that lets this much pile up unsent is dropped (it resumes with Last-Event-ID). */
  maxBufferedBytes: number;
  /** A client that accepts no data for this long is dropped. */
  stallTimeoutMs: number;
}

/** The unsent bytes past which a live client is dropped (it resumes with Last-Event-ID). */
export const EVENT_BACKLOG_LIMIT_BYTES = 1024 * 1024;

interface Subscriber {
  res: ServerResponse;
  writer: StreamWriter;
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
const READ_RETRY_MS = 1_000;
/** The most changes one read of the live feed takes; a burst past it is read in several. */
const READ_LIMIT = 10_000;
/** The frames of the most recent changes are kept this far back, for replays soon after (~5,000 jobs). */
const FRAME_CACHE_BYTES = 4 * 1024 * 1024;
/** A replay goes out in writes of about this size, the next one serialised once the last is taken. */
const REPLAY_WRITE_BYTES = 64 * 1024;

/**
 * A fan-out round yields to the event loop after this many streams (about half a millisecond of
 * writes). A commit needs a few turns of the loop (the journal's write, then its fsync), so short
 * slices let a change committed during a round join it rather than wait for the next: at 1,000
 * streams a settled job's change first reached a client p50 9.1 ms after its timestamp with slices
 * of 100, 6.2 ms with 50 (docs/benchmarks.md).
 */
export const FAN_OUT_SLICE = 50;

const HEARTBEAT = new Payload([HEARTBEAT_FRAME]);
const RETRY = new Payload([RETRY_FRAME]);

/**
 * Fans committed changes out to every `/events` stream. Changes are read from the store (not
 * kept in memory), so a client resuming from any sequence number, on any process, after any
 * restart, gets exactly what it missed. Each change is serialised once (sse-frames.ts). The
 * fan-out goes round the streams giving each, in one write straight to its socket, every change
 * it lacks (stream-writer.ts); streams at the same point share those bytes (fresh-changes.ts). A
 * write costs the same few microseconds of kernel time whether it carries one change or a
 * hundred, so under load the hub sends less often rather than less: a change read while a round
 * is under way joins it for the streams still ahead (see `fanOut`).
 *
 * Bounds, so that no reader can make the server hold more for it than it takes:
 * - live: a client whose unsent backlog passes `maxBufferedBytes` is dropped (it resumes);
 * - replaying and catching up: frames are serialised a write (~64 KB) at a time as the socket
 *   takes them, and live changes are not queued for it;
 * - in every phase, a client that accepts no data for `stallTimeoutMs` is dropped;
 * - a resume replays at most `replayLimit` changes (further behind: `reset`, reload).
 * The caps on how many streams are open are the route's (limits/stream-caps.ts).
 */
export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly frames = new FrameCache(FRAME_CACHE_BYTES);
  private hubSeq = 0;
  /** Changes read but not yet had by every live stream (see fanOut). */
  private readonly fresh = new FreshChanges();
  private reading = false;
  private readAgain = false;
  private fanningOut = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set while the hub follows the store's commits: only while it has streams (see `follow`). */
  private unsubscribe: (() => void) | null = null;
  /** Set while the hub's sequence is brought level with the store; commits heard meanwhile wait for it. */
  private levelling: Promise<void> | null = null;
  private heardWhileLevelling = false;

  constructor(private readonly options: EventHubOptions) {}

  get size(): number {
    return this.subscribers.size;
  }

  start(): void {
    this.heartbeat = setInterval(() => {
      for (const subscriber of this.subscribers) subscriber.writer.send(HEARTBEAT);
    }, this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Streams to `res` every change after `after` (null: from now on), then live changes. The
   * response's head must be written already (with no body): from here on the hub writes the body
   * to the socket itself.
   */
  async subscribe(res: ServerResponse, after: number | null): Promise<void> {
    const sink = await sinkOf(res);
    if (!sink || isGone(res)) return;
    if (this.closed) {
      res.end();
      return;
    }
    const writer = new StreamWriter(sink, {
      // HTTP/2 frames the body itself; HTTP/1.1 takes it as chunks, HTTP/1.0 as it is.
      chunked: !isHttp2(res) && res.chunkedEncoding,
      maxBufferedBytes: this.options.maxBufferedBytes,
      onOverflow: () => this.drop(subscriber, 'backlog'),
    });
    // Sent nothing but the retry hint until the hub knows where "now" is.
    const subscriber: Subscriber = { res, writer, cursor: 0, catchingUp: true };
    this.subscribers.add(subscriber);
    this.options.metrics.eventStreams.inc();
    writer.send(RETRY);
    // The socket's idle timer restarts only when the kernel takes data (or the client sends some):
    // heartbeats keep a reading client's stream busy, a client that reads nothing times out.
    res.setTimeout(this.options.stallTimeoutMs, () => this.drop(subscriber, 'stalled'));
    res.on('close', () => {
      writer.end();
      if (!this.subscribers.delete(subscriber)) return;
      this.options.metrics.eventStreams.dec();
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
    writer.send(new Payload([readyFrame(subscriber.cursor)]));
  }

  /** Ends every stream (clients reconnect and resume elsewhere or after a restart). */
  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const subscriber of this.subscribers) {
      subscriber.writer.end();
      endStream(subscriber.res);
    }
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
      else void this.read();
    });
    this.levelling = this.options.store.lastSeq().then(
      (head) => {
        this.hubSeq = Math.max(this.hubSeq, head);
        this.levelling = null;
        if (this.subscribers.size === 0) this.unfollow();
        else if (this.heardWhileLevelling) void this.read();
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
   * then do live frames go to it. Frames are serialised a write at a time, as the socket takes them.
   */
  private async catchUp(subscriber: Subscriber, after: number): Promise<void> {
    const { res, writer } = subscriber;
    try {
      while (!isGone(res)) {
        const levelAtRead = this.hubSeq;
        const changes = await this.options.store.changesSince(subscriber.cursor, this.options.replayLimit);
        if (isGone(res)) return;
        // Read after the hub reached `levelAtRead`, so it saw every change up to there: with none
        // found, the numbers in between carry no change, and waiting for one would never end.
        if (!changes.reset && changes.changes.length === 0 && this.hubSeq === levelAtRead)
          subscriber.cursor = Math.max(subscriber.cursor, levelAtRead);
        if (changes.reset) {
          const reason = after > this.hubSeq ? 'unknown-sequence' : 'too-many-changes';
          subscriber.cursor = this.hubSeq;
          writer.send(new Payload([resetFrame(this.hubSeq, reason)]));
          break;
        }
        let frames: Buffer[] = [];
        let bytes = 0;
        for (const [index, change] of changes.changes.entries()) {
          const frame = this.frames.replayFrame(change);
          frames.push(frame);
          bytes += frame.length;
          if (bytes < REPLAY_WRITE_BYTES && index < changes.changes.length - 1) continue;
          writer.send(new Payload(frames));
          subscriber.cursor = change.seq;
          frames = [];
          bytes = 0;
          await writer.whenIdle();
          if (isGone(res)) return;
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

  /** Reads what was committed since the last read and hands it to the fan-out; one read at a time. */
  private async read(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        const changes = await this.options.store.changesSince(this.hubSeq, READ_LIMIT);
        if (changes.reset) {
          // Too much at once to stream: every client reloads its list instead.
          this.hubSeq = await this.options.store.lastSeq();
          this.fresh.clear();
          const reset = new Payload([resetFrame(this.hubSeq, 'too-many-changes')]);
          for (const subscriber of this.subscribers) {
            // One still catching up meets the same reset in the store.
            if (subscriber.catchingUp) continue;
            subscriber.cursor = this.hubSeq;
            subscriber.writer.send(reset);
          }
          continue;
        }
        // Never back: a stream opened meanwhile may have levelled the hub past this read.
        const news = changes.changes.filter((change) => change.seq > this.hubSeq);
        if (news.length === 0) continue;
        this.fresh.add(
          news.map((change) => change.seq),
          news.map((change) => this.frames.liveFrame(change)),
        );
        this.hubSeq = news.at(-1)!.seq;
        void this.fanOut();
      } while (this.readAgain);
    } catch (error) {
      // A store that is back may stay quiet for a while: do not wait for the next commit.
      this.options.logger.warn({ err: error }, `could not read changes for event streams; retrying in ${READ_RETRY_MS} ms`);
      if (!this.closed)
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = null;
          void this.read();
        }, READ_RETRY_MS).unref();
    } finally {
      this.reading = false;
    }
  }

  /**
   * Goes round the streams, giving each what it lacks, until a round ends with every stream level
   * with the hub. The round yields to the event loop every FAN_OUT_SLICE writes; a change read
   * meanwhile goes to the streams not yet visited in this same round and to the others in the
   * next. So a change waits for the writer to come round to its stream, never for a whole round
   * of older changes first, and under load each write carries more changes rather than there
   * being more writes.
   */
  private async fanOut(): Promise<void> {
    if (this.fanningOut) return; // the round under way sees the new changes
    this.fanningOut = true;
    try {
      while (this.fresh.size > 0 && !this.closed) {
        // Every stream is at least here once the round is done: visited in it, or opened level.
        const roundFrom = this.hubSeq;
        let visited = 0;
        for (const subscriber of this.subscribers) {
          this.deliver(subscriber);
          // Requests, timers and commits run in between: thousands of writes would hold the event loop.
          if (++visited % FAN_OUT_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        this.fresh.dropThrough(roundFrom);
      }
    } finally {
      this.fanningOut = false;
    }
  }

  /** Sends this subscriber every fresh change after its cursor, in one write. */
  private deliver(subscriber: Subscriber): void {
    if (subscriber.catchingUp || subscriber.cursor >= this.hubSeq) return;
    const payloads = this.fresh.after(subscriber.cursor);
    subscriber.cursor = this.hubSeq;
    if (payloads.length > 0) subscriber.writer.sendAll(payloads);
  }

  /** Ends a stream whose client does not keep up; it resumes with Last-Event-ID and misses nothing. */
  private drop(subscriber: Subscriber, reason: 'backlog' | 'stalled'): void {
    const { res, writer } = subscriber;
    if (isGone(res)) return;
    this.options.metrics.eventStreamsDropped.inc({ reason });
    this.options.logger.info(
      { reason, buffered: writer.backlog, cursor: subscriber.cursor },
      'dropping a slow event stream; the client will resume',
    );
    res.destroy();
  }
}

/**
 * Where the hub writes a response's body: over HTTP/2 its stream (which frames what it is given),
 * over HTTP/1.x its socket. A response pipelined behind another on its connection gets its socket
 * only when that one is done (null: the client went away first).
 */
function sinkOf(res: ServerResponse): Promise<Sink | null> {
  const stream = http2Stream(res);
  if (stream) return Promise.resolve(stream);
  if (res.socket) return Promise.resolve(res.socket);
  return new Promise((resolve) => {
    const onSocket = (socket: Socket) => {
      res.off('close', onClose);
      resolve(socket);
    };
    const onClose = () => {
      res.off('socket', onSocket);
      resolve(null);
    };
    res.once('socket', onSocket);
    res.once('close', onClose);
  });
}

/** Over HTTP/2 the response is Node's compatibility object (Http2ServerResponse) on a stream of its own. */
function http2Stream(res: ServerResponse): ServerHttp2Stream | undefined {
  return (res as unknown as { stream?: ServerHttp2Stream }).stream;
}

function isHttp2(res: ServerResponse): boolean {
  return http2Stream(res) !== undefined;
}

/** Whether the client's stream has ended (an HTTP/2 response has no `destroyed` of its own: its stream has). */
function isGone(res: ServerResponse): boolean {
  return res.destroyed || (http2Stream(res)?.destroyed ?? false);
}

/**
 * Ends a client's stream. Over HTTP/2 the stream is closed too once the end is sent: a client that
 * has not ended its side of it would otherwise hold its connection, and so a graceful stop, open
 * until the connection's idle timeout.
 */
function endStream(res: ServerResponse): void {
  const stream = http2Stream(res);
  res.end(() => stream?.close());
}
