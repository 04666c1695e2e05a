import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock.js';
import type { JobStore } from '../store/job-store.js';

interface Held {
  token: string;
  /** Called once if the store says the claim no longer holds (settled elsewhere, or taken over). */
  onLost(): void;
}

/**
 * Keeps the leases of every claim this process holds (queued, running, or writing its outcome)
 * from ending: all of them renewed together every third of a lease, so a store can renew them in
 * one statement, and so lease ends in the store move once per round rather than once per job.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  private timer: Timer | null = null;
  private round: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: {
      store: JobStore;
      clock: Clock;
      logger: Logger;
      leaseMs: number;
      /** Runs before each round of renewals (the scheduler gives back claims that waited too long). */
      beforeRound?: () => Promise<void>;
    },
  ) {}

  start(): void {
    this.timer ??= this.options.clock.setInterval(
      () => {
        this.round = (async () => {
          await this.options.beforeRound?.();
          await this.renewAll();
        })();
      },
      this.options.leaseMs / 3,
      { keepAlive: false },
    );
  }

  hold(id: string, token: string, onLost: () => void): void {
    this.held.set(id, { token, onLost });
  }

  release(id: string): void {
    this.held.delete(id);
  }

  /** Stops renewing and waits for a round in flight, so nothing touches the store after this resolves. */
  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    await this.round;
  }

  private async renewAll(): Promise<void> {
    const { store, clock, leaseMs, logger } = this.options;
    const until = clock.now() + leaseMs;
    await Promise.all(
      [...this.held].map(([id, held]) =>
        store.renewLease(id, held.token, until).then(
          (kept) => {
            if (kept || this.held.get(id) !== held) return;
            this.held.delete(id);
            held.onLost();
          },
          (error: unknown) => logger.warn({ err: error, jobId: id }, 'could not renew a lease; will try again'),
        ),
      ),
    );
  }
}
