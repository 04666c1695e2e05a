import type { Logger } from 'pino';

/**
 * Tells `onCommit` listeners the latest committed sequence number: reports only ever go up, a
 * listener that throws is logged and does not stop the others, and with `intervalMs` reports are
 * throttled (the first at once, later ones folded into one at the end of the interval). Nothing is
 * lost by folding: a report carries the latest number, and listeners read everything up to it.
 */
export class CommitNotifier {
  private readonly listeners = new Set<(lastSeq: number) => void>();
  /** The highest number reported to listeners. */
  private reportedSeq = 0;
  /** The highest number heard, reported or not. */
  private heardSeq = 0;
  private forced = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private lastReportAt = -Infinity;
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 0,
  ) {}

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: (lastSeq: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records a starting point without telling anyone (a store's head when it opens). */
  seed(seq: number): void {
    this.reportedSeq = Math.max(this.reportedSeq, seq);
    this.heardSeq = Math.max(this.heardSeq, seq);
  }

  /**
   * A committed change numbered `seq`. With `force`, listeners hear the head even if it has not
   * moved: after an outage, a listener whose own reads failed needs the nudge to try again.
   */
  report(seq: number, force = false): void {
    if (this.closed) return;
    if (seq > this.heardSeq) this.heardSeq = seq;
    if (force) this.forced = true;
    if (this.heardSeq <= this.reportedSeq && !this.forced) return;
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.lastReportAt + this.intervalMs - performance.now();
    // Deferred even when due, so a burst of commits in one tick makes one report and no listener
    // runs inside a store call.
    if (wait <= 0) setImmediate(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  private flush(): void {
    this.scheduled = false;
    this.timer = null;
    if (this.closed || (this.heardSeq <= this.reportedSeq && !this.forced)) return;
    this.forced = false;
    this.lastReportAt = performance.now();
    this.reportedSeq = Math.max(this.reportedSeq, this.heardSeq);
    for (const listener of this.listeners) {
      try {
        listener(this.reportedSeq);
      } catch (error) {
        this.logger.error({ err: error }, 'an onCommit listener threw');
      }
    }
  }
}
