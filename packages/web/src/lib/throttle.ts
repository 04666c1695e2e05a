/**
 * Runs an action at most once per interval: a request after a quiet interval runs at once (on the
 * next tick); requests within the interval fold into one run at its end.
 */
export class Throttle {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastRunAt = -Infinity;

  constructor(
    private readonly intervalMs: number,
    private readonly action: () => void,
  ) {}

  /** Asks for a run; `urgent` ignores what is left of the interval since the last one. */
  request(urgent = false): void {
    if (urgent) this.lastRunAt = -Infinity;
    if (this.timer) return;
    const wait = Math.max(0, this.lastRunAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.lastRunAt = Date.now();
      this.action();
    }, wait);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
