/**
 * The one text/event-stream parser, shared by the page and the testkit: the WHATWG HTML standard's
 * "event stream interpretation" (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * Any line ending, fields split across chunks of any size, multi-line data, a leading BOM, comments.
 */

/** One dispatched event. */
export interface SseEvent {
  /**
   * The last event id in force when the event was dispatched: the latest `id:` seen on the stream,
   * kept across events (a browser's `MessageEvent.lastEventId`); null before any. Simmer's server
   * sends `id:` with every event, so this is the event's own sequence number.
   */
  id: string | null;
  /** The `event:` field, `message` when absent. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
}

/** Feed it decoded text as it arrives; it returns the events that text completed. */
export class SseParser {
  private pending = '';
  private skipLeadingLf = false;
  private atStart = true;
  private lastId: string | null = null;
  private event = '';
  private data: string[] = [];

  /** `onComment` hears each comment line (heartbeats), without its colon. */
  constructor(private readonly onComment: (text: string) => void = () => {}) {}

  /** The last `id:` seen on the stream ('' before any): what a reconnect sends as `Last-Event-ID`. */
  get lastEventId(): string {
    return this.lastId ?? '';
  }

  feed(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    if (chunk.length === 0) return out;
    let text = chunk;
    if (this.atStart) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A CR ending the previous chunk and an LF starting this one are one line break.
    if (this.skipLeadingLf && text.startsWith('\n')) text = text.slice(1);
    this.skipLeadingLf = false;
    const buffer = this.pending + text;
    const lineBreak = /\r\n|\r|\n/g;
    let start = 0;
    for (let found = lineBreak.exec(buffer); found; found = lineBreak.exec(buffer)) {
      // A CR at the very end may be half of a CRLF: take the line now, drop a leading LF next time.
      if (found[0] === '\r' && found.index === buffer.length - 1) this.skipLeadingLf = true;
      this.line(buffer.slice(start, found.index), out);
      start = found.index + found[0].length;
    }
    this.pending = buffer.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      const { event, data } = this;
      this.event = '';
      this.data = [];
      // As in browsers, an event without data is not delivered.
      if (data.length > 0) out.push({ id: this.lastId, event: event || 'message', data: data.join('\n') });
      return;
    }
    if (line.startsWith(':')) {
      this.onComment(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    // `retry:` and unknown fields are ignored: reconnecting is the caller's.
  }
}
