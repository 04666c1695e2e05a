import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Throttle } from './throttle';

describe('Throttle', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('runs the first request at once and folds the rest of the interval into one run at its end', () => {
    const action = vi.fn();
    const throttle = new Throttle(1_000, action);
    throttle.request();
    vi.advanceTimersByTime(0);
    expect(action).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 5; i++) throttle.request();
    vi.advanceTimersByTime(999);
    expect(action).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(action).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(5_000);
    expect(action).toHaveBeenCalledTimes(2);
  });

  it('runs an urgent request without waiting out the interval, and cancels', () => {
    const action = vi.fn();
    const throttle = new Throttle(5_000, action);
    throttle.request();
    vi.advanceTimersByTime(0);
    throttle.request(true);
    vi.advanceTimersByTime(0);
    expect(action).toHaveBeenCalledTimes(2);
    throttle.request();
    throttle.cancel();
    vi.advanceTimersByTime(10_000);
    expect(action).toHaveBeenCalledTimes(2);
  });
});
