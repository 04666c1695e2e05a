import { describe, expect, it } from 'vitest';
import { ManualClock } from '../manual-clock.js';

const T0 = Date.UTC(2026, 10, 23, 10);

describe('ManualClock', () => {
  it('fires timers as time passes them, in due order, each seeing its own due time', () => {
    const clock = new ManualClock(T0);
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(['late', clock.now()]), 300);
    clock.setTimeout(() => fired.push(['early', clock.now()]), 100);
    clock.setTimeout(() => fired.push(['tie, set second', clock.now()]), 200);
    clock.setTimeout(() => fired.push(['never', clock.now()]), 301);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(201);
    expect(fired).toEqual([
      ['early', T0 + 100],
      ['tie, set second', T0 + 200],
      ['late', T0 + 300],
    ]);
    expect(clock.now()).toBe(T0 + 300);
    expect(clock.dueTimes()).toEqual([T0 + 301]);
  });

  it('fires timers set by a timer within the same advance when they fall inside it', () => {
    const clock = new ManualClock(T0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 50);
    }, 50);
    clock.advance(100);
    expect(fired).toEqual([T0 + 50, T0 + 100]);
  });

  it('repeats an interval until cancelled, and never fires a cancelled timer', () => {
    const clock = new ManualClock(T0);
    let ticks = 0;
    const interval = clock.setInterval(() => ticks++, 20);
    const timeout = clock.setTimeout(() => (ticks += 100), 10);
    timeout.cancel();
    clock.advance(65);
    expect(ticks).toBe(3);
    interval.cancel();
    interval.cancel();
    clock.advance(1_000);
    expect(ticks).toBe(3);
    expect(clock.timerCount).toBe(0);
  });

  it('fires a timer set for now only on the next advance', () => {
    const clock = new ManualClock(T0);
    let fired = false;
    clock.setTimeout(() => (fired = true), 0);
    expect(fired).toBe(false);
    expect(clock.nextTimerAt()).toBe(T0);
    clock.advance(0);
    expect(fired).toBe(true);
    expect(clock.nextTimerAt()).toBeNull();
  });
});
