import type { Clock, Timer } from '../src/clock.js';

interface Scheduled {
  at: number;
  /** Set order: timers due at one time fire in the order they were set. */
  order: number;
  /** An interval's period; null for a one-off timer. */
  every: number | null;
  callback: () => void;
}

/**
 * Time that moves only when a test says so. Its timers fire as `advance` moves time past them, one
 * at a time in the order they fall due, each with `now()` at its due time; a timer set for now (or
 * earlier) waits for the next `advance`, `advance(0)` included. It sets no real timer, so a test
 * on it waits for nothing and gets the same order every run.
 */
export class ManualClock implements Clock {
  private readonly timers = new Set<Scheduled>();
  private setCount = 0;

  /** Starts at `time` (default: the wall time once, so job ids, which carry it, sort as in life). */
  constructor(private time = Date.now()) {}

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    return this.add(callback, ms, null);
  }

  setInterval(callback: () => void, ms: number): Timer {
    return this.add(callback, ms, Math.max(1, ms));
  }

  /** Moves time on by `ms`, firing each timer that falls due on the way, in due order. */
  advance(ms: number): void {
    const until = this.time + Math.max(0, ms);
    for (let next = this.earliest(); next && next.at <= until; next = this.earliest()) {
      this.time = Math.max(this.time, next.at);
      if (next.every === null) this.timers.delete(next);
      else next.at += next.every;
      next.callback();
    }
    this.time = until;
  }

  /** When the earliest timer waiting falls due; null when none waits. */
  nextTimerAt(): number | null {
    return this.earliest()?.at ?? null;
  }

  /** When each waiting timer falls due next, earliest first. */
  dueTimes(): number[] {
    return [...this.timers].map((timer) => timer.at).sort((a, b) => a - b);
  }

  /** How many timers wait (an interval counts until cancelled). */
  get timerCount(): number {
    return this.timers.size;
  }

  private add(callback: () => void, ms: number, every: number | null): Timer {
    const timer: Scheduled = { at: this.time + Math.max(0, ms), order: this.setCount++, every, callback };
    this.timers.add(timer);
    return { cancel: () => void this.timers.delete(timer) };
  }

  private earliest(): Scheduled | undefined {
    let found: Scheduled | undefined;
    for (const timer of this.timers)
      if (!found || timer.at < found.at || (timer.at === found.at && timer.order < found.order)) found = timer;
    return found;
  }
}
