import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectSse, SseHttpError, type SseEvent } from '../../src/sse-client.js';

/** A stream the test writes by hand, to control exactly how the bytes are cut. */
interface Stream {
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

describe('SSE client', () => {
  let server: http.Server;
  let url: string;
  let streams: Stream[];
  let nextStream: (stream: Stream) => void;

  const accepted = (): Promise<Stream> => new Promise((resolve) => (nextStream = resolve));

  /** Writes pieces one after another, each flushed to the socket before the next. */
  const writePieces = async (res: http.ServerResponse, pieces: (string | Buffer)[]): Promise<void> => {
    for (const piece of pieces) {
      await new Promise<void>((resolve) => res.write(piece, () => resolve()));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  beforeEach(async () => {
    streams = [];
    server = http.createServer((req, res) => {
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/problem+json' }).end('{"title":"Not Found"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      const stream = { req, res };
      streams.push(stream);
      nextStream(stream);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  });

  afterEach(async () => {
    for (const { res } of streams) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads id, event and data fields and skips comments', async () => {
    const arriving = accepted();
    const comments: string[] = [];
    const stream = await connectSse(url, { onComment: (text) => comments.push(text) });
    const { res } = await arriving;
    res.write(': heartbeat\n\nid: 7\nevent: job\ndata: {"id":"a"}\n\ndata: plain\n\n');
    const events = await stream.take(2);
    expect(events.map(({ id, event, data }) => ({ id, event, data }))).toEqual([
      { id: '7', event: 'job', data: '{"id":"a"}' },
      { id: '7', event: 'message', data: 'plain' },
    ]);
    expect(comments).toEqual(['heartbeat']);
    expect(stream.lastEventId).toBe('7');
    stream.close();
  });

  it('joins multi-line data with newlines', async () => {
    const arriving = accepted();
    const stream = await connectSse(url);
    const { res } = await arriving;
    res.write('event: job\ndata: first\ndata:second\ndata\ndata:  indented\n\n');
    const [event] = await stream.take(1);
    expect(event?.data).toBe('first\nsecond\n\n indented');
    stream.close();
  });

  it('reassembles events split across chunks, including a CRLF and a UTF-8 character cut in half', async () => {
    const arriving = accepted();
    const stream = await connectSse(url);
    const { res } = await arriving;
    const pizza = Buffer.from('🍕', 'utf8');
    await writePieces(res, [
      'i',
      'd: 1\r',
      '\nevent: jo',
      'b\r\ndata: {"a"',
      ':1}\r\n',
      '\r\n',
      Buffer.concat([Buffer.from('id: 2\ndata: '), pizza.subarray(0, 2)]),
      Buffer.concat([pizza.subarray(2), Buffer.from('\n')]),
      '\n',
    ]);
    const events = await stream.take(2);
    expect(events.map(({ id, event, data }) => ({ id, event, data }))).toEqual([
      { id: '1', event: 'job', data: '{"a":1}' },
      { id: '2', event: 'message', data: '🍕' },
    ]);
    stream.close();
  });

  it('sends Last-Event-ID when resuming', async () => {
    const arriving = accepted();
    const stream = await connectSse(url, { lastEventId: '41' });
    const { req } = await arriving;
    expect(req.headers['last-event-id']).toBe('41');
    expect(req.headers.accept).toBe('text/event-stream');
    stream.close();
  });

  it('rejects with the status and body when the server does not answer 200', async () => {
    const failure = await connectSse(url.replace('/events', '/missing')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SseHttpError);
    expect(failure).toMatchObject({ status: 404, body: '{"title":"Not Found"}' });
  });

  it('ends iteration when the server ends the stream', async () => {
    const arriving = accepted();
    const stream = await connectSse(url);
    const { res } = await arriving;
    res.end('data: one\n\ndata: two\n\n');
    const seen: string[] = [];
    for await (const event of stream) seen.push(event.data);
    expect(seen).toEqual(['one', 'two']);
    expect(await stream.closed).toBeNull();
  });

  it('reports a connection dropped by the server as an error', async () => {
    const arriving = accepted();
    const stream = await connectSse(url);
    const { res } = await arriving;
    res.destroy();
    expect(await stream.closed).toBeInstanceOf(Error);
    await expect(stream.take(1)).rejects.toThrow(/got 0 of 1 events/);
  });

  it('ends iteration quietly on close()', async () => {
    const arriving = accepted();
    const stream = await connectSse(url);
    await arriving;
    const iterating = (async () => {
      const seen: SseEvent[] = [];
      for await (const event of stream) seen.push(event);
      return seen;
    })();
    stream.close();
    expect(await iterating).toEqual([]);
    expect(await stream.closed).toBeNull();
  });

  it('says how many events arrived when take times out', async () => {
    const arriving = accepted();
    const stream = await connectSse(url);
    const { res } = await arriving;
    res.write('data: only\n\n');
    await expect(stream.take(2, 200)).rejects.toThrow(/got 1 of 2 events/);
    expect((await stream.take(1))[0]?.data).toBe('only');
    stream.close();
  });

  it('delivers to onEvent as events complete', async () => {
    const arriving = accepted();
    const received: string[] = [];
    let notify: () => void = () => {};
    const twoArrived = new Promise<void>((resolve) => (notify = resolve));
    const stream = await connectSse(url, {
      onEvent: (event) => {
        received.push(event.data);
        if (received.length === 2) notify();
      },
    });
    const { res } = await arriving;
    res.write('data: a\n\ndata: b\n\n');
    await twoArrived;
    expect(received).toEqual(['a', 'b']);
    stream.close();
  });
});
