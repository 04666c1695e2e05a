/** One dedicated connection that LISTENs for commit notifications and survives database outages. */

import pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelay } from '@simmer/contracts/backoff';

/**
 * Commits that made jobs claimable (creates, released claims): "<first change number> <earliest
 * runAt>". Every process listens: workers to wake, API processes to follow the feed. Its name is
 * from when every commit signalled here, as releases before this one still do.
 */
export const DUE_CHANNEL = 'simmer_changes';

/**
 * Every other commit that changes what a client sees (claims, outcomes, removals): "<first change
 * number>". Only a process that follows the feed listens, so a drain's thousands of commits wake
 * no worker (three idle listeners raised a drain's database CPU per job by 3–12 %).
 */
export const FEED_CHANNEL = 'simmer_feed';

/**
 * Claims ended by a cancel or a delete: "<job id> <claim token>", one notification per claim.
 * Every process listens, so the worker holding the claim stops its work at once (rare: only
 * actions on running jobs signal here).
 */
export const CLAIMS_ENDED_CHANNEL = 'simmer_claims_ended';

export interface ChangeListenerOptions {
  databaseUrl: string;
  logger: Logger;
  /** A committed transaction's notification on a channel listened to, from any process using the database. */
  onNotification(payload: string, channel: string): void;
  /** The connection is (again) listening: notifications sent while it was down were lost. */
  onConnected(): void;
  /** How often the connection is checked with a round trip (a dead peer does not always close the socket). */
  healthCheckMs?: number;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;

/**
 * Keeps one LISTEN connection open until `close`: reconnects with capped exponential backoff and
 * jitter whenever it drops, and calls `onConnected` after each successful (re)connect so the owner
 * can catch up on whatever was committed meanwhile. Listens to DUE_CHANNEL and CLAIMS_ENDED_CHANNEL always, to FEED_CHANNEL
 * while asked to. Never throws into the event loop.
 */
export class ChangeListener {
  private readonly channels = new Set([DUE_CHANNEL, CLAIMS_ENDED_CHANNEL]);
  private client: pg.Client | null = null;
  private connected = false;
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private readonly healthCheckMs: number;

  constructor(private readonly options: ChangeListenerOptions) {
    this.healthCheckMs = options.healthCheckMs ?? 5_000;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Connects once; on failure keeps retrying in the background and resolves false. */
  async start(): Promise<boolean> {
    this.healthTimer = setInterval(() => void this.checkHealth(), this.healthCheckMs);
    this.healthTimer.unref();
    return this.connect();
  }

  /**
   * Starts or stops listening to the feed channel. Resolves once the connection listens as asked
   * (at once while it is down: it listens on reconnecting, and `onConnected` then tells the owner
   * to catch up); a failure drops the connection, which reconnects.
   */
  async listenToFeed(on: boolean): Promise<void> {
    if (on) this.channels.add(FEED_CHANNEL);
    else this.channels.delete(FEED_CHANNEL);
    const client = this.client;
    if (!client || !this.connected) return;
    try {
      await client.query(`${on ? 'LISTEN' : 'UNLISTEN'} ${FEED_CHANNEL}`);
    } catch (error) {
      this.dropped(client, error as Error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    const client = this.client;
    this.client = null;
    this.connected = false;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(): Promise<boolean> {
    if (this.closed) return false;
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: 'simmer-listener',
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
      query_timeout: 5_000,
    });
    // Without an 'error' listener a dropped connection would crash the process.
    client.on('error', (error) => this.dropped(client, error));
    client.on('end', () => this.dropped(client, null));
    client.on('notification', (message) => {
      if (this.channels.has(message.channel) && message.payload) this.options.onNotification(message.payload, message.channel);
    });
    this.client = client;
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      this.dropped(client, error as Error);
      return false;
    }
    if (this.closed || this.client !== client) {
      await client.end().catch(() => undefined);
      return false;
    }
    if (this.attempt > 0) this.options.logger.info({ attempts: this.attempt }, 'change listener reconnected');
    this.attempt = 0;
    this.connected = true;
    this.options.onConnected();
    return true;
  }

  private dropped(client: pg.Client, error: Error | null): void {
    if (this.client !== client) return; // an old connection's late event
    this.client = null;
    const wasConnected = this.connected;
    this.connected = false;
    client.end().catch(() => undefined);
    if (this.closed) return;
    if (wasConnected) {
      this.options.logger.warn({ err: error ?? undefined }, 'change listener lost its database connection; reconnecting');
    }
    this.attempt += 1;
    const delay = backoffDelay(this.attempt - 1, { baseMs: BACKOFF_MIN_MS, maxMs: BACKOFF_MAX_MS });
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }

  private async checkHealth(): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) return;
    try {
      await client.query('SELECT 1');
    } catch (error) {
      this.dropped(client, error as Error);
    }
  }
}
