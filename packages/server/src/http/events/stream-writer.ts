/**
 * Writing `/events` bodies straight to their sockets: the same bytes for every stream, one write
 * per stream for as many frames as are ready, and a bound on what a stream may leave unsent.
 */

const CRLF = Buffer.from('\r\n');

/**
 * Frames bound for many streams, joined once. An HTTP/1.1 stream takes them as one chunk of the
 * chunked transfer coding, an HTTP/1.0 one as they are; each form is made once, when first asked.
 */
export class Payload {
  private plain: Buffer | undefined;
  private chunk: Buffer | undefined;

  constructor(private readonly frames: readonly Buffer[]) {}

  bytes(chunked: boolean): Buffer {
    this.plain ??= this.frames.length === 1 ? this.frames[0]! : Buffer.concat(this.frames);
    if (!chunked) return this.plain;
    this.chunk ??= Buffer.concat([Buffer.from(`${this.plain.length.toString(16)}\r\n`, 'latin1'), this.plain, CRLF]);
    return this.chunk;
  }
}

/** What the writer needs of a socket (a net.Socket is one). */
export interface Sink {
  write(bytes: Buffer, done: (error?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
  /** Bytes handed to the socket that the kernel has not taken yet. */
  readonly writableLength: number;
  readonly destroyed: boolean;
}

export interface StreamWriterOptions {
  /** Whether the response uses the chunked transfer coding (HTTP/1.1) or none (HTTP/1.0). */
  chunked: boolean;
  /** Past this many unsent bytes a send is refused and `onOverflow` called (once). */
  maxBufferedBytes: number;
  onOverflow: (backlog: number) => void;
}

/**
 * One stream's writer. A payload goes out at once while the socket is idle; while a write is in
 * flight (the kernel's buffer is full, or earlier in the same tick), later payloads wait and go out
 * together, in one write, when it completes. The waiting payloads are references to bytes shared
 * by every stream, so waiting costs no copy per stream.
 *
 * The bound is judged before each send on what is still unsent from before (in the socket and
 * waiting here), so a client that keeps up is never dropped for one large burst; one that does
 * not is dropped below the limit plus one payload.
 */
export class StreamWriter {
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private inFlight = 0;
  private overflowed = false;
  private ended = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly sink: Sink,
    private readonly options: StreamWriterOptions,
  ) {}

  /** Bytes this stream has been given that its client has not taken yet. */
  get backlog(): number {
    return this.sink.writableLength + this.waitingBytes;
  }

  /** Whether nothing is in flight or waiting: a send now goes out at once. */
  get idle(): boolean {
    return this.inFlight === 0 && this.waiting.length === 0;
  }

  /** Sends `payload` at once or with the next write; false when the stream is over its bound or ended. */
  send(payload: Payload): boolean {
    if (!this.admits()) return false;
    const bytes = payload.bytes(this.options.chunked);
    if (this.idle) {
      this.inFlight = 1;
      this.sink.write(bytes, this.written);
    } else this.wait(bytes);
    return true;
  }

  /** Sends the payloads (one or more) in order, in one write at once or with the next; false as `send`. */
  sendAll(payloads: readonly Payload[]): boolean {
    if (payloads.length === 1) return this.send(payloads[0]!);
    if (!this.admits()) return false;
    const idle = this.idle;
    for (const payload of payloads) this.wait(payload.bytes(this.options.chunked));
    if (idle) this.flush();
    return true;
  }

  /**
   * Whether a send may go on: the bound is judged on what is still unsent from before, and a
   * stream past it is refused from then on (`onOverflow`, once).
   */
  private admits(): boolean {
    if (this.ended || this.overflowed || this.sink.destroyed) return false;
    const backlog = this.backlog;
    if (backlog <= this.options.maxBufferedBytes) return true;
    this.overflowed = true;
    this.options.onOverflow(backlog);
    return false;
  }

  private wait(bytes: Buffer): void {
    this.waiting.push(bytes);
    this.waitingBytes += bytes.length;
  }

  /** Resolves once everything sent so far has been handed to the kernel, or the stream has ended. */
  whenIdle(): Promise<void> {
    if (this.idle || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends nothing more; whatever waits is dropped (the stream is closing). */
  end(): void {
    this.ended = true;
    this.waiting = [];
    this.waitingBytes = 0;
    this.wakeIdleWaiters();
  }

  /** A write's completion (the socket calls back on the next tick, also when the kernel took it at once). */
  private readonly written = (error?: Error | null): void => {
    this.inFlight -= 1;
    if (error) {
      this.end();
      return;
    }
    if (this.inFlight > 0) return;
    if (this.waiting.length > 0 && !this.ended && !this.sink.destroyed) this.flush();
    else this.wakeIdleWaiters();
  };

  /** Everything waiting, in one write (a writev of the shared buffers when there are several). */
  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.waitingBytes = 0;
    this.inFlight = batch.length;
    if (batch.length === 1) {
      this.sink.write(batch[0]!, this.written);
      return;
    }
    this.sink.cork();
    for (const bytes of batch) this.sink.write(bytes, this.written);
    this.sink.uncork();
  }

  private wakeIdleWaiters(): void {
    // Called after every write a live stream completes: no new array when nobody waits (most times).
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
