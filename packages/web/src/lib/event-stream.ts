import { EVENT_READY } from '@simmer/contracts/constants';
import { parseRetryAfter } from './api-client';
import { backoffDelay, type BackoffOptions } from '@simmer/contracts/backoff';
import { SseParser, type SseEvent } from '@simmer/contracts/sse';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'stopped';

export interface StreamState {
  status: StreamStatus;
  /** Attempts in a row that ended without the stream becoming live; drives backoff and the polling fallback. */
  failures: number;
  /** The last sequence number applied, or null before the first. */
  lastSeq: number | null;
}

export interface EventStreamOptions {
  url: string;
  /**
   * Events as they arrive, in order. `seq` is the numeric `id:` of the event, when it has one;
   * `previousSeq` the resume point before it (for gap detection).
   */
  onEvent: (event: SseEvent, seq: number | null, previousSeq: number | null) => void;
  onStateChange?: (state: StreamState) => void;
  isOnline: () => boolean;
  /** Calls back on every online/offline change; returns an unsubscribe. */
  subscribeOnline: (listener: (online: boolean) => void) => () => void;
  /** A stream that sends nothing (not even a heartbeat) for this long is treated as dead. */
  idleTimeoutMs?: number;
  backoff?: BackoffOptions;
  fetch?: typeof fetch;
  random?: () => number;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 5_000 };

/**
 * A resumable server-sent-events connection over fetch.
 *
 * Not EventSource, on purpose: EventSource hides the server's comment heartbeats (so a silently dead
 * connection cannot be told from a quiet one), retries at a fixed interval without jitter, and gives up
 * for good on a non-200 answer. Here every (re)connect asks for `?after=<lastSeq>` (plus
 * `Last-Event-ID`), so the server replays what was missed, even across a server restart. A refusal
 * (429 too many streams, 503 busy) waits as its Retry-After says, and counts as failing enough for
 * polling to stand in meanwhile.
 */
export class EventStream {
  private readonly opts: Required<Omit<EventStreamOptions, 'onStateChange'>> & Pick<EventStreamOptions, 'onStateChange'>;
  private state: StreamState;
  private abort: AbortController | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastByteAt = 0;
  private unsubscribeOnline: (() => void) | null = null;
  private generation = 0;

  constructor(options: EventStreamOptions, initialSeq: number | null) {
    this.opts = {
      idleTimeoutMs: 40_000,
      backoff: DEFAULT_BACKOFF,
      fetch: globalThis.fetch.bind(globalThis),
      random: Math.random,
      ...options,
    };
    this.state = { status: 'stopped', failures: 0, lastSeq: initialSeq };
  }

  get snapshot(): StreamState {
    return this.state;
  }

  start(): void {
    if (this.state.status !== 'stopped') return;
    this.unsubscribeOnline = this.opts.subscribeOnline((online) => {
      if (online) {
        // The connection is back: try at once, with a little jitter so a fleet of tabs does not arrive together.
        this.update({ failures: 0 });
        this.scheduleConnect(Math.floor(this.opts.random() * 1_000));
      } else {
        this.disconnect();
        this.clearRetry();
        this.update({ status: 'offline' });
      }
    });
    this.watchdog = setInterval(() => this.checkIdle(), Math.min(5_000, this.opts.idleTimeoutMs / 2));
    this.connect();
  }

  stop(): void {
    this.unsubscribeOnline?.();
    this.unsubscribeOnline = null;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    this.clearRetry();
    this.disconnect();
    this.update({ status: 'stopped' });
  }

  /** Moves the resume point, e.g. after a `reset` told us where the server's history starts. */
  setLastSeq(seq: number): void {
    this.update({ lastSeq: seq });
  }

  private update(patch: Partial<StreamState>): void {
    const next = { ...this.state, ...patch };
    if (next.status === this.state.status && next.failures === this.state.failures && next.lastSeq === this.state.lastSeq) return;
    this.state = next;
    this.opts.onStateChange?.(next);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private disconnect(): void {
    this.generation += 1;
    this.abort?.abort();
    this.abort = null;
  }

  private scheduleConnect(delayMs: number): void {
    this.clearRetry();
    this.disconnect();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delayMs);
  }

  private checkIdle(): void {
    if (!this.abort) return;
    if (Date.now() - this.lastByteAt > this.opts.idleTimeoutMs) this.fail();
  }

  /** `retryAfterMs`: the server refused the stream (429/503) and said when to come back. */
  private fail(retryAfterMs: number | null = null): void {
    if (this.state.status === 'stopped') return;
    this.disconnect();
    // A refusal counts as two failures at once, so polling stands in while we wait as told.
    const failures = retryAfterMs === null ? this.state.failures + 1 : Math.max(this.state.failures + 1, 2);
    if (!this.opts.isOnline()) {
      this.update({ status: 'offline', failures });
      return;
    }
    this.update({ status: 'reconnecting', failures });
    // At least a short pause, so a server that accepts and instantly drops cannot make us spin.
    const backoff = 250 + backoffDelay(failures, this.opts.backoff, this.opts.random);
    this.scheduleConnect(retryAfterMs === null ? backoff : Math.max(backoff, retryAfterMs + Math.floor(this.opts.random() * 1_000)));
  }

  private connect(): void {
    if (!this.opts.isOnline()) {
      this.update({ status: 'offline' });
      return;
    }
    this.disconnect();
    const generation = this.generation;
    const abort = new AbortController();
    this.abort = abort;
    this.lastByteAt = Date.now();
    this.update({ status: this.state.failures === 0 && this.state.status !== 'live' ? 'connecting' : 'reconnecting' });
    void this.run(abort, generation);
  }

  private async run(abort: AbortController, generation: number): Promise<void> {
    const { lastSeq } = this.state;
    const url = lastSeq === null ? this.opts.url : `${this.opts.url}?after=${lastSeq}`;
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (lastSeq !== null) headers['Last-Event-ID'] = String(lastSeq);
    try {
      const response = await this.opts.fetch(url, { headers, cache: 'no-store', signal: abort.signal });
      if (response.status === 429 || response.status === 503) {
        await response.body?.cancel().catch(() => undefined);
        if (generation !== this.generation) return;
        this.fail(parseRetryAfter(response.headers.get('retry-after')) ?? this.opts.backoff.maxMs);
        return;
      }
      if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
      if (generation !== this.generation) return;
      this.update({ status: 'live' });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { done, value } = await reader.read();
        if (generation !== this.generation) return;
        if (done) break;
        this.lastByteAt = Date.now();
        for (const event of parser.feed(value)) {
          this.dispatch(event);
          if (generation !== this.generation) return;
        }
      }
      throw new Error('events: the stream ended');
    } catch {
      if (generation !== this.generation) return;
      this.fail();
    }
  }

  private dispatch(event: SseEvent): void {
    const seq = event.id !== null && /^\d+$/.test(event.id) ? Number(event.id) : null;
    // Only a stream that got through its replay counts as healthy; one that is accepted and then
    // dropped again and again keeps backing off.
    if (event.event === EVENT_READY) this.update({ failures: 0 });
    this.opts.onEvent(event, seq, this.state.lastSeq);
    if (seq !== null && (this.state.lastSeq === null || seq > this.state.lastSeq)) this.update({ lastSeq: seq });
  }
}
