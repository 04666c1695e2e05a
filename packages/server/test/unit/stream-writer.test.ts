import { describe, expect, it } from 'vitest';
import { Payload, StreamWriter, type Sink } from '../../src/http/events/stream-writer.js';

/**
 * A socket whose kernel the test plays: what it is handed stays "in flight" (counted in
 * writableLength) until the test lets the client take it; corked writes go out as one writev, as
 * a net.Socket sends them. Nothing here touches a socket or a timer.
 */
class HeldSink implements Sink {
  /** Each write (one syscall): the buffers it carried. */
  readonly syscalls: Buffer[][] = [];
  private pending: { bytes: Buffer; done: (error?: Error | null) => void }[] = [];
  private corked: { bytes: Buffer; done: (error?: Error | null) => void }[] | null = null;
  destroyed = false;

  get writableLength(): number {
    return [...this.pending, ...(this.corked ?? [])].reduce((sum, write) => sum + write.bytes.length, 0);
  }

  write(bytes: Buffer, done: (error?: Error | null) => void): boolean {
    if (this.corked) this.corked.push({ bytes, done });
    else {
      this.syscalls.push([bytes]);
      this.pending.push({ bytes, done });
    }
    return true;
  }

  cork(): void {
    this.corked = [];
  }

  uncork(): void {
    const corked = this.corked ?? [];
    this.corked = null;
    if (corked.length === 0) return;
    this.syscalls.push(corked.map((write) => write.bytes));
    this.pending.push(...corked);
  }

  /** The client reads everything in flight: each write's callback runs, as the socket's do. */
  take(): void {
    const taken = this.pending;
    this.pending = [];
    for (const write of taken) write.done();
  }

  /** The connection breaks: what is in flight fails. */
  fail(): void {
    this.destroyed = true;
    const failed = this.pending;
    this.pending = [];
    for (const write of failed) write.done(new Error('socket closed'));
  }

  /** Everything written, as the client would read it. */
  text(): string {
    return this.syscalls.flat().map(String).join('');
  }
}

const frame = (text: string) => Buffer.from(text);

function writer(sink: Sink, options: { chunked?: boolean; maxBufferedBytes?: number } = {}) {
  const overflows: number[] = [];
  const streamWriter = new StreamWriter(sink, {
    chunked: options.chunked ?? false,
    maxBufferedBytes: options.maxBufferedBytes ?? 1_000_000,
    onOverflow: (backlog) => overflows.push(backlog),
  });
  return { writer: streamWriter, overflows };
}

describe('StreamWriter', () => {
  it('writes at once to an idle stream, and everything sent while that write is in flight together in one write', () => {
    const sink = new HeldSink();
    const { writer: w } = writer(sink);
    expect(w.send(new Payload([frame('id: 1\n\n')]))).toBe(true);
    expect(sink.syscalls).toHaveLength(1);

    // Many frames while the first write is in flight (the same tick, or a client that reads slowly): none goes out yet.
    const waiting = Array.from({ length: 49 }, (_, i) => frame(`id: ${i + 2}\n\n`));
    for (const bytes of waiting) w.send(new Payload([bytes]));
    expect(sink.syscalls).toHaveLength(1);
    expect(w.backlog).toBe('id: 1\n\n'.length + waiting.reduce((sum, bytes) => sum + bytes.length, 0));

    // The first write completes: the 49 waiting frames go out in one write, in order.
    sink.take();
    expect(sink.syscalls).toHaveLength(2);
    expect(sink.syscalls[1]).toHaveLength(49);
    expect(sink.text()).toBe(Array.from({ length: 50 }, (_, i) => `id: ${i + 1}\n\n`).join(''));

    // Once that is taken too, the stream is idle again: the next frame goes out at once.
    sink.take();
    expect(w.idle).toBe(true);
    w.send(new Payload([frame('id: 51\n\n')]));
    expect(sink.syscalls).toHaveLength(3);
  });

  it('writes several payloads given together in one write, and behind a write in flight with what else waits', () => {
    const sink = new HeldSink();
    const { writer: w } = writer(sink, { chunked: true });
    const [a, b, c] = ['id: 1\n\n', 'id: 2\n\n', 'id: 3\n\n'].map((text) => new Payload([frame(text)]));
    expect(w.sendAll([a!, b!])).toBe(true);
    // One system call carrying both shared buffers, each its own chunk.
    expect(sink.syscalls).toEqual([[a!.bytes(true), b!.bytes(true)]]);
    expect(sink.syscalls[0]![0]).toBe(a!.bytes(true));

    w.sendAll([c!]);
    w.sendAll([a!, b!]);
    expect(sink.syscalls).toHaveLength(1);
    sink.take();
    expect(sink.syscalls[1]).toEqual([c!.bytes(true), a!.bytes(true), b!.bytes(true)]);
  });

  it('hands every stream the same bytes: a payload is joined and framed once, whatever the number of streams', () => {
    const payload = new Payload([frame('id: 1\nevent: job\ndata: {}\n\n'), frame('id: 2\nevent: job\ndata: {}\n\n')]);
    const chunkedSinks = [new HeldSink(), new HeldSink(), new HeldSink()];
    for (const sink of chunkedSinks) writer(sink, { chunked: true }).writer.send(payload);
    const plainSink = new HeldSink();
    writer(plainSink, { chunked: false }).writer.send(payload);

    const [first, ...others] = chunkedSinks.map((sink) => sink.syscalls[0]![0]!);
    for (const other of others) expect(other).toBe(first); // the same Buffer, not an equal one
    const body = 'id: 1\nevent: job\ndata: {}\n\nid: 2\nevent: job\ndata: {}\n\n';
    // HTTP/1.1: one chunk of the chunked transfer coding; HTTP/1.0: the frames as they are.
    expect(String(first)).toBe(`${body.length.toString(16)}\r\n${body}\r\n`);
    expect(plainSink.text()).toBe(body);
  });

  it('drops a stream whose client stops reading once its unsent bytes pass the bound, and sends it nothing more', () => {
    const sink = new HeldSink();
    const { writer: w, overflows } = writer(sink, { maxBufferedBytes: 1_000 });
    const hundredBytes = new Payload([Buffer.alloc(100, 'x')]);
    // The client never reads. Each send is judged on what is unsent before it: eleven go (the last
    // at exactly 1,000), the twelfth finds 1,100 unsent.
    for (let i = 0; i < 11; i++) expect(w.send(hundredBytes)).toBe(true);
    expect(overflows).toEqual([]);
    expect(w.send(hundredBytes)).toBe(false);
    expect(overflows).toEqual([1_100]);
    // Refused from then on, without asking again.
    expect(w.send(hundredBytes)).toBe(false);
    expect(overflows).toEqual([1_100]);
    expect(w.backlog).toBe(1_100);
  });

  it('never drops a client that keeps up, whatever the size of one burst', () => {
    const sink = new HeldSink();
    const { writer: w, overflows } = writer(sink, { maxBufferedBytes: 1_000 });
    // A burst far past the bound is judged on what was unsent before it (nothing), so it goes.
    expect(w.send(new Payload([Buffer.alloc(50_000, 'x')]))).toBe(true);
    sink.take();
    expect(w.send(new Payload([Buffer.alloc(50_000, 'y')]))).toBe(true);
    expect(overflows).toEqual([]);
  });

  it('tells a replay when everything sent so far has been taken', async () => {
    const sink = new HeldSink();
    const { writer: w } = writer(sink);
    w.send(new Payload([frame('a')]));
    w.send(new Payload([frame('b')]));
    let idle = false;
    const waited = w.whenIdle().then(() => (idle = true));
    sink.take(); // 'a' taken, 'b' goes out
    await Promise.resolve();
    expect(idle).toBe(false);
    sink.take(); // 'b' taken
    await waited;
    expect(idle).toBe(true);
  });

  it('sends nothing more once the stream has ended or its socket failed, and wakes whoever waits', async () => {
    const sink = new HeldSink();
    const { writer: w } = writer(sink);
    w.send(new Payload([frame('a')]));
    w.send(new Payload([frame('b')]));
    const waited = w.whenIdle();
    sink.fail();
    await waited;
    expect(w.send(new Payload([frame('c')]))).toBe(false);
    expect(sink.text()).toBe('a');

    const other = new HeldSink();
    const { writer: ended } = writer(other);
    ended.send(new Payload([frame('a')]));
    ended.send(new Payload([frame('b')]));
    ended.end();
    other.take();
    expect(ended.send(new Payload([frame('c')]))).toBe(false);
    expect(other.text()).toBe('a');
    await ended.whenIdle();
  });
});
