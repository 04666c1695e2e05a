import type { FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../clock.js';
import type { Metrics } from '../../metrics.js';
import { clientOf } from './rate-limits.js';
import { Refusal } from './refusal.js';

/** Clients remembered; one forgotten starts again with a full share. */
const CLIENTS_TRACKED = 100_000;

interface Share {
  rows: number;
  at: number;
}

/**
 * LIST_ROWS_PER_SECOND: the `GET /jobs` rows one client may read per second, with twice that at
 * once after a quiet spell (a token bucket of rows per client). A list costs the process about
 * its size in CPU, and the event loop is shared: one client reading /jobs?limit=1000 32 at a time
 * kept every other client's requests waiting seconds behind its lists. A list is charged its
 * `limit` before it is read and given back what it did not return (a 304 is not charged); past its share a client gets
 * 429 with Retry-After, at once and cheaply. A list is never refused to a client with a full share.
 */
export class ReadShare {
  private readonly shares = new LRUCache<string, Share>({ max: CLIENTS_TRACKED });
  private readonly burst: number;

  constructor(
    private readonly rowsPerSecond: number,
    private readonly clock: Clock,
    private readonly metrics: Pick<Metrics, 'requestsRefused'>,
  ) {
    this.burst = 2 * rowsPerSecond;
  }

  /** Charges `rows` to the request's client; throws a 429 Refusal past its share. Returns the client, for `refund`. */
  charge(request: FastifyRequest, rows: number): string {
    const client = clientOf(request);
    const now = this.clock.now();
    const share = this.shares.get(client) ?? { rows: this.burst, at: now };
    share.rows = Math.min(this.burst, share.rows + ((now - share.at) * this.rowsPerSecond) / 1000);
    share.at = now;
    if (share.rows < rows && share.rows < this.burst) {
      this.shares.set(client, share);
      this.metrics.requestsRefused.inc({ reason: 'list_rows_per_client' });
      const waitMs = ((rows - share.rows) * 1000) / this.rowsPerSecond;
      throw new Refusal(429, `Too many rows listed by this client: at most ${this.rowsPerSecond} a second. Try again shortly.`, waitMs);
    }
    share.rows -= rows;
    this.shares.set(client, share);
    return client;
  }

  /** Gives back rows charged but not returned (a short last page). */
  refund(client: string, rows: number): void {
    const share = this.shares.get(client);
    if (share && rows > 0) share.rows = Math.min(this.burst, share.rows + rows);
  }
}
