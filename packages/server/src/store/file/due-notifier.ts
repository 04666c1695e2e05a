import type { Logger } from 'pino';

/**
 * Tells `onJobsDue` listeners that jobs became claimable (created, or claims given back), with the
 * earliest runAt among them. Reports made in one tick fold into one call, made on the next turn of
 * the event loop, so no listener runs inside a store call (as with CommitNotifier).
 */
export class DueNotifier {
  private readonly listeners = new Set<(runAt: number) => void>();
  /** The earliest runAt reported since the last call; Infinity when none is waiting. */
  private earliest = Infinity;
  private closed = false;

  constructor(private readonly logger: Logger) {}

  subscribe(listener: (runAt: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Jobs due at `runAt` (the earliest of them) were committed. */
  report(runAt: number): void {
    if (this.closed || this.listeners.size === 0) return;
    if (this.earliest === Infinity) setImmediate(() => this.flush());
    if (runAt < this.earliest) this.earliest = runAt;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  private flush(): void {
    const runAt = this.earliest;
    this.earliest = Infinity;
    for (const listener of this.listeners) {
      try {
        listener(runAt);
      } catch (error) {
        this.logger.error({ err: error }, 'an onJobsDue listener threw');
      }
    }
  }
}
