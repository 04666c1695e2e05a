export interface FrameScheduler {
  requestFrame: (callback: () => void) => number;
  cancelFrame: (handle: number) => void;
}

/** The browser's animation frames, where there are any (not in Node, the tests' home). */
export function animationFrames(): FrameScheduler | null {
  if (typeof requestAnimationFrame !== 'function') return null;
  return { requestFrame: (callback) => requestAnimationFrame(callback), cancelFrame: (handle) => cancelAnimationFrame(handle) };
}

export interface FrameBatchOptions {
  /** At least this long between two runs: a steady stream of changes is applied this often, not every frame. */
  minIntervalMs: number;
  /** A hidden tab has no animation frames: a timer stands in after this long. */
  fallbackMs: number;
  frames?: FrameScheduler | null;
  now?: () => number;
}

/**
 * Runs `run` once for every request since its last run, in an animation frame, and at most once per
 * `minIntervalMs`: a burst of changes costs one pass over the cache and one render, not one per
 * change, and a lone change still shows in the next frame.
 */
export class FrameBatch {
  private readonly frames: FrameScheduler | null;
  private readonly now: () => number;
  private scheduled = false;
  private lastRunAt = -Infinity;
  private frame: number | null = null;
  private timers: ReturnType<typeof setTimeout>[] = [];

  constructor(
    private readonly run: () => void,
    private readonly options: FrameBatchOptions,
  ) {
    this.frames = options.frames === undefined ? animationFrames() : options.frames;
    this.now = options.now ?? (() => Date.now());
  }

  request(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.lastRunAt + this.options.minIntervalMs - this.now();
    if (wait > 0) this.timers.push(setTimeout(() => this.inNextFrame(), wait));
    else this.inNextFrame();
  }

  cancel(): void {
    for (const timer of this.timers.splice(0)) clearTimeout(timer);
    if (this.frame !== null) this.frames?.cancelFrame(this.frame);
    this.frame = null;
    this.scheduled = false;
  }

  private inNextFrame(): void {
    if (!this.frames) {
      this.fire();
      return;
    }
    this.frame = this.frames.requestFrame(() => this.fire());
    this.timers.push(setTimeout(() => this.fire(), this.options.fallbackMs));
  }

  private fire(): void {
    this.cancel();
    this.lastRunAt = this.now();
    this.run();
  }
}
