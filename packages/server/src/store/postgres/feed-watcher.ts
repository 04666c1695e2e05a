/**
 * Turns the cluster's commit notifications into the two signals a process needs:
 * - to `onCommit` listeners (the event hub), the head: a number every change up to which is
 *   committed and readable. A notification names a transaction's numbers, not the head: a
 *   transaction with lower numbers may still be running. So the head is read from the database
 *   (below the horizon), and read again until the horizon has passed every number heard of.
 * - to `onJobsDue` listeners (the scheduler), at once and without a query: "jobs were made
 *   claimable, the earliest due at T", from creates and released claims.
 */

import type { Logger } from 'pino';
import { backoffDelay } from '@simmer/contracts/backoff';
import type { CommitNotifier } from '../commit-notifier.js';

export interface FeedWatcherOptions {
  logger: Logger;
  notifier: CommitNotifier;
  /** Reads the head and the horizon in one snapshot. */
  readHead(): Promise<{ head: number; horizon: number }>;
  /** Whether anyone listens to onCommit (a worker's scheduler does not): with nobody, no head is read. */
  hasListeners(): boolean;
}

export class FeedWatcher {
  /** The highest transaction number heard of; the head is read until the horizon passes it. */
  private target = 0;
  /** The horizon of the last head read: every transaction numbered below it is in the head reported. */
  private horizon = 0;
  private forced = false;
  private reading = false;
  private readAgain = false;
  private retry: NodeJS.Timeout | null = null;
  private attempt = 0;
  private closed = false;
  private readonly dueListeners = new Set<(runAt: number) => void>();

  constructor(private readonly options: FeedWatcherOptions) {}

  /** A notification (change-listener.ts): "<transaction's first number> [<earliest runAt made claimable>]". */
  heard(payload: string): void {
    const [seqText, dueText] = payload.split(' ');
    const seq = Number(seqText);
    if (Number.isSafeInteger(seq)) this.committed(seq);
    const due = Number(dueText);
    if (dueText !== undefined && Number.isFinite(due)) this.jobsDue(due);
  }

  /** A transaction numbered from `seq` committed (heard, or written by this process). */
  committed(seq: number): void {
    // A transaction below the last horizon had finished by that read, so its head covered it: a
    // process hears of its own writes twice (as it commits, then by notification), and reads once.
    if (seq < this.horizon) return;
    if (seq > this.target) this.target = seq;
    void this.readHead();
  }

  /** A first listener arrived: heads are read only while someone listens, so read one now. */
  catchUp(): void {
    void this.readHead();
  }

  /**
   * Notifications may have been lost (the listener reconnected): report the head even if it has
   * not moved, and wake the schedulers, so nothing committed meanwhile waits.
   */
  resync(): void {
    this.forced = true;
    void this.readHead();
    this.jobsDue(0);
  }

  onJobsDue(listener: (runAt: number) => void): () => void {
    this.dueListeners.add(listener);
    return () => this.dueListeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.dueListeners.clear();
  }

  private jobsDue(runAt: number): void {
    for (const listener of this.dueListeners) {
      try {
        listener(runAt);
      } catch (error) {
        this.options.logger.error({ err: error }, 'an onJobsDue listener threw');
      }
    }
  }

  /** One read at a time; a request meanwhile makes one more. */
  private async readHead(): Promise<void> {
    if (this.closed || !this.options.hasListeners()) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    let behind: boolean;
    let forced = false;
    try {
      do {
        this.readAgain = false;
        const target = this.target;
        forced = this.forced;
        this.forced = false; // a resync during the read asks for another
        const { head, horizon } = await this.options.readHead();
        if (horizon > this.horizon) this.horizon = horizon;
        this.options.notifier.report(head, forced);
        // A transaction numbered at or above the horizon is still running, or an older one is.
        behind = horizon <= target;
        // Read again only for what this read did not cover: commits heard meanwhile are usually
        // below its horizon already (a process's own write is heard again by notification).
      } while (this.readAgain && (this.forced || this.target >= this.horizon) && !this.closed);
      this.attempt = behind ? this.attempt + 1 : 0;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not read the change head; trying again');
      if (forced) this.forced = true; // the retry still owes a report
      behind = true;
      this.attempt += 1;
    } finally {
      this.reading = false;
    }
    // Finished transactions announce themselves, but one that rolled back does not: look again.
    if (behind && !this.closed && !this.retry) {
      this.retry = setTimeout(
        () => {
          this.retry = null;
          void this.readHead();
        },
        backoffDelay(this.attempt, { baseMs: 2, maxMs: 1_000 }),
      );
      this.retry.unref();
    }
  }
}
