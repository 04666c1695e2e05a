import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../../metrics.js';
import { clientOf } from './rate-limits.js';
import { Refusal } from './refusal.js';

/** A refused list is tried again soon: its own lists in flight finish within moments. */
const RETRY_AFTER_MS = 1_000;

/**
 * LIST_ROWS_PER_CLIENT: the rows one client may have in flight in `GET /jobs` at once (the sum of
 * the `limit`s of its lists not yet answered, through serialisation and sending). A list costs
 * the process about its size in CPU and memory, and the event loop is shared: one client with 32
 * lists of 1,000 in flight made every other client's request wait seconds behind them. Past its
 * share a client gets 429 at once; one list is always let through, whatever its size.
 */
export class ReadShare {
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly maxRows: number,
    private readonly metrics: Pick<Metrics, 'requestsRefused'>,
  ) {}

  /** Counts `rows` for the request's client until its answer is sent or the connection goes; throws a 429 Refusal past the share. */
  admit(request: FastifyRequest, reply: FastifyReply, rows: number): void {
    const client = clientOf(request);
    const held = this.inFlight.get(client) ?? 0;
    if (held > 0 && held + rows > this.maxRows) {
      this.metrics.requestsRefused.inc({ reason: 'list_rows_per_client' });
      throw new Refusal(
        429,
        `Too many large lists in flight from this client (at most ${this.maxRows} rows at once); try again shortly.`,
        RETRY_AFTER_MS,
      );
    }
    this.inFlight.set(client, held + rows);
    reply.raw.once('close', () => {
      const left = (this.inFlight.get(client) ?? rows) - rows;
      if (left <= 0) this.inFlight.delete(client);
      else this.inFlight.set(client, left);
    });
  }
}
