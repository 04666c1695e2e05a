import type { Metrics } from '../../metrics.js';
import { Refusal } from './refusal.js';

/** Retry-After for a refused stream: a slot frees when another stream ends. */
const RETRY_AFTER_MS = 10_000;

export interface StreamCapsOptions {
  /** EVENTS_MAX_STREAMS: open streams in this process; past it, 503. */
  maxStreams: number;
  /** EVENTS_MAX_STREAMS_PER_CLIENT: open streams per client address; past it, 429. */
  maxStreamsPerClient: number;
  metrics: Pick<Metrics, 'requestsRefused'>;
}

/**
 * The caps on open `/events` streams: each one holds a socket and a place in every fan-out for as
 * long as it lasts, so one process and one client address may hold only so many.
 */
export class StreamCaps {
  private open = 0;
  private readonly perClient = new Map<string, number>();

  constructor(private readonly options: StreamCapsOptions) {}

  /** Streams open now. */
  get size(): number {
    return this.open;
  }

  /**
   * Takes a slot for a stream from `client`, or throws a Refusal (503 for the process, 429 for the
   * client). The returned function gives the slot back; calling it again does nothing.
   */
  take(client: string): () => void {
    const { maxStreams, maxStreamsPerClient, metrics } = this.options;
    if (this.open >= maxStreams) {
      metrics.requestsRefused.inc({ reason: 'streams_per_process' });
      throw new Refusal(503, 'This server holds as many live streams as it can; try again shortly.', RETRY_AFTER_MS);
    }
    const held = this.perClient.get(client) ?? 0;
    if (held >= maxStreamsPerClient) {
      metrics.requestsRefused.inc({ reason: 'streams_per_client' });
      throw new Refusal(429, `At most ${maxStreamsPerClient} live streams per client; close one first.`, RETRY_AFTER_MS);
    }
    this.open += 1;
    this.perClient.set(client, held + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.open -= 1;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left === 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
    };
  }
}
