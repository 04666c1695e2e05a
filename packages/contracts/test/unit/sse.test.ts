import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/sse.js';

describe('SseParser', () => {
  const text = '\uFEFF: hi\r\nid: 1\r\nevent: job\r\ndata: x\r\ndata: y\r\n\r\nid: 2\rdata: z\r\rdata: no-id\n\nid\ndata: blank-id\n\n';
  const expected = [
    { id: '1', event: 'job', data: 'x\ny' },
    { id: '2', event: 'message', data: 'z' },
    { id: '2', event: 'message', data: 'no-id' },
    { id: '', event: 'message', data: 'blank-id' },
  ];

  const parse = (pieces: string[]): { id: string | null; event: string; data: string }[] => {
    const events: { id: string | null; event: string; data: string }[] = [];
    const parser = new SseParser();
    for (const piece of pieces) events.push(...parser.feed(piece));
    return events;
  };

  it('gives the same events wherever the text is cut in two', () => {
    for (let cut = 0; cut <= text.length; cut += 1) {
      expect(parse([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
    }
  });

  it('gives the same events when fed one character at a time', () => {
    expect(parse([...text])).toEqual(expected);
  });

  it('does not deliver an event without data, nor one left unterminated', () => {
    expect(parse(['event: job\n\ndata: unfinished\n'])).toEqual([]);
  });

  it('parses events with ids, types and multi-line data; ignores comments', () => {
    const parser = new SseParser();
    const events = parser.feed('retry: 2000\n\n: heartbeat\n\nid: 7\nevent: job\ndata: {"a":1}\n\nevent: ready\ndata: x\ndata: y\n\n');
    expect(events).toEqual([
      { id: '7', event: 'job', data: '{"a":1}' },
      { id: '7', event: 'ready', data: 'x\ny' },
    ]);
  });

  it('joins events split across chunks at any point, CRLF included', () => {
    const text = 'id: 1\r\nevent: job\r\ndata: {"id":"a"}\r\n\r\nid: 2\r\nevent: job\r\ndata: {"id":"b"}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
      expect(events.map((e) => [e.id, e.data])).toEqual([
        ['1', '{"id":"a"}'],
        ['2', '{"id":"b"}'],
      ]);
    }
  });

  it('does not dispatch an event until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.feed('id: 3\nevent: job\ndata: {}\n')).toEqual([]);
    expect(parser.feed('\n')).toHaveLength(1);
  });

  it('keeps the last id in force across events, as browsers do, and reports comments', () => {
    const comments: string[] = [];
    const parser = new SseParser((comment) => comments.push(comment));
    expect(parser.lastEventId).toBe('');
    const events = parser.feed(': heartbeat\n\nid: 5\nevent: ready\ndata: {}\n\nevent: job\ndata: {}\n\n');
    expect(events.map((event) => event.id)).toEqual(['5', '5']);
    expect(parser.lastEventId).toBe('5');
    expect(comments).toEqual(['heartbeat']);
  });
});
