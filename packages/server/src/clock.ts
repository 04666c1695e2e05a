/** A timer set on a Clock. */
export interface Timer {
  /** Stops it from firing (again); safe after it fired, and twice. */
  cancel(): void;
}

export interface TimerOptions {
  /**
   * Whether the waiting timer keeps the process alive (default true). Chores that only matter while
   * something else runs (lease renewals, retention passes) pass false.
   */
  keepAlive?: boolean;
}

/**
 * The one source of time and timers for jobs and the scheduler, injected so tests can control it:
 * a test's manual clock moves only when told, and fires the timers that fall due as it moves.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once, `ms` from now. */
  setTimeout(callback: () => void, ms: number, options?: TimerOptions): Timer;
  /** Calls `callback` every `ms` until cancelled. */
  setInterval(callback: () => void, ms: number, options?: TimerOptions): Timer;
}

/** Node's timers, as a Timer. */
function nodeTimer(handle: NodeJS.Timeout, options: TimerOptions | undefined, clear: (handle: NodeJS.Timeout) => void): Timer {
  if (options?.keepAlive === false) handle.unref();
  return { cancel: () => clear(handle) };
}

/** Wall time and Node's timers. `now` may be replaced (bench/lib/precise-clock.js reads it to the microsecond). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms, options) => nodeTimer(setTimeout(callback, ms), options, clearTimeout),
  setInterval: (callback, ms, options) => nodeTimer(setInterval(callback, ms), options, clearInterval),
};

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number, options?: TimerOptions): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms, options));
}
