export interface FrameScheduler {
  requestFrame: (callback: () => void) => number;
  cancelFrame: (handle: number) => void;
}

/** The browser's animation frames, where there are any (not in Node, the tests' home). */
export function animationFrames(): FrameScheduler | null {
  if (typeof requestAnimationFrame !== 'function') return null;
  return { requestFrame: (callback) => requestAnimationFrame(callback), cancelFrame: (handle) => cancelAnimationFrame(handle) };
}

/**
 * Runs `run` at most once per animation frame for every request since its last run: a burst of
 * changes costs one pass over the cache and one render, not one per change. A hidden tab has no
 * frames, so a timer stands in after `fallbackMs` (changes are still applied, just not per frame).
 */
export class FrameBatch {
  private frame: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly run: () => void,
    private readonly fallbackMs: number,
    private readonly frames: FrameScheduler | null = animationFrames(),
  ) {}

  request(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => this.fire(), this.fallbackMs);
    if (this.frames) this.frame = this.frames.requestFrame(() => this.fire());
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.frame !== null) this.frames?.cancelFrame(this.frame);
    this.frame = null;
  }

  private fire(): void {
    this.cancel();
    this.run();
  }
}
