import { describe, expect, it } from 'vitest';
import { SseParser } from './sse-parser';

describe('SseParser', () => {
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
});
