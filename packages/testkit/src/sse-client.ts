/**
 * A small Server-Sent Events client for tests and benchmarks, on node:http. It parses the stream
 * with the page's own parser (@simmer/contracts/sse) and never reconnects by itself: tests
 * reconnect explicitly, with `lastEventId`.
 */

import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { SseParser, type SseEvent as ParsedSseEvent } from '@simmer/contracts/sse';

/** A dispatched event (see @simmer/contracts/sse for `id`), with when it was complete. */
export interface SseEvent extends ParsedSseEvent {
  /** When the event was complete, in ms since the epoch with sub-millisecond precision. */
  receivedAt: number;
}

export class SseHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headers: IncomingHttpHeaders = {},
  ) {
    super(`GET event stream answered ${status}: ${body.slice(0, 500)}`);
    this.name = 'SseHttpError';
  }
}

export interface SseConnectOptions {
  /** Sent as `Last-Event-ID` to resume after that event. */
  lastEventId?: string;
  headers?: Record<string, string>;
  /**
   * Receives each event as it completes. When set, events are not also queued for
   * `take`/iteration, so a long-running listener does not grow memory.
   */
  onEvent?: (event: SseEvent) => void;
  onComment?: (text: string) => void;
  /** How long to wait for the response headers; default 10 s. */
  connectTimeoutMs?: number;
  /** Connect from this local address (e.g. 127.0.0.2), to stand for a distinct client. */
  localAddress?: string;
}

export interface SseStream extends AsyncIterable<SseEvent> {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The last `id:` received, to pass as `lastEventId` when reconnecting. */
  readonly lastEventId: string;
  /**
   * Resolves with the next `count` events; rejects after `timeoutMs` (default 10 s) or when the
   * stream ends first, saying how many arrived.
   */
  take(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Settles when the stream is over: null after an orderly end or `close()`, the error otherwise. */
  readonly closed: Promise<Error | null>;
  /** Drops the connection; iteration then ends. */
  close(): void;
}

/**
 * Opens an event stream and resolves once the server has answered 200.
 *
 * @throws SseHttpError when the server answers another status.
 */
export function connectSse(url: string | URL, options: SseConnectOptions = {}): Promise<SseStream> {
  const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache', ...options.headers };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;

  return new Promise((resolve, reject) => {
    // agent: false gives every stream its own connection, as separate browsers would have.
    const req = http.get(url, { headers, agent: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const connectTimer = setTimeout(() => {
      req.destroy(new Error(`no answer from ${String(url)} within ${options.connectTimeoutMs ?? 10_000} ms`));
    }, options.connectTimeoutMs ?? 10_000);
    req.once('error', (error) => {
      clearTimeout(connectTimer);
      reject(error);
    });

    req.once('response', (res) => {
      clearTimeout(connectTimer);
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => reject(new SseHttpError(res.statusCode ?? 0, body, res.headers)));
        res.on('error', () => reject(new SseHttpError(res.statusCode ?? 0, body, res.headers)));
        return;
      }

      const queue: SseEvent[] = [];
      const wakers = new Set<() => void>();
      const wake = (): void => {
        for (const waker of [...wakers]) waker();
      };
      let ended = false;
      let failure: Error | null = null;
      let closedByUs = false;
      let settleClosed: (value: Error | null) => void = () => {};
      const closed = new Promise<Error | null>((settle) => (settleClosed = settle));

      const parser = new SseParser(options.onComment);
      const take = (parsed: ParsedSseEvent[]): void => {
        if (parsed.length === 0) return;
        const receivedAt = performance.timeOrigin + performance.now();
        for (const event of parsed) {
          const timed = { ...event, receivedAt };
          if (options.onEvent) options.onEvent(timed);
          else queue.push(timed);
        }
        wake();
      };

      const finish = (error: Error | null): void => {
        if (ended) return;
        ended = true;
        failure = closedByUs ? null : error;
        settleClosed(failure);
        wake();
      };
      res.on('data', (chunk: string) => take(parser.feed(chunk)));
      res.on('end', () => finish(null));
      res.on('error', (error) => finish(error));
      res.on('close', () => finish(res.complete ? null : new Error('event stream closed before it ended')));
      req.on('error', (error) => finish(error));

      /** Waits for a queued event, null when the stream is over. */
      const nextEvent = (deadline: number): Promise<SseEvent | null> =>
        new Promise((resolveNext, rejectNext) => {
          const attempt = (): boolean => {
            const event = queue.shift();
            if (event) {
              resolveNext(event);
              return true;
            }
            if (ended) {
              if (failure) rejectNext(failure);
              else resolveNext(null);
              return true;
            }
            return false;
          };
          if (attempt()) return;
          const timer = Number.isFinite(deadline)
            ? setTimeout(
                () => {
                  wakers.delete(waker);
                  rejectNext(new Error('timed out waiting for an event'));
                },
                Math.max(0, deadline - Date.now()),
              )
            : null;
          const waker = (): void => {
            if (attempt()) {
              wakers.delete(waker);
              if (timer) clearTimeout(timer);
            }
          };
          wakers.add(waker);
        });

      resolve({
        status: res.statusCode,
        headers: res.headers,
        get lastEventId() {
          return parser.lastEventId;
        },
        closed,
        async take(count: number, timeoutMs = 10_000): Promise<SseEvent[]> {
          const deadline = Date.now() + timeoutMs;
          const taken: SseEvent[] = [];
          while (taken.length < count) {
            let event: SseEvent | null;
            try {
              event = await nextEvent(deadline);
            } catch (error) {
              queue.unshift(...taken);
              throw new Error(`got ${taken.length} of ${count} events: ${(error as Error).message}`, { cause: error });
            }
            if (event === null) {
              queue.unshift(...taken);
              throw new Error(`got ${taken.length} of ${count} events before the stream ended`);
            }
            taken.push(event);
          }
          return taken;
        },
        async *[Symbol.asyncIterator]() {
          for (;;) {
            const event = await nextEvent(Infinity);
            if (event === null) return;
            yield event;
          }
        },
        close(): void {
          closedByUs = true;
          req.destroy();
          finish(null);
        },
      });
    });
  });
}
