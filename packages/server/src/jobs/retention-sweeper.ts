import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock.js';
import { StoreError } from '../store/store-errors.js';
import type { JobStore } from '../store/job-store.js';

export interface RetentionSweeperOptions {
  store: JobStore;
  clock: Clock;
  logger: Logger;
  /** JOB_RETENTION_MS: settled jobs resolved longer ago are removed; 0 keeps them forever. */
  retentionMs: number;
  /** IDEMPOTENCY_KEY_TTL_MS: keys of jobs created longer ago are forgotten. */
  keyTtlMs: number;
  /** Removals per store call: each batch is one commit, so creates queue behind at most one. */
  batchSize?: number;
}

/**
 * Removes settled jobs past JOB_RETENTION_MS and forgets idempotency keys past
 * IDEMPOTENCY_KEY_TTL_MS, in small batches, yielding between them so creates are never stalled
 * behind a long sweep. It runs in every process that runs jobs; the store makes concurrent sweeps
 * safe (each job removed once). A pass runs every quarter of the shorter period (between half a
 * second and a minute), so a retention of seconds is honoured within about a second.
 */
export class RetentionSweeper {
  private timer: Timer | null = null;
  private sweeping: Promise<void> | null = null;
  private stopped = true;
  /** Set by stop(): a pass under way ends after its current batch. */
  private halted = false;
  private readonly logger: Logger;
  private readonly batchSize: number;
  readonly intervalMs: number;

  constructor(private readonly options: RetentionSweeperOptions) {
    this.logger = options.logger.child({ component: 'retention' });
    this.batchSize = options.batchSize ?? 500;
    const shortest = Math.min(options.retentionMs > 0 ? options.retentionMs : Infinity, options.keyTtlMs);
    this.intervalMs = Math.min(60_000, Math.max(500, Math.floor(shortest / 4)));
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops sweeping; waits for a pass under way to finish its batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halted = true;
    this.timer?.cancel();
    this.timer = null;
    await this.sweeping;
  }

  /** One pass: every batch that is due now. Returns how many jobs it removed and keys it forgot. */
  async sweep(): Promise<{ removed: number; keysExpired: number }> {
    const { store, clock, retentionMs, keyTtlMs } = this.options;
    const now = clock.now();
    const removed =
      retentionMs > 0 ? await this.inBatches((limit) => store.removeSettledJobs({ resolvedBefore: now - retentionMs, limit })) : 0;
    const keysExpired = await this.inBatches((limit) => store.expireIdempotencyKeys({ createdBefore: now - keyTtlMs, limit }));
    if (removed > 0 || keysExpired > 0) this.logger.info({ removed, keysExpired }, 'retention sweep');
    return { removed, keysExpired };
  }

  private async inBatches(step: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    while (!this.halted) {
      const done = await step(this.batchSize);
      total += done;
      if (done < this.batchSize) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return total;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(
      () => {
        this.sweeping = this.sweep()
          .then(() => undefined)
          .catch((error: unknown) => {
            // A store that is away or closing is tried again next time; anything else is worth a look.
            if (error instanceof StoreError) this.logger.warn({ err: error }, 'retention sweep put off');
            else this.logger.error({ err: error }, 'retention sweep failed');
          })
          .finally(() => {
            this.sweeping = null;
            this.schedule();
          });
      },
      this.intervalMs,
      { keepAlive: false },
    );
  }
}
