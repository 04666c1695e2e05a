import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameBatch, type FrameScheduler } from './frame-batch';

/** Animation frames on demand: `paint()` runs what waits for the next frame. */
function manualFrames() {
  let next = 1;
  const waiting = new Map<number, () => void>();
  const frames: FrameScheduler = {
    requestFrame: (callback) => {
      waiting.set(next, callback);
      return next++;
    },
    cancelFrame: (handle) => void waiting.delete(handle),
  };
  const paint = () => {
    const callbacks = [...waiting.values()];
    waiting.clear();
    for (const callback of callbacks) callback();
  };
  return { frames, paint, waiting: () => waiting.size };
}

describe('FrameBatch', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs once in the next frame for any number of requests', () => {
    const { frames, paint } = manualFrames();
    let runs = 0;
    const batch = new FrameBatch(() => (runs += 1), { minIntervalMs: 100, fallbackMs: 500, frames });
    for (let i = 0; i < 1_000; i++) batch.request();
    expect(runs).toBe(0);
    paint();
    expect(runs).toBe(1);
    paint();
    expect(runs).toBe(1);
  });

  it('keeps a steady stream of requests to one run per interval', async () => {
    const { frames, paint, waiting } = manualFrames();
    let runs = 0;
    const batch = new FrameBatch(() => (runs += 1), { minIntervalMs: 100, fallbackMs: 500, frames });
    batch.request();
    paint();
    // Every 16 ms a frame and a change, for a second.
    for (let t = 0; t < 1_000; t += 16) {
      batch.request();
      await vi.advanceTimersByTimeAsync(16);
      if (waiting() > 0) paint();
    }
    expect(runs).toBeGreaterThanOrEqual(9);
    expect(runs).toBeLessThanOrEqual(11);
  });

  it('still runs in a hidden tab, where no frame comes', async () => {
    const { frames } = manualFrames();
    let runs = 0;
    const batch = new FrameBatch(() => (runs += 1), { minIntervalMs: 100, fallbackMs: 500, frames });
    batch.request();
    await vi.advanceTimersByTimeAsync(499);
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
  });

  it('runs nothing once cancelled', async () => {
    const { frames, paint } = manualFrames();
    let runs = 0;
    const batch = new FrameBatch(() => (runs += 1), { minIntervalMs: 100, fallbackMs: 500, frames });
    batch.request();
    batch.cancel();
    paint();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toBe(0);
  });
});
