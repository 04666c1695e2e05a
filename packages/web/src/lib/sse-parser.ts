/** One dispatched server-sent event (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation). */
export interface SseEvent {
  /** The `id:` in force for this event (the last one seen on the stream), or null. */
  id: string | null;
  event: string;
  data: string;
}

/**
 * Incremental text/event-stream parser. Feed it decoded text as it arrives; it returns the events
 * completed by that chunk. Comments (heartbeats) produce no event; callers watch raw bytes for liveness.
 */
export class SseParser {
  private buffer = '';
  private lastId: string | null = null;
  private eventType = '';
  private data: string[] = [];
  private sawCr = false;

  feed(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    // A CRLF split across chunks: the LF belongs to the CR already handled.
    if (this.sawCr && text.startsWith('\n')) text = text.slice(1);
    this.sawCr = text.endsWith('\r');
    this.buffer += text;
    let start = 0;
    for (;;) {
      const match = /\r\n|\r|\n/g;
      match.lastIndex = start;
      const found = match.exec(this.buffer);
      if (!found) break;
      // A lone CR at the very end might be the first half of CRLF; wait for more input.
      if (found[0] === '\r' && found.index === this.buffer.length - 1) {
        this.processLine(this.buffer.slice(start, found.index), out);
        start = this.buffer.length;
        break;
      }
      this.processLine(this.buffer.slice(start, found.index), out);
      start = found.index + found[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private processLine(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        out.push({ id: this.lastId, event: this.eventType || 'message', data: this.data.join('\n') });
      }
      this.data = [];
      this.eventType = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        break;
    }
  }
}
